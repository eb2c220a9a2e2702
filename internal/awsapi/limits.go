package awsapi

// Request size bounds. A request is refused with RequestEntityTooLargeException (HTTP 413, as
// AWS's front ends answer an oversized request) before anything is decoded or executed, so a
// call that takes effect is always one whose CloudTrail record can be stored. The bounds
// follow AWS's quotas on what an operation carries (256 KB of PutEvents entries, SQS
// messages, pattern and parameter lengths), with room for JSON escaping: an SDK may write a
// two-byte UTF-8 character as a six-byte \u escape (Python's json does by default), so text
// can take three times its size on the wire.
const (
	// payloadLimit (1 MiB) bounds the operations that carry data: PutEvents' 256 KB of
	// entries, an event for TestEventPattern, five targets with 8,192-character inputs and
	// transformers of 100 paths, a connection's lists of 100 parameters of 512-character keys
	// and values: three times 256 KiB of payload, and 256 KiB for the members around it.
	payloadLimit = 1 << 20
	// patternLimit bounds the operations that carry an event pattern, whose length limit is a
	// setting (4,096 characters at most on AWS).
	patternLimit = 256 << 10
	// messageLimit bounds an SQS message or batch: 1 MiB of bodies and attributes, three
	// times over for escaping, and 1 MiB for the members around them.
	messageLimit = 4 << 20
	// DefaultRequestLimit bounds every other operation: names, ARNs, descriptions, up to 50
	// tags and an 8 KiB policy, with room to spare; AWS's management calls are far smaller.
	DefaultRequestLimit = 128 << 10
	// invokeLimit bounds a Lambda Invoke: its 6 MB synchronous payload.
	invokeLimit = 6 << 20
	// codeLimit bounds a Lambda function's zip uploaded in the request: 50 MB, base64 in JSON.
	codeLimit = 70 << 20
	// MaxRequestLimit is the largest bound of any operation.
	MaxRequestLimit = codeLimit
)

// requestLimits is the one table of request bounds: per service (ServiceConfig.Name), the
// operations that may carry more than DefaultRequestLimit.
var requestLimits = map[string]map[string]int64{
	"events": {
		"PutEvents":        payloadLimit,
		"PutPartnerEvents": payloadLimit,
		"TestEventPattern": payloadLimit,
		"PutTargets":       payloadLimit,
		"CreateConnection": payloadLimit,
		"UpdateConnection": payloadLimit,
		"PutRule":          patternLimit,
		"CreateArchive":    patternLimit,
		"UpdateArchive":    patternLimit,
	},
	"sqs": {
		"SendMessage":      messageLimit,
		"SendMessageBatch": messageLimit,
	},
	"cloudtrail": {},
	"lambda": {
		"Invoke":             invokeLimit,
		"CreateFunction":     codeLimit,
		"UpdateFunctionCode": codeLimit,
	},
}

// RequestLimit returns the largest request body the server accepts for operation op of
// service (DefaultRequestLimit unless the table says more).
func RequestLimit(service, op string) int64 {
	if n, ok := requestLimits[service][op]; ok {
		return n
	}
	return DefaultRequestLimit
}
