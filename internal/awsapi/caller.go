package awsapi

import (
	"context"
	"net"
	"net/http"
	"strings"
)

// Caller is who made an API call, as far as the request tells: the SigV4 credential scope
// (access key id, region, service) and the connection. An unsigned request has an anonymous
// caller (Anonymous true, AccessKeyID empty).
type Caller struct {
	AccessKeyID string // from the SigV4 Credential; "" when unsigned
	Region      string // the credential scope's region (the client's configured region)
	Service     string // the credential scope's service, e.g. "events"
	SourceIP    string // the client's address (no port)
	UserAgent   string
	RequestID   string // the x-amzn-RequestId of this call
	Anonymous   bool   // no (parsable) SigV4 Authorization header
	// Principal is set by an Authenticator that maps keys to identities (e.g. a user name);
	// empty otherwise.
	Principal string
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
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
				return SigV4{}, false
			}
			s.AccessKeyID, s.Date, s.Region, s.Service = scope[0], scope[1], scope[2], scope[3]
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
// The server has parsed c from the request already; Authenticate may refine it (for example
// set Principal) and returns an *Error such as UnrecognizedClientException or
// InvalidSignatureException to refuse the call. body is the full request body.
// Handlers never see the difference: they read CallerFrom(ctx).
type Authenticator interface {
	Authenticate(r *http.Request, body []byte, c *Caller) error
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request, body []byte, c *Caller) error

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request, body []byte, c *Caller) error {
	return f(r, body, c)
}

// callerOf reads the caller from the request.
func callerOf(r *http.Request, requestID string) Caller {
	c := Caller{UserAgent: r.Header.Get("User-Agent"), RequestID: requestID, Anonymous: true}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.SourceIP = host
	} else {
		c.SourceIP = r.RemoteAddr
	}
	if s, ok := ParseSigV4(r.Header.Get("Authorization")); ok {
		c.AccessKeyID, c.Region, c.Service, c.Anonymous = s.AccessKeyID, s.Region, s.Service, false
	}
	return c
}
