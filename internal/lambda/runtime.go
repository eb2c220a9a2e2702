package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/conveyor/conveyor/internal/procgroup"
)

// The Lambda Runtime API (version 2018-06-01), as a function's bootstrap calls it at
// AWS_LAMBDA_RUNTIME_API: GET invocation/next blocks until an invocation is handed to the
// process, POST invocation/{id}/response or /error answers it, POST init/error says the
// runtime could not start. Each process has its own endpoint on loopback, so the endpoint
// knows which process calls.
const runtimePrefix = "/2018-06-01/runtime/"

// maxProcesses is how many processes of one function run at once (Lambda's reserved
// concurrency, by default); idleAfter is how long an idle process is kept warm.
const (
	maxProcesses = 10
	// defaultInitTimeout is Config.InitTimeout's default: Lambda's init phase.
	defaultInitTimeout = 10 * time.Second
	idleAfter          = 10 * time.Minute
	tailBytes          = 4096
)

// result is how an invocation ended.
type result struct {
	payload []byte
	// fnError is the X-Amz-Function-Error of a failed invocation ("Unhandled"), "" on success.
	fnError string
	// tail is the process's last output during the invocation.
	tail []byte
	// took is the invocation's duration, from when its runtime took it (or its command
	// started) to its answer; zero when no runtime took it.
	took time.Duration
	// init is how long a process started for the invocation took to ask for it (Lambda's
	// Init Duration), zero when a warm process took it.
	init time.Duration
	// maxMemory is the most memory the function's process has held, in MB (Lambda's Max
	// Memory Used), 0 when unknown; pid is the process that answered, still running, whose
	// peak is read when it is asked for (not on every invocation: it is a file's read).
	maxMemory, pid int
	// status is "timeout" or "error" when the runtime did not answer (a timeout, a crash),
	// errorType the error's type then (Lambda's REPORT line shows both).
	status, errorType string
}

// invocation is one Invoke handed to a process.
type invocation struct {
	id      string
	arn     string
	payload []byte
	// begun is when the invocation's time started, and deadline when it times out: set
	// when its runtime takes it (before taken is closed), and for a command when it starts.
	begun, deadline time.Time
	done            chan result
	// clientContext is the caller's client context (JSON), "" for none.
	clientContext string
	// timeout is the function's; latest is when its time ends whenever it is taken (the
	// init phase and the timeout after its process was acquired).
	timeout time.Duration
	latest  time.Time
	// taken is closed once a runtime has taken the invocation: deadline and init are set.
	taken chan struct{}
	// init is how long the process took to ask for its first invocation, when this is it.
	init time.Duration
}

// begin starts the invocation's time, now that a runtime has taken it: its
// timeout from now, as on Lambda, where the init phase does not count
// against it, but no later than latest (an init past the init phase's
// bound does).
func (inv *invocation) begin(now time.Time) {
	inv.begun = now
	inv.deadline = now.Add(inv.timeout)
	if inv.deadline.After(inv.latest) {
		inv.deadline = inv.latest
	}
	close(inv.taken)
}

// proc is one running bootstrap and its Runtime API endpoint.
type proc struct {
	fn   *Function
	cmd  *exec.Cmd
	srv  *http.Server
	next chan *invocation
	out  *fileTail
	// exited is closed when the process has ended.
	exited chan struct{}

	mu   sync.Mutex
	cur  *invocation
	used time.Time
	// started is when the process started; asked, whether its runtime has asked for an
	// invocation yet (its init is over).
	started time.Time
	asked   bool
	// initErr is the error the runtime posted to init/error (Lambda's error JSON), nil
	// when it posted none.
	initErr []byte
}

// runtimes runs the processes of every function.
type runtimes struct {
	dir string // where code is unpacked, by its sha
	log *slog.Logger
	get func(ctx context.Context, object string) ([]byte, error)
	// initTimeout is how much longer than the function's timeout a runtime may take to ask
	// for an invocation (see Config.InitTimeout).
	initTimeout time.Duration
	m           *metrics

	mu    sync.Mutex
	idle  map[string][]*proc // by poolKey
	count map[string]int     // processes running, by the same key
	wake  map[string]chan struct{}
	// unpacking are the unpackings of code under way, by directory.
	unpacking map[string]*unpacking
	done      bool
}

func newRuntimes(dir string, get func(context.Context, string) ([]byte, error), log *slog.Logger, m *metrics) *runtimes {
	return &runtimes{dir: dir, log: log, get: get, m: m, idle: map[string][]*proc{}, count: map[string]int{}, wake: map[string]chan struct{}{},
		unpacking: map[string]*unpacking{}}
}

// poolKey tells apart the processes of a function by what they were started with (code,
// runtime, handler, memory, environment): a change of timeout, policy or tags keeps them warm, any
// other change starts new ones.
func poolKey(f *Function) string {
	h := sha256.New()
	env := []string{}
	if f.Environment != nil {
		for k, v := range f.Environment.Variables {
			env = append(env, k+"="+v)
		}
	}
	sort.Strings(env)
	b, _ := json.Marshal([]any{f.CodeObject, f.Runtime, f.Handler, f.MemorySize, env, f.command})
	h.Write(b)
	return f.FunctionArn + "#" + hex.EncodeToString(h.Sum(nil))
}

// invoke runs payload through f and returns how it ended. A failure of Conveyor's own (the
// code cannot be unpacked) is an error; a failure of the function is a result with fnError.
// invoke runs payload on a process of f as invocation id (the request id its runtime
// sees; a new one when ""), with the caller's client context (JSON; "" for none). What the function printed meanwhile (its last 4 KB) goes to
// Conveyor's log, as Lambda's goes to CloudWatch Logs, whoever invoked it.
func (r *runtimes) invoke(ctx context.Context, f *Function, payload []byte, id, clientContext string) (result, error) {
	if id == "" {
		id = uuid.NewString()
	}
	running := r.m.concurrent.WithLabelValues(f.FunctionName)
	running.Inc()
	res, err := r.invokeOnce(ctx, f, payload, id, clientContext)
	running.Dec()
	if err == nil { // Conveyor's own failures are not the function's invocations
		r.m.invocations.WithLabelValues(f.FunctionName).Inc()
		r.m.duration.WithLabelValues(f.FunctionName).Observe(res.took.Seconds())
		if res.fnError != "" {
			r.m.errors.WithLabelValues(f.FunctionName).Inc()
		}
	}
	if len(bytes.TrimSpace(res.tail)) > 0 {
		r.log.LogAttrs(ctx, slog.LevelInfo, "function output", slog.String("function", f.FunctionArn),
			slog.String("request_id", id), slog.String("output", string(bytes.TrimRight(res.tail, "\n"))))
	}
	return res, err
}

func (r *runtimes) invokeOnce(ctx context.Context, f *Function, payload []byte, id, clientContext string) (result, error) {
	dir := "" // a local function runs in Conveyor's working directory
	if f.CodeObject != "" {
		d, err := r.unpack(ctx, f)
		if err != nil {
			return result{}, err
		}
		dir = d
	}
	timeout := time.Duration(f.Timeout) * time.Second
	inv := &invocation{id: id, arn: f.FunctionArn, payload: payload, clientContext: clientContext,
		timeout: timeout, done: make(chan result, 1), taken: make(chan struct{})}
	if f.Runtime == "conveyor.command" {
		return r.runCommand(ctx, f, dir, inv), nil
	}
	p, err := r.acquire(ctx, f, dir)
	var notRunnable *exec.Error
	if errors.As(err, &notRunnable) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		// The code has no bootstrap that runs: the function's failure, as Lambda reports it.
		return r.failed(inv, nil, "Runtime.InvalidEntrypoint", "RequestId: "+inv.id+" Error: Couldn't find valid bootstrap(s): ["+
			filepath.Join(dir, "bootstrap")+"]"), nil
	}
	if err != nil {
		return result{}, err
	}
	mark := p.out.mark()
	// The function's time starts once its runtime takes the invocation
	// (begin): neither waiting for one of its processes to be free nor a
	// new process's init counts, as on Lambda. A runtime that never asks
	// for the invocation (its init stuck) is given the init phase's time
	// and the function's, then killed: it must not hold the caller, or a
	// slot of the asynchronous invocations, for ever.
	inv.latest = time.Now().Add(r.initTimeout + timeout)
	taking := time.NewTimer(r.initTimeout + timeout)
	defer taking.Stop()
	select {
	case p.next <- inv:
		<-inv.taken // closed by the runtime's handler as soon as it has the invocation
	case <-p.exited:
		r.release(p, false)
		if initErr := p.initError(); initErr != nil {
			// The runtime said why it could not start: that is the invocation's error, as on Lambda.
			return result{payload: initErr, fnError: "Unhandled", tail: p.out.since(mark)}, nil
		}
		return r.failed(inv, p.out.since(mark), "Runtime.ExitError", "The runtime exited before it took the invocation."), nil
	case <-taking.C:
		p.kill()
		r.release(p, false)
		// Its init outlasted the init phase by the whole timeout: the timeout is its duration.
		res := r.failed(inv, p.out.since(mark), "", timedOut(inv.id, f.Timeout))
		res.took, res.init = timeout, r.initTimeout
		return res, nil
	case <-ctx.Done():
		r.release(p, true)
		return result{}, ctx.Err()
	}
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	var res result
	select {
	case res = <-inv.done:
		res.tail, res.pid = p.out.since(mark), p.cmd.Process.Pid
		r.release(p, true)
	case <-p.exited:
		r.release(p, false)
		res = r.failed(inv, p.out.since(mark), "Runtime.ExitError", "RequestId: "+inv.id+" Error: Runtime exited without providing a reason")
	case <-timer.C:
		mb, _ := peakMemory(p.cmd.Process.Pid) // before the kill: then it is gone
		p.kill()
		r.release(p, false)
		res = r.failed(inv, p.out.since(mark), "", timedOut(inv.id, f.Timeout))
		res.maxMemory = mb
	case <-ctx.Done():
		p.kill()
		r.release(p, false)
		return result{}, ctx.Err()
	}
	res.took, res.init = time.Since(inv.begun), inv.init
	return res, nil
}

// timedOut is Lambda's message for invocation id that ran out of its timeout (seconds).
func timedOut(id string, timeout int) string {
	return fmt.Sprintf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), id, float64(timeout))
}

// failed is the result of an invocation the function did not answer: Lambda's error payload.
func (r *runtimes) failed(inv *invocation, tail []byte, errType, msg string) result {
	body := map[string]string{"errorMessage": msg}
	if errType != "" {
		body["errorType"] = errType
	}
	b, _ := json.Marshal(body)
	res := result{payload: b, fnError: "Unhandled", tail: tail, status: "timeout"}
	if errType != "" {
		res.status, res.errorType = "error", errType
	}
	return res
}

// acquire returns an idle process of f, or starts one; at most maxProcesses run at once, and
// a caller beyond them waits for one to be free.
func (r *runtimes) acquire(ctx context.Context, f *Function, dir string) (*proc, error) {
	key := poolKey(f)
	for {
		r.mu.Lock()
		if r.done {
			r.mu.Unlock()
			return nil, errors.New("lambda: shutting down")
		}
		if ps := r.idle[key]; len(ps) > 0 {
			p := ps[len(ps)-1]
			r.idle[key] = ps[:len(ps)-1]
			r.mu.Unlock()
			select {
			case <-p.exited:
				r.release(p, false)
				continue
			default:
				return p, nil
			}
		}
		if r.count[key] < maxProcesses {
			r.count[key]++
			r.mu.Unlock()
			r.retire(f.FunctionArn, key) // the idle processes of the function as it was
			p, err := r.start(f, dir)
			if err != nil {
				r.mu.Lock()
				r.count[key]--
				r.mu.Unlock()
				return nil, err
			}
			return p, nil
		}
		wake := r.wake[key]
		if wake == nil {
			wake = make(chan struct{})
			r.wake[key] = wake
		}
		r.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release hands p back (keep) or lets it go, and wakes a waiting caller.
func (r *runtimes) release(p *proc, keep bool) {
	key := poolKey(p.fn)
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-p.exited:
		keep = false
	default:
	}
	if keep && !r.done {
		p.mu.Lock()
		p.used = time.Now()
		p.mu.Unlock()
		p.out.trim()
		r.idle[key] = append(r.idle[key], p)
	} else {
		r.count[key]--
		go p.stop()
	}
	if w := r.wake[key]; w != nil {
		close(w)
		delete(r.wake, key)
	}
}

// start runs f's bootstrap with its own Runtime API endpoint.
func (r *runtimes) start(f *Function, dir string) (*proc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambda: runtime API endpoint: %w", err)
	}
	out, err := newFileTail(filepath.Join(r.dir, "logs"))
	if err != nil {
		ln.Close()
		return nil, err
	}
	p := &proc{fn: f, next: make(chan *invocation), out: out, exited: make(chan struct{}), used: time.Now(), started: time.Now()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimePrefix+"invocation/next", p.handleNext)
	mux.HandleFunc("POST "+runtimePrefix+"invocation/{id}/response", p.handleResponse)
	mux.HandleFunc("POST "+runtimePrefix+"invocation/{id}/error", p.handleError)
	mux.HandleFunc("POST "+runtimePrefix+"init/error", p.handleInitError)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()

	p.cmd = exec.Command(filepath.Join(dir, "bootstrap"))
	p.cmd.Dir = dir
	p.cmd.Env = environ(f, dir, ln.Addr().String())
	p.cmd.Stdout, p.cmd.Stderr = p.out.f, p.out.f
	procgroup.Own(p.cmd)
	if err := p.cmd.Start(); err != nil {
		_ = p.srv.Close()
		p.out.close()
		return nil, fmt.Errorf("lambda: start the bootstrap of %s: %w", f.FunctionName, err)
	}
	if err := limitMemory(p.cmd.Process.Pid, f.MemorySize); err != nil {
		r.log.Warn("lambda: the function's memory cannot be bounded", "function", f.FunctionArn, "err", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	r.log.Debug("lambda: runtime started", "function", f.FunctionArn, "pid", p.cmd.Process.Pid)
	return p, nil
}

// environ is what a function's process sees: Lambda's variables and the function's own.
func environ(f *Function, dir, api string) []string {
	a, _ := strings.CutPrefix(f.FunctionArn, "arn:aws:lambda:")
	region, _, _ := strings.Cut(a, ":")
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=en_US.UTF-8", "TZ=:UTC",
		"AWS_LAMBDA_RUNTIME_API=" + api, "_HANDLER=" + f.Handler, "LAMBDA_TASK_ROOT=" + dir,
		"AWS_LAMBDA_FUNCTION_NAME=" + f.FunctionName, "AWS_LAMBDA_FUNCTION_VERSION=" + f.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + f.FunctionName, "AWS_LAMBDA_LOG_STREAM_NAME=conveyor",
		"AWS_REGION=" + region, "AWS_DEFAULT_REGION=" + region, "AWS_EXECUTION_ENV=AWS_Lambda_" + f.Runtime}
	if f.Environment != nil {
		for k, v := range f.Environment.Variables {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// kill ends the process (and its children).
func (p *proc) kill() {
	if p.cmd.Process != nil {
		procgroup.Kill(p.cmd)
	}
}

// stop kills the process and closes its endpoint.
func (p *proc) stop() {
	p.kill()
	<-p.exited
	_ = p.srv.Close()
	p.out.close()
}

func (p *proc) handleNext(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-p.next:
		now := time.Now()
		p.mu.Lock()
		p.cur = inv
		if !p.asked {
			p.asked = true
			inv.init = now.Sub(p.started)
		}
		p.mu.Unlock()
		inv.begin(now)
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
		if inv.clientContext != "" {
			h.Set("Lambda-Runtime-Client-Context", inv.clientContext)
		}
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(time.Now().Unix(), 16)+"-"+strings.ReplaceAll(inv.id, "-", "")[:24]+";Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	case <-p.exited:
	}
}

// current returns the invocation with id the process is working on, or nil.
func (p *proc) current(id string) *invocation {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || p.cur.id != id {
		return nil
	}
	inv := p.cur
	p.cur = nil
	return inv
}

func (p *proc) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := p.current(r.PathValue("id"))
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "The invocation is not the one this runtime is working on.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20+1))
	if err != nil || len(body) > 6<<20 {
		inv.done <- result{payload: []byte(`{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`), fnError: "Unhandled"}
		runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The response is over 6 MB.")
		return
	}
	inv.done <- result{payload: body}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (p *proc) handleError(w http.ResponseWriter, r *http.Request) {
	inv := p.current(r.PathValue("id"))
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "The invocation is not the one this runtime is working on.")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if !json.Valid(body) {
		b, _ := json.Marshal(map[string]string{"errorMessage": string(body), "errorType": r.Header.Get("Lambda-Runtime-Function-Error-Type")})
		body = b
	}
	inv.done <- result{payload: body, fnError: "Unhandled"}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// initError is the error JSON the runtime posted to init/error, nil for none.
func (p *proc) initError() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.initErr
}

func (p *proc) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_, _ = p.out.f.Write(append([]byte("init error: "), append(body, '\n')...))
	if errBody := bytes.TrimSpace(body); json.Valid(errBody) && len(errBody) > 0 && errBody[0] == '{' {
		p.mu.Lock()
		p.initErr = errBody
		p.mu.Unlock()
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
	go p.kill() // the invocation waiting for it fails as the process exits
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// runCommand runs a conveyor.command function: its Handler, in its code's directory, with the
// payload on standard input; standard output is the answer, and a non-zero exit a failure.
func (r *runtimes) runCommand(ctx context.Context, f *Function, dir string, inv *invocation) result {
	now := time.Now()
	inv.latest = now.Add(inv.timeout)
	inv.begin(now)
	ctx, cancel := context.WithDeadline(ctx, inv.deadline)
	defer cancel()
	res := r.runCommandUntil(ctx, f, dir, inv)
	res.took = time.Since(inv.begun)
	return res
}

// runCommandUntil runs a conveyor.command function's command until ctx's deadline, its timeout.
func (r *runtimes) runCommandUntil(ctx context.Context, f *Function, dir string, inv *invocation) result {
	argv := f.command
	if argv == nil {
		argv = strings.Fields(f.Handler)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if dir != "" && !strings.Contains(argv[0], "/") {
		if _, err := os.Stat(filepath.Join(dir, argv[0])); err == nil {
			cmd.Path = filepath.Join(dir, argv[0])
		}
	}
	cmd.Dir = dir
	cmd.Env = environ(f, dir, "")
	cmd.Stdin = bytes.NewReader(inv.payload)
	var stdout bytes.Buffer
	logs := &tail{}
	cmd.Stdout, cmd.Stderr = &stdout, logs
	procgroup.Own(cmd)
	err := cmd.Start()
	if err == nil {
		if lerr := limitMemory(cmd.Process.Pid, f.MemorySize); lerr != nil {
			r.log.Warn("lambda: the function's memory cannot be bounded", "function", f.FunctionArn, "err", lerr)
		}
		err = cmd.Wait()
	}
	var res result
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res = r.failed(inv, logs.since(0), "", timedOut(inv.id, f.Timeout))
	case err != nil:
		res = r.failed(inv, logs.since(0), "Runtime.ExitError", "RequestId: "+inv.id+" Error: "+err.Error())
	default:
		res = result{payload: stdout.Bytes(), tail: logs.since(0)}
	}
	if cmd.ProcessState != nil {
		res.maxMemory = exitedPeak(cmd.ProcessState)
	}
	return res
}

// unpack returns the directory holding f's code, unpacking its zip there the first time.
func (r *runtimes) unpack(ctx context.Context, f *Function) (string, error) {
	dir := filepath.Join(r.dir, strings.ReplaceAll(f.CodeObject, "/", "_"))
	if _, err := os.Stat(filepath.Join(dir, ".unpacked")); err == nil {
		return dir, nil
	}
	// The invocations that find the code not unpacked yet (a burst of cold starts) wait
	// for one of them to fetch and unpack it, rather than each fetching it.
	r.mu.Lock()
	u, busy := r.unpacking[dir]
	if !busy {
		u = &unpacking{done: make(chan struct{})}
		r.unpacking[dir] = u
	}
	r.mu.Unlock()
	if busy {
		select {
		case <-u.done:
			return dir, u.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	// Not the caller's: the others wait for it.
	u.err = r.unpackOnce(context.WithoutCancel(ctx), f, dir)
	r.mu.Lock()
	delete(r.unpacking, dir)
	r.mu.Unlock()
	close(u.done)
	return dir, u.err
}

// unpacking is an unpacking of a function's code under way.
type unpacking struct {
	done chan struct{}
	err  error // set before done is closed
}

// unpackOnce fetches f's code and unpacks it to dir.
func (r *runtimes) unpackOnce(ctx context.Context, f *Function, dir string) error {
	data, err := r.get(ctx, f.CodeObject)
	if err != nil {
		return fmt.Errorf("lambda: the code of %s: %w", f.FunctionName, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("lambda: unzip the code of %s: %w", f.FunctionName, err)
	}
	tmp, err := os.MkdirTemp(r.dir, "unpack-")
	if err != nil {
		return fmt.Errorf("lambda: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, zf := range zr.File {
		if err := extract(tmp, zf); err != nil {
			return fmt.Errorf("lambda: unzip the code of %s: %w", f.FunctionName, err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".unpacked"), nil, 0o600); err != nil {
		return fmt.Errorf("lambda: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
		if _, serr := os.Stat(filepath.Join(dir, ".unpacked")); serr != nil { // another call won the race
			return fmt.Errorf("lambda: %w", err)
		}
	}
	return nil
}

// entryPath is a zip entry's path, cleaned, and whether it stays within the code's
// directory.
func entryPath(name string) (string, bool) {
	name = filepath.Clean(name)
	return name, !filepath.IsAbs(name) && name != ".." && !strings.HasPrefix(name, "../")
}

// extract writes one zip entry under dir, refusing paths that leave it.
func extract(dir string, zf *zip.File) error {
	name, ok := entryPath(zf.Name)
	if !ok {
		return fmt.Errorf("entry %q leaves the code's directory", zf.Name)
	}
	path := filepath.Join(dir, name)
	if zf.FileInfo().IsDir() {
		return os.MkdirAll(path, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	mode := zf.Mode().Perm()
	if name == "bootstrap" || mode&0o111 != 0 {
		mode = 0o755 // as Lambda runs bootstrap whatever the zip says
	} else {
		mode = 0o644
	}
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.LimitReader(rc, 250<<20)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// close stops every process.
func (r *runtimes) close() {
	r.mu.Lock()
	r.done = true
	var all []*proc
	for _, ps := range r.idle {
		all = append(all, ps...)
	}
	r.idle = map[string][]*proc{}
	r.mu.Unlock()
	for _, p := range all {
		p.stop()
	}
}

// reap stops processes idle for longer than idleAfter; it runs until ctx ends.
func (r *runtimes) reap(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		var old []*proc
		for key, ps := range r.idle {
			kept := ps[:0]
			for _, p := range ps {
				p.mu.Lock()
				stale := time.Since(p.used) > idleAfter
				p.mu.Unlock()
				if stale {
					old = append(old, p)
					r.count[key]--
				} else {
					kept = append(kept, p)
				}
			}
			r.idle[key] = kept
		}
		r.mu.Unlock()
		for _, p := range old {
			p.stop()
		}
	}
}

// retire stops the idle processes of the function with ARN arn but key keep (all of them when
// keep is ""): those of a function changed or deleted, which no invocation will use again.
func (r *runtimes) retire(arn, keep string) {
	r.mu.Lock()
	var old []*proc
	for key, ps := range r.idle {
		if key == keep || !strings.HasPrefix(key, arn+"#") {
			continue
		}
		old = append(old, ps...)
		r.count[key] -= len(ps)
		delete(r.idle, key)
	}
	r.mu.Unlock()
	for _, p := range old {
		p.stop()
	}
}

// tail keeps the last output of a process, and how much it wrote in all.
type tail struct {
	mu    sync.Mutex
	buf   []byte
	total int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += len(p)
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailBytes {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailBytes:]...)
	}
	return len(p), nil
}

// since is the last tailBytes of what was written after mark.
func (t *tail) since(mark int) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := min(t.total-mark, len(t.buf), tailBytes)
	return append([]byte(nil), t.buf[len(t.buf)-n:]...)
}

// fileTail is a process's output: a file the process appends to (O_APPEND), so that what it
// wrote before it answered is there to read when the answer comes, with no pipe to drain. The
// file has no name once open (the process and Conveyor hold it), so that none is left behind
// when Conveyor is killed.
type fileTail struct {
	f *os.File
}

func newFileTail(dir string) (*fileTail, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lambda: log directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "proc-*.log")
	if err != nil {
		return nil, fmt.Errorf("lambda: log file: %w", err)
	}
	// Reopened to append: the process's writes always land at the end, even after trim.
	name := f.Name()
	f.Close()
	f, err = os.OpenFile(name, os.O_RDWR|os.O_APPEND, 0o600)
	if rerr := os.Remove(name); err == nil && rerr != nil {
		f.Close()
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("lambda: log file: %w", err)
	}
	return &fileTail{f: f}, nil
}

// mark is the output's length so far.
func (t *fileTail) mark() int {
	st, err := t.f.Stat()
	if err != nil {
		return 0
	}
	return int(st.Size())
}

// since is the last tailBytes written after mark.
func (t *fileTail) since(mark int) []byte {
	end := t.mark()
	from := max(mark, end-tailBytes)
	if end <= from {
		return nil
	}
	b := make([]byte, end-from)
	n, _ := t.f.ReadAt(b, int64(from))
	return b[:n]
}

// trim empties the file between invocations once it is large.
func (t *fileTail) trim() {
	if t.mark() > 1<<20 {
		_ = t.f.Truncate(0)
	}
}

func (t *fileTail) close() {
	t.f.Close()
}
