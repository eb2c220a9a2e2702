package audit

import "strings"

// EventSource returns the eventSource of a service: "events.amazonaws.com"
// for "events". The EventBridge service is accepted under its other names
// ("eventbridge", "AWSEvents") too.
func EventSource(service string) string {
	switch service { // the services' own names, without allocating
	case "events":
		return "events.amazonaws.com"
	case "sqs":
		return "sqs.amazonaws.com"
	case "cloudtrail":
		return "cloudtrail.amazonaws.com"
	case "s3":
		return "s3.amazonaws.com"
	case "lambda":
		return "lambda.amazonaws.com"
	}
	s := strings.ToLower(service)
	switch s {
	case "eventbridge", "awsevents":
		s = "events"
	case "cloudtrail_20131101":
		s = "cloudtrail"
	case "amazonsqs":
		s = "sqs"
	}
	return s + ".amazonaws.com"
}

// serviceOf is the inverse of EventSource.
func serviceOf(eventSource string) string {
	return strings.TrimSuffix(eventSource, ".amazonaws.com")
}

// readOnlyPrefixes are the operation-name prefixes AWS records as
// readOnly: true.
var readOnlyPrefixes = []string{"Describe", "List", "Get", "Lookup", "Test", "Search", "Head"}

// readOnlyOps are read-only operations whose names do not say so, AWS's and
// Conveyor's own (the console's: peeking at a queue and explaining a pattern
// change nothing).
var readOnlyOps = map[string]bool{
	"sqs/ReceiveMessage":         true,
	"sqs/PeekMessages":           true,
	"events/ExplainEventPattern": true,
	"events/ExplainEventBus":     true,
}

// IsReadOnly says whether AWS records the operation as read-only.
func IsReadOnly(eventSource, op string) bool {
	if readOnlyOps[serviceOf(eventSource)+"/"+op] {
		return true
	}
	for _, p := range readOnlyPrefixes {
		if strings.HasPrefix(op, p) && len(op) > len(p) && isUpper(op[len(p)]) {
			return true
		}
	}
	return false
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// dataOps are the operations AWS logs as data events (resource operations on
// the data plane), per service.
var dataOps = map[string]map[string]bool{
	"events": set("PutEvents", "PutPartnerEvents"),
	"lambda": set("Invoke", "InvokeWithResponseStream"),
	"sqs": set("SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage",
		"DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"),
	"s3": set("GetObject", "PutObject", "DeleteObject", "DeleteObjects", "HeadObject",
		"CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy",
		"CompleteMultipartUpload", "AbortMultipartUpload", "ListParts", "ListObjects",
		"ListObjectsV2", "ListObjectVersions", "ListMultipartUploads", "GetObjectAcl",
		"PutObjectAcl", "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging",
		"GetObjectAttributes", "RestoreObject", "SelectObjectContent", "GetObjectRetention",
		"PutObjectRetention", "GetObjectLegalHold", "PutObjectLegalHold"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// IsDataEvent says whether AWS logs the operation as a data event rather
// than a management event.
func IsDataEvent(eventSource, op string) bool {
	return dataOps[serviceOf(eventSource)][op]
}

// lambdaEventNames are the eventNames CloudTrail logs Lambda's operations
// under: the API version in the name, as real CloudTrail logs show them.
var lambdaEventNames = map[string]string{
	"CreateFunction": "CreateFunction20150331", "DeleteFunction": "DeleteFunction20150331",
	"GetFunction": "GetFunction20150331v2", "GetFunctionConfiguration": "GetFunctionConfiguration20150331v2",
	"ListFunctions": "ListFunctions20150331", "UpdateFunctionCode": "UpdateFunctionCode20150331v2",
	"UpdateFunctionConfiguration": "UpdateFunctionConfiguration20150331v2",
	"AddPermission":               "AddPermission20150331v2", "RemovePermission": "RemovePermission20150331v2",
	"GetPolicy": "GetPolicy20150331v2", "TagResource": "TagResource20170331v2", "UntagResource": "UntagResource20170331v2",
	"ListTags": "ListTags20170331", "CreateEventSourceMapping": "CreateEventSourceMapping20150331",
	"UpdateEventSourceMapping": "UpdateEventSourceMapping20150331", "DeleteEventSourceMapping": "DeleteEventSourceMapping20150331",
	"GetEventSourceMapping": "GetEventSourceMapping20150331", "ListEventSourceMappings": "ListEventSourceMappings20150331",
}

// EventName is the eventName CloudTrail records an operation under: its
// name, but for Lambda's versioned names.
func EventName(service, op string) string {
	if serviceOf(EventSource(service)) == "lambda" {
		if n, ok := lambdaEventNames[op]; ok {
			return n
		}
	}
	return op
}
