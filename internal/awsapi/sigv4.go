package awsapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SigV4Verifier is an Authenticator that verifies AWS Signature Version 4 signatures of
// requests signed in the Authorization header, with secrets from Keys. It answers as AWS does:
// MissingAuthenticationTokenException for an unsigned request, IncompleteSignatureException
// for a malformed Authorization header, UnrecognizedClientException for an unknown key, and
// InvalidSignatureException for a wrong signature or a request dated more than MaxSkew from
// now.
type SigV4Verifier struct {
	// Keys returns the secret of an access key id and the principal it stands for (set as
	// Caller.Principal), or ok false for an unknown key.
	Keys func(accessKeyID string) (secret, principal string, ok bool)
	// MaxSkew is how far X-Amz-Date may be from now (default 15 minutes, as AWS).
	MaxSkew time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

var _ Authenticator = (*SigV4Verifier)(nil)

const sigV4TimeFormat = "20060102T150405Z"

// Authenticate implements Authenticator.
func (v *SigV4Verifier) Authenticate(r *http.Request, body []byte, c *Caller) error {
	header := r.Header.Get("Authorization")
	if header == "" {
		return NewError(CodeMissingAuthenticationTokenException)
	}
	sig, ok := ParseSigV4(header)
	if !ok {
		return Errorf(CodeIncompleteSignatureException,
			"Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters in the form "+
				"AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=<headers>, Signature=<signature>.")
	}
	secret, principal, ok := v.Keys(sig.AccessKeyID)
	if !ok {
		return NewError(CodeUnrecognizedClientException)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signedAt, err := time.Parse(sigV4TimeFormat, amzDate)
	if err != nil {
		if amzDate == "" {
			return Errorf(CodeIncompleteSignatureException, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
		}
		return Errorf(CodeIncompleteSignatureException, "Date must be in ISO-8601 'basic format'. Got '%s'.", amzDate)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = 15 * time.Minute
	}
	t := now().UTC()
	if signedAt.Before(t.Add(-skew)) {
		return Errorf(CodeInvalidSignatureException, "Signature expired: %s is now earlier than %s (%s - %s.)",
			amzDate, t.Add(-skew).Format(sigV4TimeFormat), t.Format(sigV4TimeFormat), fmtMinutes(skew))
	}
	if signedAt.After(t.Add(skew)) {
		return Errorf(CodeInvalidSignatureException, "Signature not yet current: %s is still later than %s (%s + %s.)",
			amzDate, t.Add(skew).Format(sigV4TimeFormat), t.Format(sigV4TimeFormat), fmtMinutes(skew))
	}
	if sig.Date != amzDate[:8] {
		return Errorf(CodeInvalidSignatureException, "Credential should be scoped to a valid date: '%s' != '%s'.", sig.Date, amzDate[:8])
	}
	want := SignatureV4(r, body, sig, amzDate, secret)
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig.Signature)) != 1 {
		return NewError(CodeInvalidSignatureException)
	}
	c.Principal = principal
	return nil
}

func fmtMinutes(d time.Duration) string {
	m := int(d / time.Minute)
	if m == 1 {
		return "1 min"
	}
	return strconv.Itoa(m) + " min"
}

// SignatureV4 computes the hex signature of r (with its body) over the headers sig names, as
// the client must have computed it with secret.
func SignatureV4(r *http.Request, body []byte, sig SigV4, amzDate, secret string) string {
	var cr strings.Builder
	cr.WriteString(r.Method)
	cr.WriteByte('\n')
	cr.WriteString(canonicalURI(r.URL))
	cr.WriteByte('\n')
	cr.WriteString(canonicalQuery(r.URL.Query()))
	cr.WriteByte('\n')
	for _, h := range sig.SignedHeaders {
		cr.WriteString(h)
		cr.WriteByte(':')
		cr.WriteString(canonicalHeaderValue(r, h))
		cr.WriteByte('\n')
	}
	cr.WriteByte('\n')
	cr.WriteString(strings.Join(sig.SignedHeaders, ";"))
	cr.WriteByte('\n')
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	cr.WriteString(payload)

	scope := sig.Date + "/" + sig.Region + "/" + sig.Service + "/aws4_request"
	crHash := sha256.Sum256([]byte(cr.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])

	key := hmacSHA256([]byte("AWS4"+secret), sig.Date)
	key = hmacSHA256(key, sig.Region)
	key = hmacSHA256(key, sig.Service)
	key = hmacSHA256(key, "aws4_request")
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return p
}

func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			parts = append(parts, sigV4Escape(k)+"="+sigV4Escape(v))
		}
	}
	return strings.Join(parts, "&")
}

// sigV4Escape percent-encodes everything but unreserved characters (RFC 3986), as SigV4 does.
func sigV4Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
	return b.String()
}

// canonicalHeaderValue is the header's values, trimmed, inner runs of spaces collapsed, joined
// by commas. Go keeps Host (and, for bodies it sized, Content-Length) out of Header.
func canonicalHeaderValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		vals = r.Header.Values("Content-Length")
		if len(vals) == 0 {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		vals = r.Header.Values(name)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}
