package awsapi

import (
	"bytes"
	"github.com/conveyor/conveyor/internal/clock"

	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// Logger receives internal errors and recovered panics; default slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes, when set, caps every operation's request bound (see RequestLimit: the
	// bounds are per operation, from one table); 0 leaves the table's bounds.
	MaxBodyBytes int64
	// Authenticator, if set, may refuse calls (signature verification, key lists); without it
	// every request is accepted and its SigV4 access key (if any) names the caller.
	Authenticator Authenticator
	// Clock times Call records (the system's if nil).
	Clock clock.Clock
	// Account and Region are the caller's account and region when neither its principal nor
	// its signature says (see Caller).
	Account, Region string
}

// Call is what the server reports to observers after each API call.
type Call struct {
	Service   string // service name, e.g. "events"; "" when the target was not routed
	Operation string // operation name from X-Amz-Target ("" when absent)
	Target    string // the X-Amz-Target header as sent
	Caller    Caller
	Request   []byte // the raw request body (observers may keep it; it is not reused)
	Input     any    // the decoded *In, nil when decoding failed or the call was not routed
	Output    any    // the handler's *Out on success (nil for a nil *Out)
	Err       *Error // the AWS error answered, nil on success
	// Response is the JSON body of a successful answer of the JSON
	// protocol, made before the before-answer observers run (they may
	// keep it; it is not reused); nil for other protocols.
	Response []byte
	Status   int // HTTP status written
	// ResponseBytes is the size of the response body written.
	ResponseBytes int
	Start, End    time.Time
	// Intent is what the before-invoke function computed of the call for
	// its observers (the audit trail's note of the call's intent), nil
	// when it computed nothing; observers read it and do not change it.
	Intent any

	// rest and restIn are a REST call's request and input type, for Params.
	rest   *restRequest
	restIn reflect.Type
}

// Params is the request's members as one JSON object when they are not all in its body
// (REST operations: the body's members with those of the path, the query and the headers;
// a raw payload, such as an Invoke's, left out); nil when Request is that object. It is
// made when asked for: only a call that is recorded pays for it.
func (c *Call) Params() []byte {
	if c.restIn == nil {
		return nil
	}
	return restParams(c.rest, c.restIn, c.Request)
}

// Observer receives a record of every call after its response has been written. Observers run
// on the request's goroutine: they must be fast and must not block (hand the record to a
// buffered channel or a stream and return); a panic in one is recovered and logged. They must
// not modify the Call.
type Observer func(ctx context.Context, c *Call)

// Server serves the AWS JSON protocol (POST / with X-Amz-Target) for registered services. It
// is an http.Handler.
type Server struct {
	log     *slog.Logger
	maxBody int64
	auth    Authenticator
	now     func() time.Time
	account string
	region  string

	mu        sync.RWMutex
	prefixes  map[string]*Service
	rest      []*Service // REST-JSON services, routed by path
	query     *Service   // the service that speaks the Query protocol, if any
	observers []Observer
	// beforeAnswer are observers the answer waits for.
	beforeAnswer []Observer
	// beforeInvoke, if set, may refuse a call before its handler runs.
	beforeInvoke func(ctx context.Context, c *Call) error
}

// NewServer returns a server for services (more may be added with Register).
func NewServer(cfg Config, services ...*Service) (*Server, error) {
	s := &Server{log: cfg.Logger, maxBody: cfg.MaxBodyBytes, auth: cfg.Authenticator, now: clock.Or(cfg.Clock).Now,
		account: cfg.Account, region: cfg.Region, prefixes: map[string]*Service{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, svc := range services {
		if err := s.Register(svc); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Register adds svc; its target prefixes must not be taken by another service.
func (s *Server) Register(svc *Service) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc.cfg.REST {
		s.rest = append(s.rest, svc)
		return nil
	}
	if svc.cfg.Query != nil {
		if s.query != nil && s.query != svc {
			return fmt.Errorf("register service %q: the Query protocol is already served by %q", svc.cfg.Name, s.query.cfg.Name)
		}
		s.query = svc
	}
	if len(svc.cfg.TargetPrefixes) == 0 {
		return fmt.Errorf("register service %q: no X-Amz-Target prefix", svc.cfg.Name)
	}
	for _, p := range svc.cfg.TargetPrefixes {
		if other, ok := s.prefixes[p]; ok && other != svc {
			return fmt.Errorf("register service %q: target prefix %q already served by %q", svc.cfg.Name, p, other.cfg.Name)
		}
	}
	for _, p := range svc.cfg.TargetPrefixes {
		s.prefixes[p] = svc
	}
	return nil
}

// routeREST finds the REST-JSON service and operation a request's method and path name.
// When a path matches but no method does, it answers the error to give.
func (s *Server) routeREST(r *http.Request) (*Service, *restRoute, map[string]string, *Error) {
	s.mu.RLock()
	rest := s.rest
	s.mu.RUnlock()
	pathKnown := false
	for _, svc := range rest {
		rt, params, matched := svc.matchREST(r.Method, r.URL.EscapedPath())
		if rt != nil {
			return svc, rt, params, nil
		}
		pathKnown = pathKnown || matched
	}
	if pathKnown {
		return nil, nil, nil, &Error{Code: CodeUnknownOperationException, Status: http.StatusMethodNotAllowed,
			Message: "The method " + r.Method + " is not allowed on " + r.URL.Path + "."}
	}
	return nil, nil, nil, nil
}

// isRESTPath says whether r's path is a REST operation's (a Lambda Invoke posted as a form
// is Lambda's, not an SQS Query call: Query calls go to / or a queue's path).
func (s *Server) isRESTPath(r *http.Request) bool {
	if r.URL.Path == "/" {
		return false
	}
	svc, _, _, restErr := s.routeREST(r)
	return svc != nil || restErr != nil
}

// ObserveBeforeAnswer adds an observer that sees every call after its
// handler has returned and before its answer is written: the client waits
// for it. It is for what must be done before the client learns the outcome
// (CloudTrail's record must be stored before the call answers); it must
// still be quick and must not fail the call. Status, ResponseBytes and End
// are not known yet when it runs.
func (s *Server) ObserveBeforeAnswer(o Observer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeAnswer = append(s.beforeAnswer, o)
}

// BeforeInvoke sets f to run for every routed and authenticated call just
// before its handler: an error refuses the call (the handler does not run,
// the error is answered and observed as the call's outcome). CloudTrail uses
// it to store what a call will do before it can take effect. f runs on the
// request's goroutine with the caller in ctx.
func (s *Server) BeforeInvoke(f func(ctx context.Context, c *Call) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeInvoke = f
}

// notifyBeforeAnswer runs the before-answer observers.
func (s *Server) notifyBeforeAnswer(ctx context.Context, call *Call) {
	s.mu.RLock()
	obs := s.beforeAnswer
	s.mu.RUnlock()
	if len(obs) == 0 {
		return
	}
	ctx = context.WithoutCancel(ContextWithCaller(ctx, call.Caller))
	for _, o := range obs {
		s.observe(ctx, o, call)
	}
}

// Observe adds an observer of every call (see Observer for what it must not do).
func (s *Server) Observe(o Observer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observers = append(s.observers, o)
}

// route finds the service and operation of an X-Amz-Target value.
func (s *Server) route(target string) (*Service, string, *Operation) {
	i := strings.LastIndexByte(target, '.')
	if i < 0 {
		return nil, target, nil
	}
	prefix, opName := target[:i], target[i+1:]
	s.mu.RLock()
	svc := s.prefixes[prefix]
	s.mu.RUnlock()
	if svc == nil {
		return nil, opName, nil
	}
	op, _ := svc.Operation(opName)
	return svc, opName, op
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	requestID := NewRequestID()
	w.Header().Set("x-amzn-RequestId", requestID)
	target := r.Header.Get("X-Amz-Target")
	s.mu.RLock()
	query := s.query
	s.mu.RUnlock()
	if query != nil && isQueryRequest(r) && !s.isRESTPath(r) {
		s.serveQuery(w, r, query, start, requestID)
		return
	}
	svc, opName, op := s.route(target)
	var (
		rt      *restRoute
		restErr *Error
		ctx     = r.Context()
	)
	if target == "" && (r.URL.Path != "/" || r.Method != http.MethodPost) {
		var params map[string]string
		if svc, rt, params, restErr = s.routeREST(r); rt != nil {
			op, opName = rt.op, rt.op.name
			ctx = context.WithValue(ctx, restKey{}, &restRequest{r: r, w: w, params: params})
		}
	}
	call := &Call{Operation: opName, Target: target, Caller: callerOf(r, requestID), Start: start}
	call.Caller.Account = s.account
	if call.Caller.Region == "" {
		call.Caller.Region = s.region
	}
	if svc != nil {
		call.Service = svc.cfg.Name
	}

	var err error
	switch {
	case restErr != nil:
		err = restErr
	case rt != nil:
		call.Request, err = s.readBody(w, r, s.requestLimit(call.Service, opName, op), opName)
	case r.URL.Path != "/":
		err = &Error{Code: CodeUnknownOperationException, Status: http.StatusNotFound,
			Message: "No AWS operation is served at " + r.URL.Path + "."}
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		err = &Error{Code: CodeUnknownOperationException, Status: http.StatusMethodNotAllowed,
			Message: "AWS JSON operations are called with POST, not " + r.Method + "."}
	default:
		call.Request, err = s.readBody(w, r, s.requestLimit(call.Service, opName, op), opName)
	}
	if err == nil && op == nil {
		err = unknownOperation(target, svc, opName)
	}
	if err == nil && s.auth != nil {
		err = s.auth.Authenticate(r, call.Request, call.Service, &call.Caller)
	}
	if rt != nil && op != nil {
		// Also for a call refused: its record never takes a raw payload.
		call.rest, _ = ctx.Value(restKey{}).(*restRequest)
		call.restIn = op.inType
	}
	if err == nil {
		ctx = ContextWithCaller(ctx, call.Caller)
		s.mu.RLock()
		before := s.beforeInvoke
		s.mu.RUnlock()
		if before != nil {
			err = before(ctx, call)
		}
	}
	if err == nil {
		call.Input, call.Output, err = s.invoke(ctx, op, call.Request)
	}
	if err != nil {
		call.Err = s.toAWSError(err, svc, call)
	}
	if rt == nil && call.Err == nil {
		s.encodeOutput(svc, call)
	}
	s.notifyBeforeAnswer(ctx, call)
	switch {
	case rt != nil && call.Err != nil:
		call.Status, call.ResponseBytes = writeRESTError(w, svc, call.Err)
	case rt != nil:
		status := rt.status
		if status == 0 {
			status = http.StatusOK
		}
		call.Status, call.ResponseBytes = writeREST(w, status, call.Output)
	case call.Err != nil:
		call.Status, call.ResponseBytes = s.writeError(w, svc, call.Err)
	default:
		call.Status, call.ResponseBytes = s.writeOutput(w, svc, call)
	}
	call.End = s.now()
	s.notify(ctx, call, w)
}

// serveQuery serves a Query protocol call (see query.go) through the same steps as a JSON one:
// the request bound, authentication over the form as it was signed, the before-invoke hook,
// the handler with the form turned into its JSON input, the observers; the answer is XML.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, svc *Service, start time.Time, requestID string) {
	ctx := r.Context()
	call := &Call{Caller: callerOf(r, requestID), Start: start, Service: svc.cfg.Name}
	call.Caller.Account = s.account
	if call.Caller.Region == "" {
		call.Caller.Region = s.region
	}
	var (
		op   *Operation
		form url.Values
		err  error
	)
	if r.Method == http.MethodPost {
		// Percent-encoding makes a form up to three times its values: the bound is checked
		// again on the JSON input, per operation, once the form is read.
		limit := 3 * RequestLimit(svc.cfg.Name, "SendMessageBatch")
		if s.maxBody > 0 {
			limit = min(limit, 3*s.maxBody)
		}
		call.Request, err = s.readBody(w, r, limit, "")
	}
	if err == nil {
		if form, err = queryForm(r, call.Request); err != nil {
			err = Errorf(CodeSerializationException, "The request body is not a valid form: %v", err)
		}
	}
	if err == nil {
		call.Operation = form.Get("Action")
		switch op, _ = svc.Operation(call.Operation); {
		case call.Operation == "":
			err = NewError(CodeMissingAction)
		case op == nil:
			err = Errorf(CodeInvalidAction, "The action %s is not valid for this endpoint.", call.Operation)
		}
	}
	if err == nil && s.auth != nil {
		err = s.auth.Authenticate(r, call.Request, call.Service, &call.Caller)
	}
	if err == nil {
		// A call to a queue's URL names its queue by the path.
		if form.Get("QueueUrl") == "" && r.URL.Path != "/" && strings.Count(r.URL.Path, "/") == 2 {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			form.Set("QueueUrl", scheme+"://"+r.Host+r.URL.Path)
		}
		call.Request, err = queryToJSON(form, call.Operation, op.inType, svc.cfg.Query)
		if limit := s.requestLimit(svc.cfg.Name, call.Operation, op); err == nil && int64(len(call.Request)) > limit {
			err = tooLarge(w, call.Operation, int64(len(call.Request)), limit)
		}
	}
	if err == nil {
		ctx = ContextWithCaller(ctx, call.Caller)
		s.mu.RLock()
		before := s.beforeInvoke
		s.mu.RUnlock()
		if before != nil {
			err = before(ctx, call)
		}
	}
	if err == nil {
		call.Input, call.Output, err = s.invoke(ctx, op, call.Request)
	}
	if err != nil {
		call.Err = s.toAWSError(err, svc, call)
	}
	s.notifyBeforeAnswer(ctx, call)
	if call.Err != nil {
		call.Status, call.ResponseBytes = writeQueryError(w, svc, call.Err, requestID)
	} else {
		call.Status, call.ResponseBytes = writeQueryOutput(w, call.Operation, requestID, call.Output, svc.cfg.Query)
	}
	call.End = s.now()
	s.notify(ctx, call, w)
}

func unknownOperation(target string, svc *Service, opName string) *Error {
	switch {
	case target == "":
		return Errorf(CodeUnknownOperationException, "Missing X-Amz-Target header.")
	case svc == nil:
		return Errorf(CodeUnknownOperationException, "No service is served for the X-Amz-Target %q.", target)
	default:
		return Errorf(CodeUnknownOperationException, "Operation %s is not supported by %s.", opName, svc.cfg.Name)
	}
}

// requestLimit is the request bound of an operation (an unknown one gets the default).
func (s *Server) requestLimit(service, opName string, op *Operation) int64 {
	limit := int64(DefaultRequestLimit)
	if op != nil {
		limit = RequestLimit(service, opName)
	}
	if s.maxBody > 0 {
		limit = min(limit, s.maxBody)
	}
	return limit
}

// readBody reads the request body, refusing one over limit before reading it when its
// Content-Length says so, and as soon as it passes the limit otherwise.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64, opName string) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(w, opName, r.ContentLength, limit)
	}
	lr := http.MaxBytesReader(w, r.Body, limit)
	var body []byte
	var err error
	if r.ContentLength > 0 {
		// The size is known (net/http holds the body to it): read it in one allocation.
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(lr, body)
	} else {
		body, err = io.ReadAll(lr)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(w, opName, -1, limit)
		}
		return nil, Errorf(CodeSerializationException, "Could not read the request body: %v", err)
	}
	return body, nil
}

// tooLarge is the answer to a request over its operation's bound: 413 and
// RequestEntityTooLargeException (worded as Lambda words its payload limit), and the
// connection is closed, as AWS's front ends close it, rather than reading the rest.
func tooLarge(w http.ResponseWriter, opName string, size, limit int64) *Error {
	w.Header().Set("Connection", "close")
	if opName == "" {
		opName = "requested"
	}
	if opName == "Invoke" { // Lambda's words for a synchronous payload
		return Errorf(CodeRequestEntityTooLargeException, "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	}
	if size < 0 {
		return Errorf(CodeRequestEntityTooLargeException, "Request payload is too large for the %s operation (limit %d bytes).", opName, limit)
	}
	return Errorf(CodeRequestEntityTooLargeException, "%d byte payload is too large for the %s operation (limit %d bytes).", size, opName, limit)
}

// invoke calls the operation, turning a panic into an error.
func (s *Server) invoke(ctx context.Context, op *Operation, body []byte) (in, out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return op.invoke(ctx, body)
}

type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("handler panic: %v", p.value) }

// toAWSError maps a handler's error to the AWS error to answer, logging unexpected ones.
func (s *Server) toAWSError(err error, svc *Service, call *Call) *Error {
	var ae *Error
	if errors.As(err, &ae) && ae != nil {
		if code, ok := svc.credentialError(ae.Code); ok {
			return &Error{Code: code, Status: http.StatusForbidden, Message: ae.Message}
		}
		return ae
	}
	code := CodeInternalFailure
	if svc != nil {
		code = svc.cfg.InternalErrorCode
	}
	attrs := append([]any{"service", call.Service, "operation", call.Operation, "err", err}, call.Caller.LogAttrs()...)
	var pe *panicError
	if errors.As(err, &pe) {
		attrs = append(attrs, "stack", string(pe.stack))
		s.log.Error("awsapi: handler panicked", attrs...)
	} else {
		s.log.Error("awsapi: handler failed", attrs...)
	}
	return NewError(code)
}

func contentType(svc *Service) string {
	if svc == nil {
		return "application/x-amz-json-1.1"
	}
	return svc.contentType
}

// writeError writes e as AWS does: {"__type": …, "message": …}, x-amzn-ErrorType, and for
// query-compatible services x-amzn-query-error.
// WriteError answers e as AWS's JSON protocols do ({"__type": code, "message": …}, the
// x-amzn-ErrorType header, e's status or the exception table's): for Conveyor's own
// endpoints beside the APIs (inbound events, CloudTrail imports).
func WriteError(w http.ResponseWriter, e *Error) int {
	status, _ := writeError(w, nil, e)
	return status
}

func (s *Server) writeError(w http.ResponseWriter, svc *Service, e *Error) (int, int) {
	return writeError(w, svc, e)
}

func writeError(w http.ResponseWriter, svc *Service, e *Error) (int, int) {
	status := e.Status
	svcName := ""
	if svc != nil {
		svcName = svc.cfg.Name
	}
	info, known := LookupError(svcName, e.Code)
	if status == 0 || (e.fromTable && known) {
		status = info.Status
		if !known {
			status = http.StatusBadRequest
		}
	}
	typ := e.Code
	h := w.Header()
	if svc != nil && svc.cfg.ErrorNamespace != "" {
		typ = svc.cfg.ErrorNamespace + "#" + e.Code
	}
	if svc != nil && svc.cfg.QueryCompatible {
		qc := info.QueryCode
		if qc == "" {
			qc = e.Code
		}
		fault := "Sender"
		if status >= 500 {
			fault = "Receiver"
		}
		h.Set("x-amzn-query-error", qc+";"+fault)
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{typ, e.Message})
	h.Set("x-amzn-ErrorType", e.Code)
	h.Set("Content-Type", contentType(svc))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	n, _ := w.Write(body)
	return status, n
}

// marshalOutput encodes an operation's output as AWS writes JSON: '<', '>' and '&' as they
// are, not escaped for HTML.
// A JSONAppender is an operation's output that writes itself: the answers
// of the hot paths (PutEvents, ReceiveMessage, the message batches), which
// are not encoded by reflection. It writes what encoding/json would, maps'
// keys sorted, except that it may leave U+2028 and U+2029 unescaped.
type JSONAppender interface {
	AppendJSON(b []byte) []byte
}

func marshalOutput(v any) ([]byte, error) {
	if a, ok := v.(JSONAppender); ok {
		return a.AppendJSON(make([]byte, 0, 512)), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// encodeOutput sets the Response of a successful call of the JSON
// protocol, or its Err when its output does not encode.
func (s *Server) encodeOutput(svc *Service, call *Call) {
	if call.Output == nil {
		call.Response = []byte("{}")
		return
	}
	b, err := marshalOutput(call.Output)
	if err != nil {
		call.Err = s.toAWSError(fmt.Errorf("encode %s output: %w", call.Operation, err), svc, call)
		return
	}
	call.Response = b
}

// writeOutput writes the Response encodeOutput made.
func (s *Server) writeOutput(w http.ResponseWriter, svc *Service, call *Call) (int, int) {
	body := call.Response
	h := w.Header()
	h.Set("Content-Type", contentType(svc))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	n, _ := w.Write(body)
	return http.StatusOK, n
}

// notify flushes the response (the client has its answer before observers run) and reports
// the call to every observer.
func (s *Server) notify(ctx context.Context, call *Call, w http.ResponseWriter) {
	s.mu.RLock()
	obs := s.observers
	s.mu.RUnlock()
	if len(obs) == 0 {
		return
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	ctx = context.WithoutCancel(ContextWithCaller(ctx, call.Caller))
	for _, o := range obs {
		s.observe(ctx, o, call)
	}
}

func (s *Server) observe(ctx context.Context, o Observer, call *Call) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("awsapi: observer panicked", "operation", call.Operation, "request_id", call.Caller.RequestID,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	o(ctx, call)
}

// NewRequestID returns a random (version 4) UUID, the form of AWS request ids.
func NewRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
