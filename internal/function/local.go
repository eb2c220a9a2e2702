package function

import (
	"github.com/conveyor/conveyor/internal/procgroup"

	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
)

// local is a registered local function.
type local struct {
	spec    Spec
	timeout time.Duration
	slots   chan struct{} // one token per running invocation
}

// Invocation is what a local function is told about the call besides its
// event: the Lambda-like environment is built from it.
type invocation struct {
	requestID string
	arn       string // the ARN the target named
	version   string
	deadline  time.Time
	job       *delivery.Job
}

// run invokes fn with job's payload on standard input.
func (f *Invoker) runLocal(ctx context.Context, fn *local, a ARN, job *delivery.Job) error {
	requestID := newRequestID()
	log := f.log.With("function", fn.spec.Name, "request_id", requestID)

	// Wait for a free slot: at most Concurrency invocations of a function
	// run at once; the others wait, and give up (to be retried) when the
	// delivery's own deadline comes first.
	select {
	case fn.slots <- struct{}{}:
	case <-ctx.Done():
		return &delivery.Error{Code: delivery.CodeThrottling, Retry: true, Err: ctx.Err(),
			Message: fmt.Sprintf("TooManyRequestsException: Rate Exceeded. function %s has %d invocations running (its concurrency limit)", fn.spec.Name, cap(fn.slots))}
	}
	defer func() { <-fn.slots }()

	runCtx, cancel := context.WithTimeout(ctx, fn.timeout)
	defer cancel()
	deadline, _ := runCtx.Deadline()
	version := "$LATEST"
	inv := invocation{requestID: requestID, arn: a.String(), version: version, deadline: deadline, job: job}

	argv := command(fn.spec.Command)
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	procgroup.Own(cmd)
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = f.environ(fn, inv)
	cmd.Stdin = bytes.NewReader(job.Payload)
	stdout := &lineLog{ctx: ctx, log: log, stream: "stdout"}
	stderr := &lineLog{ctx: ctx, log: log, stream: "stderr"}
	cmd.Stdout, cmd.Stderr = stdout, stderr

	start := time.Now()
	log.Debug("function invoked", "event_id", job.EventID, "rule_arn", job.RuleARN, "attempt", job.Attempt)
	err := cmd.Run()
	elapsed := time.Since(start)
	stdout.flush()
	lastErr := stderr.flush()
	if err == nil {
		log.Info("function finished", "event_id", job.EventID, "duration_ms", elapsed.Milliseconds(), "status", 0)
		return nil
	}

	var msg string
	var exit *exec.ExitError
	switch {
	case errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		msg = fmt.Sprintf("Task timed out after %.2f seconds", fn.timeout.Seconds())
	case ctx.Err() != nil:
		msg = fmt.Sprintf("invocation cancelled after %.2f seconds: %v", elapsed.Seconds(), ctx.Err())
	case errors.As(err, &exit) && exit.Exited():
		msg = fmt.Sprintf("exit status %d", exit.ExitCode())
	case errors.As(err, &exit):
		msg = exit.String() // "signal: killed", …
	default:
		msg = fmt.Sprintf("could not run %q: %v", argv[0], err)
	}
	if lastErr != "" {
		msg += ": " + truncate(lastErr, 256)
	}
	log.Warn("function failed", "event_id", job.EventID, "duration_ms", elapsed.Milliseconds(), "err", msg)
	return &delivery.Error{Code: CodeFunctionError, Retry: true, Err: err,
		Message: fmt.Sprintf("function %s (request %s) failed: %s", fn.spec.Name, requestID, msg)}
}

// command returns argv, run through /bin/sh when its program is a shell
// script (a path ending in .sh) that the kernel cannot run by itself: not
// executable, or without a "#!" line.
func command(argv []string) []string {
	p := argv[0]
	if !strings.HasSuffix(p, ".sh") {
		return argv
	}
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return argv // let exec report it
	}
	if st.Mode().Perm()&0o111 != 0 {
		if f, err := os.Open(p); err == nil {
			head := make([]byte, 2)
			n, _ := f.Read(head)
			f.Close()
			if n == 2 && string(head) == "#!" {
				return argv
			}
		}
	}
	return append([]string{"/bin/sh"}, argv...)
}

// environ is the function's environment: Conveyor's own (or Config.Env),
// then the variables Lambda sets for a function, then Conveyor's about the
// invocation. Later entries win.
func (f *Invoker) environ(fn *local, inv invocation) []string {
	name := fn.spec.Name
	env := make([]string, 0, len(f.env)+16)
	env = append(env, f.env...)
	now := time.Now().UTC()
	env = append(env,
		"AWS_LAMBDA_FUNCTION_NAME="+name,
		"AWS_LAMBDA_FUNCTION_VERSION="+inv.version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+name,
		"AWS_LAMBDA_LOG_STREAM_NAME="+now.Format("2006/01/02")+"/["+inv.version+"]"+strings.ReplaceAll(inv.requestID, "-", ""),
		"AWS_REGION="+f.region,
		"AWS_DEFAULT_REGION="+f.region,
		"AWS_EXECUTION_ENV=Conveyor",
		"CONVEYOR_REQUEST_ID="+inv.requestID,
		"CONVEYOR_FUNCTION_ARN="+inv.arn,
		"CONVEYOR_DEADLINE_MS="+strconv.FormatInt(inv.deadline.UnixMilli(), 10),
		"CONVEYOR_EVENT_ID="+inv.job.EventID,
		"CONVEYOR_EVENT_BUS_NAME="+inv.job.Bus,
		"CONVEYOR_RULE_ARN="+inv.job.RuleARN,
		"CONVEYOR_TARGET_ID="+inv.job.TargetID,
		"CONVEYOR_ATTEMPT="+strconv.Itoa(max(inv.job.Attempt, 1)),
	)
	return env
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
