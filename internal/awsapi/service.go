package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/valyala/fastjson"
)

// ServiceConfig describes one AWS JSON service.
type ServiceConfig struct {
	// Name is the service's key in the exception table and its signing name: "events",
	// "cloudtrail", "sqs".
	Name string
	// TargetPrefixes are the X-Amz-Target prefixes (before ".Operation") routed to this service;
	// the first is the canonical one.
	TargetPrefixes []string
	// JSONVersion is "1.1" (EventBridge, CloudTrail) or "1.0" (SQS); it sets the Content-Type
	// application/x-amz-json-<version>.
	JSONVersion string
	// ErrorNamespace, when set, qualifies __type as Namespace#Code (SQS: "com.amazonaws.sqs").
	ErrorNamespace string
	// QueryCompatible makes error responses carry x-amzn-query-error: <awsQuery code>;Sender
	// (or ;Receiver), as SQS does for its older clients.
	QueryCompatible bool
	// CredentialErrors renames the errors of refused credentials (UnrecognizedClientException,
	// InvalidSignatureException) to the service's own codes, answered with 403 (SQS:
	// InvalidClientTokenId, SignatureDoesNotMatch); nil keeps them.
	CredentialErrors map[string]string
	// InternalErrorCode is the code of unexpected failures (EventBridge: InternalException);
	// default InternalFailure.
	InternalErrorCode string
	// REST says the service speaks REST-JSON (Lambda): its operations are registered with
	// HandleREST and routed by method and path, not by X-Amz-Target.
	REST bool
	// Query, when set, makes the service also speak the AWS Query protocol (SQS's older one):
	// form-encoded calls naming their operation in Action, answered in XML. It names the
	// flattened lists and maps as the protocol spells them. One service of a server may.
	Query QueryNames
}

// Service is a set of operations under one or more X-Amz-Target prefixes. Register handlers
// with Handle, then the service with a Server.
type Service struct {
	cfg         ServiceConfig
	contentType string

	model atomic.Pointer[Model]

	mu     sync.RWMutex
	ops    map[string]*Operation
	routes []restRoute // REST-JSON services only

	// parsers serve the JSONDecoders (reused: a parser keeps its memory).
	parsers fastjson.ParserPool
}

// SetModel makes the server check every decoded input against m's constraints (required
// members, lengths, ranges, patterns, enums) before the handler runs, answering violations
// with AWS's ValidationException message, as AWS's own validation layer does. nil turns it off.
func (s *Service) SetModel(m *Model) { s.model.Store(m) }

// Model returns the model set with SetModel (nil if none).
func (s *Service) Model() *Model { return s.model.Load() }

// CheckModel checks every registered operation's input type against the model: operations the
// model lacks and json members it does not know are reported (typos in handler input structs).
func (s *Service) CheckModel() error {
	m := s.Model()
	if m == nil {
		return fmt.Errorf("service %s has no model", s.cfg.Name)
	}
	var errs []error
	for _, name := range s.Operations() {
		op, _ := s.Operation(name)
		if err := m.CheckInput(name, op.inType); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// NewService returns a service without operations.
func NewService(cfg ServiceConfig) *Service {
	if cfg.JSONVersion == "" {
		cfg.JSONVersion = "1.1"
	}
	if cfg.InternalErrorCode == "" {
		cfg.InternalErrorCode = CodeInternalFailure
	}
	cfg.TargetPrefixes = append([]string(nil), cfg.TargetPrefixes...)
	return &Service{cfg: cfg, contentType: "application/x-amz-json-" + cfg.JSONVersion, ops: map[string]*Operation{}}
}

// NewEventBridge returns the EventBridge service (X-Amz-Target AWSEvents.*, JSON 1.1).
func NewEventBridge() *Service {
	return NewService(ServiceConfig{Name: "events", TargetPrefixes: []string{"AWSEvents"}, JSONVersion: "1.1",
		InternalErrorCode: CodeInternalException})
}

// NewCloudTrail returns the CloudTrail service: the Go SDK sends CloudTrail_20131101.*, the AWS
// CLI com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.*; both are routed here.
func NewCloudTrail() *Service {
	return NewService(ServiceConfig{Name: "cloudtrail", JSONVersion: "1.1",
		TargetPrefixes: []string{"CloudTrail_20131101", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"}})
}

// NewSQS returns the SQS service (X-Amz-Target AmazonSQS.*, JSON 1.0, query-compatible errors),
// which also speaks the Query protocol, as SQS did before JSON and older clients still do.
func NewSQS() *Service {
	return NewService(ServiceConfig{Name: "sqs", TargetPrefixes: []string{"AmazonSQS"}, JSONVersion: "1.0",
		ErrorNamespace: "com.amazonaws.sqs", QueryCompatible: true, Query: sqsQueryNames,
		CredentialErrors: map[string]string{CodeUnrecognizedClientException: "InvalidClientTokenId",
			CodeInvalidSignatureException: "SignatureDoesNotMatch"}})
}

// sqsQueryNames are the Query protocol's names of SQS's flattened lists and maps (from the
// Query-era SQS model's locationName traits).
var sqsQueryNames = QueryNames{
	"Attributes":                           "Attribute",
	"MessageAttributes":                    "MessageAttribute",
	"MessageSystemAttributes":              "MessageSystemAttribute",
	"AttributeNames":                       "AttributeName",
	"MessageAttributeNames":                "MessageAttributeName",
	"MessageSystemAttributeNames":          "MessageSystemAttributeName",
	"StringListValues":                     "StringListValue",
	"BinaryListValues":                     "BinaryListValue",
	"tags":                                 "Tag",
	"Tags":                                 "Tag",
	"TagKeys":                              "TagKey",
	"AWSAccountIds":                        "AWSAccountId",
	"Actions":                              "ActionName",
	"QueueUrls":                            "QueueUrl",
	"queueUrls":                            "QueueUrl",
	"Messages":                             "Message",
	"Failed":                               "BatchResultErrorEntry",
	"SendMessageBatch.Entries":             "SendMessageBatchRequestEntry",
	"SendMessageBatch.Successful":          "SendMessageBatchResultEntry",
	"DeleteMessageBatch.Entries":           "DeleteMessageBatchRequestEntry",
	"DeleteMessageBatch.Successful":        "DeleteMessageBatchResultEntry",
	"ChangeMessageVisibilityBatch.Entries": "ChangeMessageVisibilityBatchRequestEntry",
	"ChangeMessageVisibilityBatch.Successful": "ChangeMessageVisibilityBatchResultEntry",
	"ListMessageMoveTasks.Results":            "ListMessageMoveTasksResultEntry",
}

// Name returns the service's name ("events", …).
func (s *Service) Name() string { return s.cfg.Name }

// Config returns the service's configuration.
func (s *Service) Config() ServiceConfig { return s.cfg }

// Operation returns the registered operation called name.
func (s *Service) Operation(name string) (*Operation, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	op, ok := s.ops[name]
	return op, ok
}

// Operations returns the names of the registered operations, sorted.
func (s *Service) Operations() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.ops))
	for n := range s.ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Operation is a registered handler of one service.
type Operation struct {
	name    string
	svc     *Service
	inType  reflect.Type
	outType reflect.Type
	// invoke decodes body into a new In and calls the handler.
	invoke func(ctx context.Context, body []byte) (in, out any, err error)
}

// Name returns the operation's name, e.g. "PutRule".
func (o *Operation) Name() string { return o.name }

// Service returns the service the operation belongs to.
func (o *Operation) Service() *Service { return o.svc }

// InputType returns the handler's input struct type (In).
func (o *Operation) InputType() reflect.Type { return o.inType }

// Handle registers f as the handler of operation op of svc. The server decodes the request
// body into a new In with Unmarshal (member names match exactly, as AWS's JSON protocol has
// them; an empty body gives In's zero value; malformed JSON or a member of the wrong type is a
// SerializationException), calls f, and writes *Out as JSON (a nil *Out as {}).
// f returns an *Error (possibly wrapped) for an AWS error; any other error is logged and
// answered as the service's internal error, never shown to the client. Handle panics if op is
// registered twice (a programming error).
func Handle[In, Out any](svc *Service, op string, f func(context.Context, *In) (*Out, error)) *Operation {
	o := &Operation{
		name:    op,
		svc:     svc,
		inType:  reflect.TypeFor[In](),
		outType: reflect.TypeFor[Out](),
	}
	o.invoke = func(ctx context.Context, body []byte) (any, any, error) {
		in := new(In)
		if d, ok := any(in).(JSONDecoder); !ok || !svc.decodeUsual(d, body) {
			*in = *new(In)
			if err := decodeInput(body, in); err != nil {
				return nil, nil, err
			}
		}
		if m := svc.model.Load(); m != nil {
			if err := m.Validate(op, in); err != nil {
				return in, nil, err
			}
		}
		out, err := f(ctx, in)
		if err != nil {
			return in, nil, err
		}
		if out == nil {
			return in, nil, nil
		}
		return in, out, nil
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if _, dup := svc.ops[op]; dup {
		panic(fmt.Sprintf("awsapi: operation %s.%s registered twice", svc.cfg.Name, op))
	}
	svc.ops[op] = o
	return o
}

// decodeInput unmarshals an AWS JSON request body into v, member names matched exactly (see
// Unmarshal), mapping failures to SerializationException (or passing through an *Error from
// a custom unmarshaller).
// A JSONDecoder is an operation's input that reads the usual shape of its
// request itself, without reflection (PutEvents' entries). DecodeJSON
// reports false for anything it does not read exactly as the reflective
// decoder would: that decoder then reads the request, and words any error.
// It parses with p (see ParseUsual), and keeps nothing of p's values: p is
// reused.
type JSONDecoder interface {
	DecodeJSON(p *fastjson.Parser, body []byte) bool
}

// decodeUsual runs d with a parser of the service's.
func (svc *Service) decodeUsual(d JSONDecoder, body []byte) bool {
	p := svc.parsers.Get()
	defer svc.parsers.Put(p)
	return d.DecodeJSON(p, body)
}

func decodeInput(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	err := Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) && ae != nil {
		return ae
	}
	return &Error{Code: CodeSerializationException, Message: serializationMessage(err), Status: StatusOf(CodeSerializationException)}
}

// serializationMessage words a decoding failure the way AWS's JSON services do (they report
// the offending token kind and the type it cannot become).
func serializationMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		var token string
		switch v := te.Value; {
		case v == "array":
			return "Start of list found where not expected"
		case v == "object":
			return "Start of structure or map found where not expected."
		case v == "string":
			token = "STRING_VALUE"
		case v == "bool":
			token = "BOOLEAN_VALUE"
		default: // "number", "number 1.5"
			token = "NUMBER_VALUE"
		}
		return token + " can not be converted to " + article(coralType(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("Could not parse the request body as JSON: %s (at offset %d)", se.Error(), se.Offset)
	}
	return "Could not deserialize the request body: " + err.Error()
}

func coralType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "String"
	case reflect.Bool:
		return "Boolean"
	case reflect.Int64, reflect.Uint64:
		return "Long"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return "Integer"
	case reflect.Float32:
		return "Float"
	case reflect.Float64:
		return "Double"
	case reflect.Slice, reflect.Array:
		return "List"
	case reflect.Map:
		return "Map"
	default:
		return "Structure"
	}
}

func article(noun string) string {
	switch noun[0] {
	case 'A', 'E', 'I', 'O', 'U':
		return "an " + noun
	}
	return "a " + noun
}

// NewLambda returns the Lambda service (REST-JSON, /2015-03-31/…).
func NewLambda() *Service {
	return NewService(ServiceConfig{Name: "lambda", REST: true, InternalErrorCode: "ServiceException"})
}

// credentialError is the service's own code for the refused-credentials error code (see
// ServiceConfig.CredentialErrors), and whether it has one.
func (s *Service) credentialError(code string) (string, bool) {
	if s == nil {
		return "", false
	}
	c, ok := s.cfg.CredentialErrors[code]
	return c, ok
}
