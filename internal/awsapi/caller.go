package awsapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/conveyor/conveyor/internal/identity"
	"github.com/conveyor/conveyor/internal/scope"
)

// Caller is who made an API call, as far as the request tells: the SigV4 credential scope
// (access key id, region, service) and the connection, and, once an Authenticator has found
// the key, the principal it stands for. An unsigned request has an anonymous caller
// (Anonymous true, AccessKeyID empty).
type Caller struct {
	AccessKeyID string // from the SigV4 Credential; "" when unsigned
	Region      string // the credential scope's region, else the server's default region
	Service     string // the credential scope's service, e.g. "events"
	// Account is the account the call acts in: its principal's, else the server's default.
	Account  string
	SourceIP string // the client's address (no port)
	// Host is the host (and port) the client called, for the URLs an answer gives back
	// (queue URLs, code download URLs).
	Host      string
	UserAgent string
	RequestID string // the x-amzn-RequestId of this call
	Anonymous bool   // no (parsable) SigV4 signature
	// Identity is the principal an Authenticator found for the key (nil when none did).
	Identity *identity.Principal
	// Verified says the request's signature was checked against the key's secret.
	Verified bool
}

type callerKey struct{}

// ContextWithCaller returns ctx carrying c (the server does this for every call; tests of
// handlers can do it too).
func ContextWithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller of the API call ctx belongs to (zero Caller outside one).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// SigV4 is what the Authorization header of a SigV4-signed request says.
type SigV4 struct {
	AccessKeyID   string
	Date          string // yyyymmdd of the credential scope
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
	// Presigned says the signature came in the query (X-Amz-Signature), not a header.
	Presigned bool
}

// setCredential sets the key and scope from "AKID/20240101/us-east-1/events/aws4_request".
func (s *SigV4) setCredential(v string) bool {
	scope := strings.Split(v, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return false
	}
	s.AccessKeyID, s.Date, s.Region, s.Service = scope[0], scope[1], scope[2], scope[3]
	return true
}

// ParseSigV4 parses an Authorization header of the form
// "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/events/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd".
// ok is false when the header is not a complete SigV4 header.
func ParseSigV4(header string) (s SigV4, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(header), "AWS4-HMAC-SHA256")
	if !found || (rest != "" && rest[0] != ' ') {
		return SigV4{}, false
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			continue
		}
		switch k {
		case "Credential":
			if !s.setCredential(v) {
				return SigV4{}, false
			}
		case "SignedHeaders":
			s.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			s.Signature = v
		}
	}
	if s.AccessKeyID == "" || s.Signature == "" || len(s.SignedHeaders) == 0 {
		return SigV4{}, false
	}
	return s, true
}

// Authenticator decides whether a request may proceed (signature verification, key lists).
// The server has parsed c from the request already; Authenticate may refine it (set Identity,
// Account, Verified) and returns an *Error such as UnrecognizedClientException or
// InvalidSignatureException to refuse the call. body is the full request body; service is
// the signing name of the service the request is routed to ("events", "sqs", …).
// Handlers never see the difference: they read CallerFrom(ctx).
type Authenticator interface {
	Authenticate(r *http.Request, body []byte, service string, c *Caller) error
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request, body []byte, service string, c *Caller) error

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request, body []byte, service string, c *Caller) error {
	return f(r, body, service, c)
}

// callerOf reads the caller from the request.
func callerOf(r *http.Request, requestID string) Caller {
	c := Caller{UserAgent: r.Header.Get("User-Agent"), RequestID: requestID, Anonymous: true, Host: r.Host}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.SourceIP = host
	} else {
		c.SourceIP = r.RemoteAddr
	}
	if s, ok := sigV4Of(r); ok {
		c.AccessKeyID, c.Region, c.Service, c.Anonymous = s.AccessKeyID, s.Region, s.Service, false
	}
	return c
}

// sigV4Of parses the request's signature: the Authorization header, else the query of a
// presigned URL.
func sigV4Of(r *http.Request) (SigV4, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		return ParseSigV4(h)
	}
	if r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "X-Amz-") {
		return parsePresigned(r.URL.Query())
	}
	return SigV4{}, false
}

// parsePresigned reads the signature of a presigned URL's query (X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-SignedHeaders, X-Amz-Signature).
func parsePresigned(q url.Values) (s SigV4, ok bool) {
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return SigV4{}, false
	}
	if !s.setCredential(q.Get("X-Amz-Credential")) {
		return SigV4{}, false
	}
	if h := q.Get("X-Amz-SignedHeaders"); h != "" {
		s.SignedHeaders = strings.Split(h, ";")
	}
	s.Signature = q.Get("X-Amz-Signature")
	s.Presigned = true
	if s.Signature == "" || len(s.SignedHeaders) == 0 {
		return SigV4{}, false
	}
	return s, true
}

// LogAttrs are the attributes every log line about the call carries: who made it (the key,
// and the principal when one is known), in which account, and its request ID.
func (c Caller) LogAttrs() []any {
	attrs := []any{"access_key", c.AccessKeyID, "account", c.Account, "request_id", c.RequestID}
	if c.Identity != nil {
		attrs = append(attrs, "principal", c.Identity.ARN)
	}
	return attrs
}

// ScopeOr is the account and region the call acts in, each taken from def when the caller
// does not say (a handler called outside a server).
func (c Caller) ScopeOr(def scope.Scope) scope.Scope {
	sc := scope.Scope{Account: c.Account, Region: c.Region}
	if sc.Account == "" {
		sc.Account = def.Account
	}
	if sc.Region == "" {
		sc.Region = def.Region
	}
	return sc
}

// CallerLogHandler wraps h so that a log record made in an API call, with its context (the
// slog …Context methods), carries the caller's LogAttrs: who made the call, in which
// account, and its request ID.
func CallerLogHandler(h slog.Handler) slog.Handler { return callerHandler{h} }

type callerHandler struct{ slog.Handler }

func (c callerHandler) Handle(ctx context.Context, r slog.Record) error {
	if caller, ok := ctx.Value(callerKey{}).(Caller); ok && caller.RequestID != "" {
		r = r.Clone()
		r.Add(caller.LogAttrs()...)
	}
	return c.Handler.Handle(ctx, r)
}

func (c callerHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return callerHandler{c.Handler.WithAttrs(attrs)}
}

func (c callerHandler) WithGroup(name string) slog.Handler {
	return callerHandler{c.Handler.WithGroup(name)}
}
