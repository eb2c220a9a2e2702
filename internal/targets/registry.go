package targets

import (
	"strings"

	"context"
	"io"
	"net/http"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/scope"
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
	// Permit decides a delivery from a rule of one account to a bus or
	// queue of another: nil if the target's resource policy allows it,
	// else why not. Without it every such delivery is refused.
	Permit func(ctx context.Context, job *delivery.Job) error
	// Peers is how many Conveyor processes share the deliveries (nil: this
	// one alone): each applies its share of an API destination's
	// InvocationRateLimitPerSecond, so that together they keep to it.
	Peers func() int
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
	// Permit: see Config.Permit.
	Permit func(ctx context.Context, job *delivery.Job) error
}

var _ Invoker = (*Registry)(nil)

// NewRegistry returns a registry with the adapters of cfg.
func NewRegistry(cfg Config) *Registry {
	h := NewHTTP(cfg.Destinations, cfg.HTTPClient)
	h.peers = cfg.Peers
	return &Registry{
		HTTP: h,
		Bus:  NewBus(cfg.Putter),
		Log:  NewLog(cfg.Stdout, cfg.Stderr, cfg.LogDir),
		SQS:  NewQueue(cfg.Queues),
		// Lambda function ARNs.
		Function: cfg.Functions,
		Permit:   cfg.Permit,
	}
}

// ARNChecker is implemented by adapters that check more of their ARNs
// than ParseARN does (the function invoker: names and qualifiers).
type ARNChecker interface {
	// CheckARN returns why arn cannot be delivered to (nil if it can).
	CheckARN(arn string) error
}

// Check reports whether the registry can deliver to arn: nil, or an
// *ARNError. It is what PutTargets accepts, so that a target it stores is
// one delivery can reach; Invoke picks the adapter the same way.
func (r *Registry) Check(arn string) error {
	_, err := r.adapter(arn)
	return err
}

// adapter returns the adapter that delivers to arn, or an *ARNError.
func (r *Registry) adapter(arn string) (Invoker, error) {
	a, err := ParseARN(arn)
	if err != nil {
		return nil, err
	}
	notConfigured := func(what string) (Invoker, error) {
		return nil, &ARNError{ARN: arn, Err: ErrNotConfigured, Detail: what + " targets are not configured on this server"}
	}
	switch a.Kind {
	case KindAPIDestination:
		if r.HTTP.dests == nil {
			return notConfigured("API destination")
		}
		return r.HTTP, nil
	case KindBus:
		if r.Bus.putter == nil {
			return notConfigured("event bus")
		}
		return r.Bus, nil
	case KindQueue:
		if r.SQS.sender == nil {
			return notConfigured("SQS queue")
		}
		return r.SQS, nil
	case KindFunction:
		if r.Function == nil {
			return notConfigured("function")
		}
		if c, ok := r.Function.(ARNChecker); ok {
			if err := c.CheckARN(arn); err != nil {
				return nil, &ARNError{ARN: arn, Err: ErrARNFormat, Detail: err.Error()}
			}
		}
		return r.Function, nil
	case KindLogGroup:
		if r.Log.dir == "" {
			return notConfigured("log group (the server has no log directory)")
		}
		return r.Log, nil
	default: // stdout, stderr
		return r.Log, nil
	}
}

// Invoke delivers job with the adapter of its target ARN's kind.
func (r *Registry) Invoke(ctx context.Context, job *delivery.Job) error {
	a, err := r.adapter(job.TargetARN)
	if err != nil {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "%v", err)
	}
	if err := r.crossAccount(ctx, job); err != nil {
		return err
	}
	return a.Invoke(ctx, job)
}

var _ delivery.BatchInvoker = (*Registry)(nil)

// Batches reports whether the jobs of job's target are delivered in
// batches (delivery.BatchInvoker): a queue's are, their messages written
// together.
func (r *Registry) Batches(job *delivery.Job) bool {
	a, err := ParseARN(job.TargetARN)
	return err == nil && a.Kind == KindQueue && r.SQS.sender != nil
}

// InvokeBatch delivers jobs, errs[i] jobs[i]'s outcome: the queue
// deliveries the target's account allows together, any other one by one.
func (r *Registry) InvokeBatch(ctx context.Context, jobs []*delivery.Job, errs []error) {
	sendSome(jobs, errs, func(i int, job *delivery.Job) bool {
		if !r.Batches(job) {
			errs[i] = r.Invoke(ctx, job)
			return true
		}
		errs[i] = r.crossAccount(ctx, job)
		return errs[i] != nil
	}, func(send []*delivery.Job, sent []error) { r.SQS.InvokeBatch(ctx, send, sent) })
}

// crossAccount decides a delivery from a rule of one account to a target of
// another: an API destination never (it is the rule's account's), a bus or a
// queue when its resource policy allows (Permit). Another region of the same
// account is allowed, as on AWS.
func (r *Registry) crossAccount(ctx context.Context, job *delivery.Job) error {
	rule, ok1 := scope.ParseARN(job.RuleARN)
	target, ok2 := scope.ParseARN(job.TargetARN)
	if !ok1 || !ok2 || target.Service == "lambda" || target.Account == "" || rule.Account == target.Account {
		return nil
	}
	if r.Permit != nil && !strings.HasPrefix(target.Resource, "api-destination/") {
		err := r.Permit(ctx, job)
		if err == nil {
			return nil
		}
		return delivery.Errorf(delivery.CodeNoPermissions, false, "%v", err)
	}
	return delivery.Errorf(delivery.CodeNoPermissions, false, "rule %s of account %s may not deliver to %s of account %s", job.RuleARN, rule.Account, job.TargetARN, target.Account)
}

// Close releases the adapters' resources (open log files).
func (r *Registry) Close() error { return r.Log.Close() }
