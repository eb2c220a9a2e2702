package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/targets"
)

// Defaults of local functions.
const (
	// DefaultTimeout bounds one invocation of a local function. Lambda's
	// own default, 3 seconds, is short for scripts that call other
	// programs; a minute is generous for a hook and still frees a stuck
	// one well within the delivery's retry schedule.
	DefaultTimeout = 60 * time.Second
	// MaxTimeout is Lambda's limit, 15 minutes.
	MaxTimeout = 15 * time.Minute
	// DefaultConcurrency bounds the invocations of one local function
	// running at once.
	DefaultConcurrency = 10
	// MemorySize is what AWS_LAMBDA_FUNCTION_MEMORY_SIZE says (Lambda's
	// default); Conveyor does not limit a local function's memory.
	MemorySize = 128
)

// CodeFunctionError is the ERROR_CODE of a local function that failed: it
// exited with a non-zero status, was killed, timed out or could not start.
// Such failures are retried.
const CodeFunctionError = "FUNCTION_ERROR"

// Config configures the function [Invoker].
type Config struct {
	// Functions are the local functions.
	Functions []Spec
	// Timeout bounds one invocation of a local function whose Spec sets
	// none (default DefaultTimeout, at most MaxTimeout).
	Timeout time.Duration
	// Concurrency bounds the running invocations of each local function
	// whose Spec sets none (default DefaultConcurrency).
	Concurrency int
	// Region is AWS_REGION in a local function's environment.
	Region string
	// Env is the environment local functions start from (nil: Conveyor's
	// own, os.Environ()).
	Env []string
	// API, when set, invokes the functions of Conveyor's own Lambda API
	// (package lambda) that are not local.
	API API
	// Lambda, when set, invokes functions that are neither local nor
	// Conveyor's own through the AWS Lambda Invoke API.
	Lambda *Remote
	// Logger receives the functions' output and the invocation log.
	Logger *slog.Logger
}

// API is Conveyor's own Lambda API, as targets invoke its functions.
type API interface {
	// InvokeEvent invokes the function with ARN arn asynchronously (InvocationType Event, as
	// EventBridge invokes functions), reporting whether there is such a function.
	InvokeEvent(ctx context.Context, arn string, payload []byte) (found bool, err error)
}

// Invoker invokes the functions that Lambda ARNs name: a local function of
// that name if there is one, else the remote Lambda API when configured.
// It is the target registry's adapter for Lambda ARNs.
type Invoker struct {
	locals map[string]*local
	api    API
	remote *Remote
	region string
	env    []string
	log    *slog.Logger
	maxT   time.Duration
}

var _ delivery.Invoker = (*Invoker)(nil)

// New checks cfg and returns the invoker.
func New(cfg Config) (*Invoker, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	f := &Invoker{locals: map[string]*local{}, api: cfg.API, remote: cfg.Lambda, region: cfg.Region, env: cfg.Env,
		log: cfg.Logger.With("component", "function")}
	var errs []error
	for _, sp := range cfg.Functions {
		switch {
		case !ValidName(sp.Name):
			errs = append(errs, fmt.Errorf("function %q: the name must be 1 to 64 letters, digits, '-' or '_'", sp.Name))
			continue
		case len(sp.Command) == 0 || sp.Command[0] == "":
			errs = append(errs, fmt.Errorf("function %s: the command is empty", sp.Name))
			continue
		case f.locals[sp.Name] != nil:
			errs = append(errs, fmt.Errorf("function %s is registered twice", sp.Name))
			continue
		}
		t, c := sp.Timeout, sp.Concurrency
		if t <= 0 {
			t = cfg.Timeout
		}
		if c <= 0 {
			c = cfg.Concurrency
		}
		if t > MaxTimeout {
			errs = append(errs, fmt.Errorf("function %s: timeout %v is over Lambda's limit of %v", sp.Name, t, MaxTimeout))
			continue
		}
		f.locals[sp.Name] = &local{spec: sp, timeout: t, slots: make(chan struct{}, c)}
		f.maxT = max(f.maxT, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("function: %w", err)
	}
	return f, nil
}

// MaxTimeout is the longest timeout of the local functions (0 when there
// are none): the delivery runner's invocation timeout must exceed it.
func (f *Invoker) MaxTimeout() time.Duration { return f.maxT }

// Local reports whether a local function of that name is registered.
func (f *Invoker) Local(name string) bool { return f.locals[name] != nil }

var _ targets.ARNChecker = (*Invoker)(nil)

// CheckARN implements targets.ARNChecker: the ARN must be a valid Lambda
// function ARN (a name Lambda allows, a qualifier that is $LATEST, a version
// or an alias). Whether the function exists is found at delivery, as on AWS.
func (f *Invoker) CheckARN(arn string) error {
	_, err := ParseARN(arn)
	return err
}

// Invoke invokes the function the job's target ARN names with the job's
// payload as its event.
func (f *Invoker) Invoke(ctx context.Context, job *delivery.Job) error {
	a, err := ParseARN(job.TargetARN)
	if err != nil {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "%v", err)
	}
	if fn := f.locals[a.Name]; fn != nil {
		return f.runLocal(ctx, fn, a, job)
	}
	if f.api != nil {
		if found, err := f.api.InvokeEvent(ctx, job.TargetARN, job.Payload); found {
			return err
		}
	}
	if f.remote != nil {
		return f.remote.Invoke(ctx, job.TargetARN, job.Payload)
	}
	return &delivery.Error{Code: delivery.CodeResourceNotFound,
		Message: fmt.Sprintf("ResourceNotFoundException: Function not found: %s (no local function %s, and no Lambda endpoint configured)", job.TargetARN, a.Name)}
}

func newRequestID() string { return awsapi.NewRequestID() }
