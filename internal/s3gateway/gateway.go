package s3gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/httpserve"
)

// Recorder records a call; *audit.Recorder is one (CommitCall stores a
// management call's record before it returns).
type Recorder interface {
	CommitCall(ctx context.Context, c audit.Call)
}

// Journal stores a call's intent before the call is forwarded (see
// audit.Journal); *audit.Journal is one.
type Journal interface {
	IntendCall(ctx context.Context, c audit.Call) error
}

// Config configures a Gateway.
type Config struct {
	// Backend is the S3-compatible storage's base URL
	// (http://127.0.0.1:9000); it has no path.
	Backend string
	// Recorder receives one call per request.
	Recorder Recorder
	// Journal, if set, stores each call's intent before it is forwarded; a
	// call whose intent cannot be stored is answered 503 and not forwarded.
	Journal Journal
	// Domains are host names of the gateway under which virtual-host-style
	// requests name their bucket (bucket.DOMAIN); AWS's own s3 endpoint
	// names are always understood. Default: "localhost".
	Domains []string
	// Transport reaches the backend (default: a clone of
	// http.DefaultTransport, without transparent decompression).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Gateway is the audit gateway: an http.Handler that forwards to the
// backend and records.
type Gateway struct {
	cfg     Config
	backend *url.URL
	proxy   *httputil.ReverseProxy
	log     *slog.Logger
}

// maxErrorBody is how much of an error response is read to find its code;
// the whole of it still goes to the client.
const maxErrorBody = 64 << 10

// New returns a gateway in front of cfg.Backend.
func New(cfg Config) (*Gateway, error) {
	u, err := url.Parse(cfg.Backend)
	if err != nil {
		return nil, fmt.Errorf("s3gateway: backend %q: %w", cfg.Backend, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("s3gateway: backend %q is not an http(s) URL", cfg.Backend)
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		// A prefix would change the path the client signed.
		return nil, fmt.Errorf("s3gateway: backend %q has a path; give the storage's base URL", cfg.Backend)
	}
	if cfg.Recorder == nil {
		return nil, errors.New("s3gateway: no recorder")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Domains == nil {
		cfg.Domains = []string{"localhost"}
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// The client's Accept-Encoding (or its absence) goes to the backend
		// as sent, and the body comes back as the backend sent it.
		t.DisableCompression = true
		cfg.Transport = t
	}
	g := &Gateway{cfg: cfg, backend: u, log: cfg.Logger}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      cfg.Transport,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.errorHandler,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		// Streamed downloads reach the client as they arrive.
		FlushInterval: -1,
	}
	return g, nil
}

// exchange is one request on its way through the proxy.
type exchange struct {
	in    *http.Request
	req   Request
	start time.Time
	// eventID is the eventID of the call's record (and of its intent).
	eventID string
}

type exchangeKey struct{}

// ServeHTTP forwards the request and records it.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := &exchange{in: r, req: Classify(r, g.cfg.Domains), start: time.Now(), eventID: uuid.NewString()}
	if g.cfg.Journal != nil && audit.Journaled("s3", ex.req.Operation) {
		if err := g.cfg.Journal.IntendCall(r.Context(), g.call(ex, "", "", "")); err != nil {
			g.log.Error("s3 gateway: the call cannot be recorded; not forwarded", "operation", ex.req.Operation, "err", err)
			writeError(w, r, http.StatusServiceUnavailable, "ServiceUnavailable",
				"Conveyor cannot record this call now; it was not forwarded to the storage.")
			return
		}
	}
	g.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex)))
}

// rewrite sends the request to the backend unchanged: same Host header,
// path (as escaped by the client), query and body. ReverseProxy has already
// removed the hop-by-hop headers, which a signature never covers.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = g.backend.Scheme
	pr.Out.URL.Host = g.backend.Host
	pr.Out.Host = pr.In.Host
}

func (g *Gateway) modifyResponse(resp *http.Response) error {
	ex, _ := resp.Request.Context().Value(exchangeKey{}).(*exchange)
	if ex == nil {
		return nil
	}
	var code, msg string
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotModified {
		code, msg = g.errorOf(resp)
	}
	// Stored (management calls) before the client has its answer.
	g.cfg.Recorder.CommitCall(context.WithoutCancel(ex.in.Context()),
		g.call(ex, resp.Header.Get("X-Amz-Request-Id"), code, msg))
	return nil
}

// errorOf reads the backend's S3 error (<Error><Code>…</Code><Message>…);
// the body read is put back for the client. A response without one (HEAD)
// is named by its status.
func (g *Gateway) errorOf(resp *http.Response) (code, msg string) {
	if resp.Body != nil && resp.Body != http.NoBody {
		head, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		orig := resp.Body
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), &errReader{err}, orig), orig}
		if code, msg := parseError(head); code != "" {
			return code, msg
		}
	}
	return statusCode(resp.StatusCode), http.StatusText(resp.StatusCode)
}

// parseError reads Code and Message of an S3 <Error> document; a document
// cut short (longer than maxErrorBody) still yields what came before the
// cut.
func parseError(b []byte) (code, msg string) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var path []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return code, msg
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if len(path) == 1 && t.Name.Local != "Error" {
				return "", ""
			}
		case xml.EndElement:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		case xml.CharData:
			if len(path) == 2 {
				switch path[1] {
				case "Code":
					code += string(t)
				case "Message":
					msg += string(t)
				}
			}
		}
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// errReader returns the error that ended the peek (nil: none, read on).
type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// statusCode names an error response that has no S3 error body, as S3
// clients name it.
func statusCode(status int) string {
	switch status {
	case http.StatusMovedPermanently:
		return "PermanentRedirect"
	case http.StatusBadRequest:
		return "BadRequest"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusPreconditionFailed:
		return "PreconditionFailed"
	case http.StatusRequestedRangeNotSatisfiable:
		return "InvalidRange"
	}
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

// errorHandler answers when the backend could not be reached: 503, which
// S3 clients retry, and the call is recorded as failed.
func (g *Gateway) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; there is no one to answer.
		return
	}
	g.log.Warn("s3 gateway: backend unreachable", "backend", g.backend.Host, "err", err)
	const code, msg = "ServiceUnavailable", "The storage behind the Conveyor S3 gateway is unreachable."
	if ex != nil {
		g.cfg.Recorder.CommitCall(context.WithoutCancel(r.Context()), g.call(ex, "", code, msg))
	}
	writeError(w, r, http.StatusServiceUnavailable, code, msg)
}

// writeError answers an S3 error document (no body to a HEAD request).
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
	}
}

// call is the audit call of an exchange.
func (g *Gateway) call(ex *exchange, requestID, code, msg string) audit.Call {
	r := ex.in
	key, region := credential(r)
	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	return audit.Call{
		Service:      "s3",
		Operation:    ex.req.Operation,
		AccessKeyID:  key,
		Region:       region,
		SourceIP:     ip,
		UserAgent:    r.UserAgent(),
		RequestID:    requestID,
		EventID:      ex.eventID,
		Parameters:   parameters(r, ex.req),
		Resources:    resources(ex.req),
		ErrorCode:    code,
		ErrorMessage: msg,
		Time:         ex.start,
	}
}

// parameters is requestParameters as CloudTrail writes them for S3:
// bucketName, key, Host and the query parameters (a presigned URL's
// signature and credential excepted).
func parameters(r *http.Request, req Request) json.RawMessage {
	p := map[string]any{"Host": r.Host}
	if req.Bucket != "" {
		p["bucketName"] = req.Bucket
	}
	if req.Key != "" {
		p["key"] = req.Key
	}
	for k, v := range r.URL.Query() {
		if _, taken := p[k]; taken || strings.HasPrefix(strings.ToLower(k), "x-amz-") ||
			k == "AWSAccessKeyId" || k == "Signature" {
			continue
		}
		if len(v) == 1 {
			p[k] = v[0]
		} else {
			p[k] = v
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil // strings and lists of strings always encode
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// resources lists the object and the bucket a call touched.
func resources(req Request) []audit.Resource {
	if req.Bucket == "" {
		return []audit.Resource{}
	}
	bucket := audit.Resource{Type: audit.TypeBucket, ARN: "arn:aws:s3:::" + req.Bucket}
	if req.Key == "" {
		return []audit.Resource{bucket}
	}
	return []audit.Resource{{Type: audit.TypeObject, ARN: "arn:aws:s3:::" + req.Bucket + "/" + req.Key}, bucket}
}

// credential reads the caller's access key and the region it signed for:
// from a SigV4 Authorization header (Credential=KEY/DATE/REGION/s3/…), a
// SigV2 one (AWS KEY:SIG), or a presigned URL's X-Amz-Credential
// (AWSAccessKeyId for SigV2).
func credential(r *http.Request) (key, region string) {
	scope := ""
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "AWS4-"):
		for _, part := range strings.Split(auth[strings.IndexByte(auth+" ", ' '):], ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
				scope = v
			}
		}
	case strings.HasPrefix(auth, "AWS "):
		key, _, _ = strings.Cut(strings.TrimPrefix(auth, "AWS "), ":")
		return strings.TrimSpace(key), ""
	default:
		q := r.URL.Query()
		if scope = q.Get("X-Amz-Credential"); scope == "" {
			return q.Get("AWSAccessKeyId"), ""
		}
	}
	f := strings.Split(scope, "/")
	if len(f) >= 3 {
		return f[0], f[2]
	}
	return f[0], ""
}

// Serve serves the gateway on ln until ctx ends, then shuts down
// gracefully (requests in flight finish, within shutdown).
func (g *Gateway) Serve(ctx context.Context, ln net.Listener, shutdown time.Duration) error {
	// Objects may be large and slow to send, so a request's body and answer
	// have no time bound here; headers, idle connections and the number of
	// connections do.
	def := httpserve.Defaults()
	limits := httpserve.Limits{ReadHeaderTimeout: 30 * time.Second, IdleTimeout: def.IdleTimeout,
		MaxHeaderBytes: def.MaxHeaderBytes, MaxConnections: def.MaxConnections}
	hs := limits.Server(g, slog.NewLogLogger(g.log.Handler(), slog.LevelWarn))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(limits.Listen(ln)) }()
	g.log.Info("s3 audit gateway serving", "addr", ln.Addr().String(), "backend", g.backend.String())
	select {
	case err := <-errc:
		return fmt.Errorf("s3gateway: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdown)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("s3gateway: shutdown: %w", err)
	}
	return nil
}

// Spec is one --s3-gateway ADDR=BACKEND_URL.
type Spec struct {
	Addr    string
	Backend string
}

// ParseSpec reads ADDR=BACKEND_URL.
func ParseSpec(s string) (Spec, error) {
	addr, backend, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || addr == "" || backend == "" {
		return Spec{}, fmt.Errorf("s3 gateway %q: want ADDR=BACKEND_URL, e.g. 127.0.0.1:4011=http://127.0.0.1:9000", s)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return Spec{}, fmt.Errorf("s3 gateway %q: listen address: %w", s, err)
	}
	u, err := url.Parse(backend)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return Spec{}, fmt.Errorf("s3 gateway %q: backend %q is not an http(s) URL", s, backend)
	}
	return Spec{Addr: addr, Backend: backend}, nil
}

// ParseSpecs reads a list of specs separated by ';', ',' or white space
// (the CONVEYOR_S3_GATEWAY variable).
func ParseSpecs(s string) ([]Spec, error) {
	var out []Spec
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		sp, err := ParseSpec(f)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}
