package target

import (
	"context"
	"io"
	"net/http"

	"github.com/conveyor/conveyor/delivery"
)

// Config gives the registry what its adapters need. Every field is optional;
// a target whose adapter lacks its dependency fails with INVALID_PARAMETER.
type Config struct {
	// Destinations resolves API destination ARNs.
	Destinations Destinations
	// HTTPClient sends API destination requests (nil: a pooled client
	// that does not follow redirects).
	HTTPClient *http.Client
	// Putter puts events on buses (event-bus targets).
	Putter Putter
	// Queues sends messages to SQS queues (queue targets).
	Queues QueueSender
	// Stdout and Stderr receive the lines of the stdout and stderr log
	// targets.
	Stdout, Stderr io.Writer
	// LogDir holds the files of log-group targets.
	LogDir string
	// Functions invokes Lambda function ARNs (package function).
	Functions Invoker
}

// Registry is the [Invoker] of every target kind: it picks the adapter by
// the job's target ARN.
type Registry struct {
	HTTP *HTTP
	Bus  *Bus
	Log  *Log
	SQS  *Queue
	// Function invokes Lambda function targets; nil refuses them.
	Function Invoker
}

var _ Invoker = (*Registry)(nil)

// NewRegistry returns a registry with the adapters of cfg.
func NewRegistry(cfg Config) *Registry {
	return &Registry{
		HTTP: NewHTTP(cfg.Destinations, cfg.HTTPClient),
		Bus:  NewBus(cfg.Putter),
		Log:  NewLog(cfg.Stdout, cfg.Stderr, cfg.LogDir),
		SQS:  NewQueue(cfg.Queues),
		// Lambda function ARNs.
		Function: cfg.Functions,
	}
}

// Invoke delivers job with the adapter of its target ARN's kind.
func (r *Registry) Invoke(ctx context.Context, job *delivery.Job) error {
	a, err := ParseARN(job.TargetARN)
	if err != nil {
		return Errorf(CodeInvalidParameter, false, "%v", err)
	}
	switch a.Kind {
	case KindAPIDestination:
		return r.HTTP.Invoke(ctx, job)
	case KindBus:
		return r.Bus.Invoke(ctx, job)
	case KindQueue:
		return r.SQS.Invoke(ctx, job)
	case KindFunction:
		if r.Function == nil {
			return Errorf(CodeInvalidParameter, false, "function targets are not configured (%s)", job.TargetARN)
		}
		return r.Function.Invoke(ctx, job)
	default:
		return r.Log.Invoke(ctx, job)
	}
}

// Close releases the adapters' resources (open log files).
func (r *Registry) Close() error { return r.Log.Close() }
