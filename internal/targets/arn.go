package targets

import (
	"github.com/conveyor/conveyor/internal/scope"

	"errors"
	"fmt"
	"strings"
)

// Kind is the kind of target an ARN names.
type Kind int

// Target kinds.
const (
	KindUnknown Kind = iota
	KindAPIDestination
	KindBus
	KindLogGroup
	KindStdout
	KindStderr
	KindQueue
	KindFunction
)

func (k Kind) String() string {
	switch k {
	case KindAPIDestination:
		return "api-destination"
	case KindBus:
		return "event-bus"
	case KindLogGroup:
		return "log-group"
	case KindStdout:
		return "stdout"
	case KindStderr:
		return "stderr"
	case KindQueue:
		return "sqs-queue"
	case KindFunction:
		return "function"
	}
	return "unknown"
}

// ARN is a parsed target ARN.
type ARN struct {
	Kind      Kind
	Partition string
	Region    string
	Account   string
	// Name is the API destination's, bus's, queue's, log group's or function's name.
	Name string
}

// Log target ARNs of Conveyor's own (not AWS's).
const (
	StdoutARN = "arn:conveyor:log:::stdout"
	StderrARN = "arn:conveyor:log:::stderr"
)

// Why an ARN is not a target (test with errors.Is on an *ARNError).
var (
	// ErrUnsupportedService: the ARN names a service no adapter delivers
	// to (SNS, Kinesis, Step Functions…).
	ErrUnsupportedService = errors.New("not a supported service for a target")
	// ErrARNFormat: the ARN is not an ARN, or not in a form its service's
	// adapter delivers to.
	ErrARNFormat = errors.New("not in correct format")
	// ErrNotConfigured: the adapter of the ARN's kind lacks its dependency
	// on this server (a log directory, for instance).
	ErrNotConfigured = errors.New("not configured")
)

// ARNError says why a target ARN cannot be delivered to.
type ARNError struct {
	ARN string
	// Service is the ARN's service (for ErrUnsupportedService).
	Service string
	// Err is ErrUnsupportedService, ErrARNFormat or ErrNotConfigured.
	Err error
	// Detail says what is wrong, for people.
	Detail string
}

func (e *ARNError) Error() string { return e.Detail }
func (e *ARNError) Unwrap() error { return e.Err }

func formatError(arn, format string, args ...any) *ARNError {
	return &ARNError{ARN: arn, Err: ErrARNFormat, Detail: fmt.Sprintf(format, args...)}
}

// ParseARN parses a target ARN of a kind this package delivers to; see the
// package documentation for the forms. Its error is an *ARNError.
func ParseARN(arn string) (ARN, error) {
	switch arn {
	case StdoutARN:
		return ARN{Kind: KindStdout, Partition: "conveyor"}, nil
	case StderrARN:
		return ARN{Kind: KindStderr, Partition: "conveyor"}, nil
	}
	g, ok := scope.ParseARN(arn)
	if !ok {
		return ARN{}, formatError(arn, "target ARN %q is not an ARN", arn)
	}
	a := ARN{Partition: g.Partition, Region: g.Region, Account: g.Account}
	service, res := g.Service, g.Resource
	switch {
	case service == "events" && strings.HasPrefix(res, "api-destination/"):
		name, _, ok := strings.Cut(strings.TrimPrefix(res, "api-destination/"), "/")
		if !ok || name == "" {
			return ARN{}, formatError(arn, "API destination ARN %q lacks a name and id", arn)
		}
		a.Kind, a.Name = KindAPIDestination, name
	case service == "events" && strings.HasPrefix(res, "event-bus/"):
		a.Kind, a.Name = KindBus, strings.TrimPrefix(res, "event-bus/")
		if a.Name == "" {
			return ARN{}, formatError(arn, "event bus ARN %q lacks a name", arn)
		}
	case service == "logs" && strings.HasPrefix(res, "log-group:"):
		name := strings.TrimSuffix(strings.TrimPrefix(res, "log-group:"), ":*")
		if err := checkLogGroup(name); err != nil {
			return ARN{}, formatError(arn, "log group ARN %q: %v", arn, err)
		}
		a.Kind, a.Name = KindLogGroup, name
	case service == "sqs" && res != "" && !strings.ContainsAny(res, ":/"):
		a.Kind, a.Name = KindQueue, res
	case service == "lambda" && strings.HasPrefix(res, "function:"):
		// The function package checks the name and qualifier (see
		// Registry.Check).
		a.Kind = KindFunction
		a.Name, _, _ = strings.Cut(strings.TrimPrefix(res, "function:"), ":")
	case service == "events" || service == "logs" || service == "sqs" || service == "lambda" || a.Partition == "conveyor":
		return ARN{}, formatError(arn, "target ARN %q is not an API destination, event bus, SQS queue, function or log target", arn)
	default:
		return ARN{}, &ARNError{ARN: arn, Service: service, Err: ErrUnsupportedService,
			Detail: fmt.Sprintf("target ARN %q: %s is not a service Conveyor delivers to (API destinations, event buses, SQS queues, functions, logs)", arn, service)}
	}
	return a, nil
}

// checkLogGroup accepts CloudWatch Logs group names ([.\-_/#A-Za-z0-9]{1,512})
// that make a safe relative path: no "." or ".." segment.
func checkLogGroup(name string) error {
	if name == "" || len(name) > 512 {
		return fmt.Errorf("log group name must be 1 to 512 characters")
	}
	for _, c := range []byte(name) {
		ok := c == '.' || c == '-' || c == '_' || c == '/' || c == '#' ||
			c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !ok {
			return fmt.Errorf("log group name %q has a character outside [.-_/#A-Za-z0-9]", name)
		}
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("log group name %q has a %q segment", name, seg)
		}
	}
	if strings.Trim(name, "/") == "" {
		return fmt.Errorf("log group name %q is only slashes", name)
	}
	return nil
}
