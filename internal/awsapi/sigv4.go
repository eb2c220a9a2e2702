package awsapi

import (
	"github.com/conveyor/conveyor/internal/clock"

	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/conveyor/conveyor/internal/identity"
)

// SigV4Verifier is an Authenticator that verifies AWS Signature Version 4 signatures, in the
// Authorization header or in a presigned URL's query, against the secrets of Keys. It answers
// as AWS does: MissingAuthenticationTokenException for an unsigned request,
// IncompleteSignatureException for a malformed signature, UnrecognizedClientException for an
// unknown key or a wrong session token, and InvalidSignatureException for a wrong signature, a
// credential scoped to another service or date, a body that does not match its
// x-amz-content-sha256, or a request dated more than MaxSkew from now (which also refuses a
// replay once that window has passed).
type SigV4Verifier struct {
	// Keys returns the key with an access key id, or nil for an unknown one.
	Keys func(accessKeyID string) *identity.Key
	// MaxSkew is how far the request's date may be from now (default 5 minutes, as AWS).
	MaxSkew time.Duration
	// Clock tells the time (the system's if nil).
	Clock clock.Clock

	// signingKeys caches derived signing keys (four HMACs each) by key, date, region and
	// service, as AWS's SDKs do: a client signs many calls with one.
	mu          sync.Mutex
	signingKeys map[signingScope][]byte
}

var _ Authenticator = (*SigV4Verifier)(nil)

type signingScope struct {
	secret, date, region, service string
}

const (
	sigV4TimeFormat = "20060102T150405Z"
	// maxPresignedExpiry is AWS's bound on X-Amz-Expires (seven days).
	maxPresignedExpiry = 7 * 24 * 60 * 60
	// emptySHA256 is the hash of an empty payload.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Authenticate implements Authenticator.
func (v *SigV4Verifier) Authenticate(r *http.Request, body []byte, service string, c *Caller) error {
	return v.verify(r, body, false, service, c)
}

// AuthenticateStream verifies a request whose body is streamed rather than read first (a
// CloudTrail import): its x-amz-content-sha256 is taken as the payload's hash, and may be
// UNSIGNED-PAYLOAD, as S3 allows. It returns nil or an *Error.
func (v *SigV4Verifier) AuthenticateStream(r *http.Request, service string, c *Caller) *Error {
	if err := v.verify(r, nil, true, service, c); err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			return ae
		}
		return NewError(CodeInvalidSignatureException)
	}
	return nil
}

func (v *SigV4Verifier) verify(r *http.Request, body []byte, stream bool, service string, c *Caller) error {
	sig, amzDate, err := v.parse(r)
	if err != nil {
		return err
	}
	key := v.Keys(sig.AccessKeyID)
	if key == nil {
		return NewError(CodeUnrecognizedClientException)
	}
	// Whatever comes of it, the call was made with this account's key: a
	// refusal is recorded in the account's history, where its owner sees it.
	c.Account = key.Principal.AccountID
	token := r.Header.Get("X-Amz-Security-Token")
	if sig.Presigned {
		token = r.URL.Query().Get("X-Amz-Security-Token")
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(key.SessionToken)) != 1 {
		return NewError(CodeUnrecognizedClientException)
	}
	signedAt, err := time.Parse(sigV4TimeFormat, amzDate)
	if err != nil {
		return Errorf(CodeIncompleteSignatureException, "Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate)
	}
	if err := v.checkTime(r, sig, amzDate, signedAt); err != nil {
		return err
	}
	if sig.Date != amzDate[:8] {
		return Errorf(CodeInvalidSignatureException, "Credential should be scoped to a valid date: '%s' != '%s'.", sig.Date, amzDate[:8])
	}
	if service != "" && sig.Service != service {
		return Errorf(CodeInvalidSignatureException, "Credential should be scoped to correct service: '%s'. ", service)
	}
	if !slices.Contains(sig.SignedHeaders, "host") {
		return Errorf(CodeInvalidSignatureException, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	var payload string
	if stream {
		if payload = r.Header.Get("X-Amz-Content-Sha256"); payload == "" {
			return Errorf(CodeIncompleteSignatureException, "A streamed request must say its payload's hash (x-amz-content-sha256), or UNSIGNED-PAYLOAD.")
		}
	} else if payload, err = payloadHash(r, body); err != nil {
		return err
	}
	want := hmacSHA256(v.signingKey(key.Secret, sig), stringToSign(r, sig, amzDate, payload))
	got, err := hex.DecodeString(sig.Signature)
	if err != nil || !hmac.Equal(want, got) {
		return NewError(CodeInvalidSignatureException)
	}
	c.Identity, c.Account, c.Verified = &key.Principal, key.Principal.AccountID, true
	return nil
}

// parse reads the request's signature and date (X-Amz-Date, or Date for a signed header).
func (v *SigV4Verifier) parse(r *http.Request) (SigV4, string, error) {
	if header := r.Header.Get("Authorization"); header != "" {
		sig, ok := ParseSigV4(header)
		if !ok {
			return SigV4{}, "", Errorf(CodeIncompleteSignatureException,
				"Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters in the form "+
					"AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=<headers>, Signature=<signature>.")
		}
		amzDate := r.Header.Get("X-Amz-Date")
		if amzDate == "" {
			d, err := http.ParseTime(r.Header.Get("Date"))
			if err != nil {
				return SigV4{}, "", Errorf(CodeIncompleteSignatureException, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
			}
			amzDate = d.UTC().Format(sigV4TimeFormat)
		}
		return sig, amzDate, nil
	}
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") == "" && q.Get("X-Amz-Signature") == "" && q.Get("X-Amz-Credential") == "" {
		return SigV4{}, "", NewError(CodeMissingAuthenticationTokenException)
	}
	sig, ok := parsePresigned(q)
	if !ok || q.Get("X-Amz-Date") == "" || q.Get("X-Amz-Expires") == "" {
		return SigV4{}, "", Errorf(CodeIncompleteSignatureException,
			"AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', "+
				"'X-Amz-SignedHeaders', 'X-Amz-Date' and 'X-Amz-Expires'. Re-examine the query-string parameters.")
	}
	return sig, q.Get("X-Amz-Date"), nil
}

// checkTime refuses a request signed too far from now, or a presigned URL past its expiry.
func (v *SigV4Verifier) checkTime(r *http.Request, sig SigV4, amzDate string, signedAt time.Time) error {
	now := clock.Or(v.Clock).Now
	skew := v.MaxSkew
	if skew <= 0 {
		skew = 5 * time.Minute
	}
	t := now().UTC()
	if signedAt.After(t.Add(skew)) {
		return Errorf(CodeInvalidSignatureException, "Signature not yet current: %s is still later than %s (%s + %s.)",
			amzDate, t.Add(skew).Format(sigV4TimeFormat), t.Format(sigV4TimeFormat), fmtMinutes(skew))
	}
	if !sig.Presigned {
		if signedAt.Before(t.Add(-skew)) {
			return Errorf(CodeInvalidSignatureException, "Signature expired: %s is now earlier than %s (%s - %s.)",
				amzDate, t.Add(-skew).Format(sigV4TimeFormat), t.Format(sigV4TimeFormat), fmtMinutes(skew))
		}
		return nil
	}
	expires, err := strconv.Atoi(r.URL.Query().Get("X-Amz-Expires"))
	if err != nil || expires < 1 || expires > maxPresignedExpiry {
		return Errorf(CodeInvalidSignatureException, "X-Amz-Expires must be an integer between 1 and %d.", maxPresignedExpiry)
	}
	if end := signedAt.Add(time.Duration(expires) * time.Second); t.After(end) {
		return Errorf(CodeInvalidSignatureException, "Signature expired: %s is now earlier than %s (%s - %d sec.)",
			end.Format(sigV4TimeFormat), t.Format(sigV4TimeFormat), t.Format(sigV4TimeFormat), expires)
	}
	return nil
}

// payloadHash is the hex SHA-256 of body. A request that says its hash (x-amz-content-sha256)
// must have said it right: the signature covers the header, not the body.
func payloadHash(r *http.Request, body []byte) (string, error) {
	var sum string
	if len(body) == 0 {
		sum = emptySHA256
	} else {
		h := sha256.Sum256(body)
		sum = hex.EncodeToString(h[:])
	}
	if said := r.Header.Get("X-Amz-Content-Sha256"); said != "" && said != sum {
		return "", Errorf(CodeInvalidSignatureException, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return sum, nil
}

// signingKey derives (or finds) the key that signs for sig's scope.
func (v *SigV4Verifier) signingKey(secret string, sig SigV4) []byte {
	scope := signingScope{secret, sig.Date, sig.Region, sig.Service}
	v.mu.Lock()
	k, ok := v.signingKeys[scope]
	v.mu.Unlock()
	if ok {
		return k
	}
	k = deriveSigningKey(secret, sig)
	v.mu.Lock()
	if v.signingKeys == nil || len(v.signingKeys) >= 1024 {
		v.signingKeys = map[signingScope][]byte{} // dates and reloads only add: start over
	}
	v.signingKeys[scope] = k
	v.mu.Unlock()
	return k
}

func deriveSigningKey(secret string, sig SigV4) []byte {
	key := hmacSHA256([]byte("AWS4"+secret), sig.Date)
	key = hmacSHA256(key, sig.Region)
	key = hmacSHA256(key, sig.Service)
	return hmacSHA256(key, "aws4_request")
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
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	return hex.EncodeToString(hmacSHA256(deriveSigningKey(secret, sig), stringToSign(r, sig, amzDate, payload)))
}

// stringToSign is SigV4's string to sign: the algorithm, date, scope and the hash of the
// canonical request.
func stringToSign(r *http.Request, sig SigV4, amzDate, payloadHash string) string {
	crHash := sha256.Sum256(CanonicalRequest(r, sig, payloadHash))
	var b strings.Builder
	b.Grow(200)
	b.WriteString("AWS4-HMAC-SHA256\n")
	b.WriteString(amzDate)
	b.WriteByte('\n')
	b.WriteString(sig.Date)
	b.WriteByte('/')
	b.WriteString(sig.Region)
	b.WriteByte('/')
	b.WriteString(sig.Service)
	b.WriteString("/aws4_request\n")
	b.WriteString(hex.EncodeToString(crHash[:]))
	return b.String()
}

// CanonicalRequest is SigV4's canonical form of r: method, URI (each segment encoded again, as
// for every service but S3), sorted query (without the signature of a presigned URL), the
// signed headers with their values, their names, and the payload's hash.
func CanonicalRequest(r *http.Request, sig SigV4, payloadHash string) []byte {
	cr := make([]byte, 0, 512)
	cr = append(cr, r.Method...)
	cr = append(cr, '\n')
	cr = appendCanonicalURI(cr, r.URL)
	cr = append(cr, '\n')
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		if sig.Presigned {
			q.Del("X-Amz-Signature")
		}
		cr = append(cr, canonicalQuery(q)...)
	}
	cr = append(cr, '\n')
	for _, h := range sig.SignedHeaders {
		cr = append(cr, h...)
		cr = append(cr, ':')
		cr = append(cr, canonicalHeaderValue(r, h)...)
		cr = append(cr, '\n')
	}
	cr = append(cr, '\n')
	for i, h := range sig.SignedHeaders {
		if i > 0 {
			cr = append(cr, ';')
		}
		cr = append(cr, h...)
	}
	cr = append(cr, '\n')
	return append(cr, payloadHash...)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// appendCanonicalURI appends the path with each segment encoded again (the path as sent is
// encoded once).
func appendCanonicalURI(b []byte, u *url.URL) []byte {
	p := u.EscapedPath()
	if p == "" || p == "/" {
		return append(b, '/')
	}
	for i, seg := range strings.Split(p, "/") {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, sigV4Escape(seg)...)
	}
	return b
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

// KeyDirectory is the Authenticator of a server that does not verify signatures (local work):
// it accepts every request and believes the access key it names, describing the key's
// principal and account from Keys when Keys knows it.
type KeyDirectory struct {
	// Keys returns the key with an access key id, or nil for an unknown one.
	Keys func(accessKeyID string) *identity.Key
}

// Authenticate implements Authenticator; it never refuses a call.
func (d KeyDirectory) Authenticate(_ *http.Request, _ []byte, _ string, c *Caller) error {
	if c.AccessKeyID == "" {
		return nil
	}
	if k := d.Keys(c.AccessKeyID); k != nil {
		c.Identity, c.Account = &k.Principal, k.Principal.AccountID
	}
	return nil
}
