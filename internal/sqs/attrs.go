package sqs

import (
	"github.com/conveyor/conveyor/internal/policy"

	"github.com/conveyor/conveyor/internal/scope"

	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// Queue attribute names.
const (
	attrAll                       = "All"
	attrDelaySeconds              = "DelaySeconds"
	attrMaximumMessageSize        = "MaximumMessageSize"
	attrMessageRetentionPeriod    = "MessageRetentionPeriod"
	attrReceiveMessageWaitTime    = "ReceiveMessageWaitTimeSeconds"
	attrVisibilityTimeout         = "VisibilityTimeout"
	attrRedrivePolicy             = "RedrivePolicy"
	attrRedriveAllowPolicy        = "RedriveAllowPolicy"
	attrPolicy                    = "Policy"
	attrKmsMasterKeyID            = "KmsMasterKeyId"
	attrKmsDataKeyReusePeriod     = "KmsDataKeyReusePeriodSeconds"
	attrSqsManagedSseEnabled      = "SqsManagedSseEnabled"
	attrFifoQueue                 = "FifoQueue"
	attrContentBasedDedup         = "ContentBasedDeduplication"
	attrDeduplicationScope        = "DeduplicationScope"
	attrFifoThroughputLimit       = "FifoThroughputLimit"
	attrQueueArn                  = "QueueArn"
	attrApproxMessages            = "ApproximateNumberOfMessages"
	attrApproxMessagesNotVisible  = "ApproximateNumberOfMessagesNotVisible"
	attrApproxMessagesDelayed     = "ApproximateNumberOfMessagesDelayed"
	attrCreatedTimestamp          = "CreatedTimestamp"
	attrLastModifiedTimestamp     = "LastModifiedTimestamp"
	defaultMaximumMessageSize     = 1048576 // SQS's since 2025: the default and the most
	maxBatchSize                  = 1048576 // a batch's messages together
	defaultMessageRetentionPeriod = 345600
	defaultVisibilityTimeout      = 30
	maxVisibilityTimeout          = 43200
	maxDelaySeconds               = 900
	maxWaitTimeSeconds            = 20
	defaultKmsDataKeyReusePeriod  = 300
	maxMessageAttributes          = 10
	maxBatchEntries               = 10
	maxListQueues                 = 1000
	purgeInterval                 = 60
	maxMessageAttributeTypeLength = 256
)

// intRange is the valid range of an integer attribute.
type intRange struct{ min, max, def int }

var intAttrs = map[string]intRange{
	attrDelaySeconds:           {0, maxDelaySeconds, 0},
	attrMaximumMessageSize:     {1024, defaultMaximumMessageSize, defaultMaximumMessageSize},
	attrMessageRetentionPeriod: {60, 1209600, defaultMessageRetentionPeriod},
	attrReceiveMessageWaitTime: {0, maxWaitTimeSeconds, 0},
	attrVisibilityTimeout:      {0, maxVisibilityTimeout, defaultVisibilityTimeout},
	attrKmsDataKeyReusePeriod:  {60, 86400, defaultKmsDataKeyReusePeriod},
}

// settable are the attributes CreateQueue and SetQueueAttributes take.
var settable = map[string]bool{
	attrDelaySeconds: true, attrMaximumMessageSize: true, attrMessageRetentionPeriod: true,
	attrReceiveMessageWaitTime: true, attrVisibilityTimeout: true, attrRedrivePolicy: true,
	attrRedriveAllowPolicy: true, attrPolicy: true, attrKmsMasterKeyID: true, attrKmsDataKeyReusePeriod: true,
	attrSqsManagedSseEnabled: true, attrFifoQueue: true, attrContentBasedDedup: true, attrDeduplicationScope: true,
	attrFifoThroughputLimit: true,
}

// fifoOnly are the attributes only FIFO queues have.
var fifoOnly = map[string]bool{attrContentBasedDedup: true, attrDeduplicationScope: true, attrFifoThroughputLimit: true}

// readable lists the attributes GetQueueAttributes knows, in the order "All"
// returns them.
var readable = []string{
	attrQueueArn, attrApproxMessages, attrApproxMessagesNotVisible, attrApproxMessagesDelayed,
	attrCreatedTimestamp, attrLastModifiedTimestamp, attrVisibilityTimeout, attrMaximumMessageSize,
	attrMessageRetentionPeriod, attrDelaySeconds, attrReceiveMessageWaitTime, attrRedrivePolicy,
	attrRedriveAllowPolicy, attrPolicy, attrKmsMasterKeyID, attrKmsDataKeyReusePeriod, attrSqsManagedSseEnabled,
	attrFifoQueue, attrContentBasedDedup, attrDeduplicationScope, attrFifoThroughputLimit,
}

func unknownAttribute(name string) error {
	return awsapi.Errorf(awsapi.CodeInvalidAttributeName, "Unknown Attribute %s.", name)
}

func invalidAttributeValue(name string) error {
	return awsapi.Errorf(awsapi.CodeInvalidAttributeValue, "Invalid value for the parameter %s.", name)
}

// invalidParameter is SQS's InvalidParameterValue: __type
// InvalidParameterValueException, and InvalidParameterValue in
// x-amzn-query-error, where the SDKs read it.
func invalidParameter(format string, args ...any) error {
	return awsapi.Errorf(codeInvalidParameter, format, args...)
}

// missingParameter is SQS's MissingParameter (__type
// MissingRequiredParameterException).
func missingParameter(name string) error {
	return awsapi.Errorf(codeMissingParameter, "The request must contain the parameter %s.", name)
}

// The __type of SQS's common errors InvalidParameterValue and MissingParameter.
const (
	codeInvalidParameter = "InvalidParameterValueException"
	codeMissingParameter = "MissingRequiredParameterException"
)

func invalidAddress(u string) error {
	return awsapi.Errorf(awsapi.CodeInvalidAddress, "The address %s is not valid for this endpoint.", u)
}

// redrivePolicy is a queue's RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"-"`
}

// parseRedrivePolicy reads a RedrivePolicy value; maxReceiveCount may be a
// number or a string, as AWS accepts both.
func parseRedrivePolicy(v string) (redrivePolicy, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return redrivePolicy{}, invalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for the parameter RedrivePolicy.", v)
	}
	var p redrivePolicy
	for k, val := range raw {
		switch k {
		case "deadLetterTargetArn":
			if err := json.Unmarshal(val, &p.DeadLetterTargetArn); err != nil {
				return p, invalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn.", v)
			}
		case "maxReceiveCount":
			var n json.Number
			s := strings.Trim(string(val), `"`)
			n = json.Number(s)
			i, err := n.Int64()
			if err != nil || i < 1 || i > 1000 {
				return p, invalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: %s, valid values are from 1 to 1000 both inclusive.", v, s)
			}
			p.MaxReceiveCount = int(i)
		default:
			return p, invalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].", v)
		}
	}
	if p.DeadLetterTargetArn == "" {
		return p, invalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: deadLetterTargetArn.", v)
	}
	if p.MaxReceiveCount == 0 {
		return p, invalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: maxReceiveCount.", v)
	}
	return p, nil
}

// normalizeAttributes checks settable attributes of a queue (a FIFO queue
// when fifo) and returns them in the form they are stored and returned.
func (s *Service) normalizeAttributes(in map[string]string, self string, fifo bool) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range sortedKeys(in) {
		v := in[name]
		if !settable[name] {
			return nil, unknownAttribute(name)
		}
		if !fifo && name == attrFifoQueue {
			// A standard queue has no such attribute, whatever its value.
			return nil, unknownAttribute(name)
		}
		if !fifo && fifoOnly[name] {
			return nil, awsapi.Errorf(awsapi.CodeInvalidAttributeName, "You can specify the %s only when FifoQueue is set to true.", name)
		}
		if r, ok := intAttrs[name]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < r.min || n > r.max {
				return nil, invalidAttributeValue(name)
			}
			out[name] = strconv.Itoa(n)
			continue
		}
		switch name {
		case attrRedrivePolicy:
			if v == "" {
				continue
			}
			p, err := parseRedrivePolicy(v)
			if err != nil {
				return nil, err
			}
			if p.DeadLetterTargetArn == self {
				return nil, invalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter target cannot be the source queue.", v)
			}
			// The dead-letter queue is in the queue's own account and region.
			dlq := s.queueByARN(p.DeadLetterTargetArn)
			if a, _ := scope.ParseARN(p.DeadLetterTargetArn); a.Scope() != selfScope(self) || dlq == nil {
				return nil, invalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.", v)
			}
			if dlq.record().fifo() != fifo {
				return nil, invalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.", v)
			}
			b, _ := json.Marshal(struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
				MaxReceiveCount     int    `json:"maxReceiveCount"`
			}{p.DeadLetterTargetArn, p.MaxReceiveCount})
			out[name] = string(b)
		case attrPolicy:
			if v == "" {
				continue
			}
			if _, err := policy.Parse(v); err != nil {
				return nil, invalidAttributeValue(name)
			}
			out[name] = v
		case attrRedriveAllowPolicy:
			if v == "" {
				continue
			}
			if !json.Valid([]byte(v)) {
				return nil, invalidAttributeValue(name)
			}
			out[name] = v
		case attrSqsManagedSseEnabled, attrContentBasedDedup:
			if v != "true" && v != "false" {
				return nil, invalidAttributeValue(name)
			}
			out[name] = v
		case attrFifoQueue:
			// Set when the queue is made; it cannot change.
			if v != "true" {
				return nil, invalidAttributeValue(name)
			}
			out[name] = v
		case attrDeduplicationScope:
			if v != dedupScopeQueue && v != dedupScopeGroup {
				return nil, invalidAttributeValue(name)
			}
			out[name] = v
		case attrFifoThroughputLimit:
			if v != throughputPerQueue && v != throughputPerGroup {
				return nil, invalidAttributeValue(name)
			}
			out[name] = v
		default: // KmsMasterKeyId
			if v != "" {
				out[name] = v
			}
		}
	}
	return out, nil
}

// queueRecord is a queue as the bucket keeps it.
type queueRecord struct {
	Name       string            `json:"Name"`
	ARN        string            `json:"Arn"`
	Generation string            `json:"Generation"`
	Attributes map[string]string `json:"Attributes,omitempty"`
	Tags       map[string]string `json:"Tags,omitempty"`
	Created    int64             `json:"Created"`
	Modified   int64             `json:"Modified"`
	// Purged is when the queue was last purged (unix ms), PurgedBelow the
	// stream sequence its messages had then: every process sharing the queue
	// drops the messages below it.
	Purged      int64  `json:"Purged,omitempty"`
	PurgedBelow uint64 `json:"PurgedBelow,omitempty"`

	revision uint64
	// key is the record's key in the bucket (see recordKey).
	key string
}

func (r *queueRecord) intAttr(name string) int {
	if v, ok := r.Attributes[name]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return intAttrs[name].def
}

func (r *queueRecord) maxSize() int { return r.intAttr(attrMaximumMessageSize) }

func (r *queueRecord) redrive() (redrivePolicy, bool) {
	v, ok := r.Attributes[attrRedrivePolicy]
	if !ok {
		return redrivePolicy{}, false
	}
	p, err := parseRedrivePolicy(v)
	return p, err == nil
}

// attrValue returns the stored or default value of a settable attribute;
// ok is false for attributes unset without a default.
func (r *queueRecord) attrValue(name string) (string, bool) {
	if v, ok := r.Attributes[name]; ok {
		return v, true
	}
	if rg, ok := intAttrs[name]; ok {
		if name == attrKmsDataKeyReusePeriod {
			if _, kms := r.Attributes[attrKmsMasterKeyID]; !kms {
				return "", false
			}
		}
		return strconv.Itoa(rg.def), true
	}
	switch name {
	case attrSqsManagedSseEnabled:
		// New queues are encrypted with SQS's keys unless they name a KMS key, as on AWS
		// (Conveyor keeps the setting; messages are stored as the store stores them).
		_, kms := r.Attributes[attrKmsMasterKeyID]
		return strconv.FormatBool(!kms), true
	case attrContentBasedDedup:
		return "false", r.fifo()
	case attrDeduplicationScope:
		return dedupScopeQueue, r.fifo()
	case attrFifoThroughputLimit:
		return throughputPerQueue, r.fifo()
	}
	return "", false
}

// Values of DeduplicationScope and FifoThroughputLimit.
const (
	dedupScopeQueue    = "queue"
	dedupScopeGroup    = "messageGroup"
	throughputPerQueue = "perQueue"
	throughputPerGroup = "perMessageGroupId"
)

// fifo says whether the queue is a FIFO queue.
func (r *queueRecord) fifo() bool { return r.Attributes[attrFifoQueue] == "true" }

// checkFifoAttributes applies the rule between a FIFO queue's attributes:
// a throughput limit per message group needs deduplication per group.
func checkFifoAttributes(r *queueRecord) error {
	limit, _ := r.attrValue(attrFifoThroughputLimit)
	scope, _ := r.attrValue(attrDeduplicationScope)
	if limit == throughputPerGroup && scope != dedupScopeGroup {
		return invalidParameter("The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup.")
	}
	return nil
}

// queueNameRE is a standard queue's name; a FIFO queue's adds ".fifo" within
// the 80 characters.
var (
	queueNameRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	fifoQueueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,75}\.fifo$`)
)

func checkQueueName(name string, fifo bool) error {
	if fifo {
		if !fifoQueueNameRE.MatchString(name) {
			return invalidParameter("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		return nil
	}
	if !queueNameRE.MatchString(name) {
		return invalidParameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

// selfScope is the account and region of the queue with ARN arn.
func selfScope(arn string) scope.Scope {
	a, _ := scope.ParseARN(arn)
	return a.Scope()
}
