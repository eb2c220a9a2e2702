package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/identity"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/tail"
)

//go:embed assets
var assets embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// LocalUser is the access key (and so the user name in records) of the console's calls when
// Conveyor asks for no login.
const LocalUser = "local"

// Config is what the console works with.
type Config struct {
	// API serves the AWS APIs (POST / with X-Amz-Target); every action of the console is a
	// call to it.
	API http.Handler
	// Keys, when set, makes the console ask for a login with an access key of the key file;
	// nil: no login, calls are made as LocalUser.
	Keys func(accessKeyID string) *identity.Key
	// Verified says the API checks signatures (--auth): the login needs the key's secret.
	Verified bool
	// Tail sends fn the live tail of a bus of an account and region (tail.Hub.Watch): an
	// error for a bus that does not exist (catalog.ErrNotFound) or a bad filter.
	Tail func(ctx context.Context, sc scope.Scope, bus string, filter []byte, fn func(tail.Item) error) error
	// Region and Account are the server's defaults; Version is shown in the footer.
	Region, Account, Version string
	Logger                   *slog.Logger
}

// Console is the console's HTTP handler.
type Console struct {
	cfg   Config
	mux   *http.ServeMux
	page  *template.Template
	login *template.Template

	mu       sync.Mutex
	sessions map[string]*session
	// local is the session of the console without login.
	local *session
}

// session is one logged-in browser.
type session struct {
	key     identity.Key
	csrf    string
	expires time.Time
}

// sessionTTL is how long a login lasts; maxSessions bounds how many are kept.
const (
	sessionTTL  = 12 * time.Hour
	maxSessions = 10000
	cookieName  = "conveyor_session"
)

// New returns the console.
func New(cfg Config) *Console {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Console{cfg: cfg, mux: http.NewServeMux(), sessions: map[string]*session{}}
	c.page = template.Must(template.ParseFS(assets, "assets/index.html"))
	c.login = template.Must(template.ParseFS(assets, "assets/login.html"))
	if cfg.Keys == nil {
		// Calls are signed with the key "local", so that CloudTrail records the local user
		// (IAMUser local), as it records a CLI caller's key.
		c.local = &session{csrf: randomToken(), key: identity.Key{AccessKeyID: LocalUser, Secret: LocalUser}}
	}
	static, _ := fs.Sub(assets, "assets/static")
	c.mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET "+Prefix+"login", c.showLogin)
	c.mux.HandleFunc("POST "+Prefix+"login", c.doLogin)
	c.mux.HandleFunc("POST "+Prefix+"logout", c.doLogout)
	c.mux.HandleFunc("POST "+Prefix+"api", c.call)
	c.mux.HandleFunc("GET "+Prefix+"tail", c.tail)
	c.mux.HandleFunc("GET "+Prefix+"{$}", c.showPage)
	return c
}

// ServeHTTP serves the console's pages, assets and calls.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	c.mux.ServeHTTP(w, r)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionOf returns the request's session, nil when it has none (a login is needed).
func (c *Console) sessionOf(r *http.Request) *session {
	if c.local != nil {
		return c.local
	}
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[ck.Value]
	if s == nil || time.Now().After(s.expires) {
		delete(c.sessions, ck.Value)
		return nil
	}
	// The key may have left the key file (reloaded) since the login.
	if k := c.cfg.Keys(s.key.AccessKeyID); k == nil || (c.cfg.Verified && k.Secret != s.key.Secret) {
		delete(c.sessions, ck.Value)
		return nil
	}
	return s
}

// pageData is what index.html shows.
type pageData struct {
	CSRF, User, Region, Account, Version string
	Login                                bool
}

func (c *Console) showPage(w http.ResponseWriter, r *http.Request) {
	s := c.sessionOf(r)
	if s == nil {
		http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		return
	}
	user := s.key.Principal.UserName
	if user == "" {
		user = s.key.Principal.ARN
	}
	if user == "" {
		user = s.key.AccessKeyID
	}
	account := c.cfg.Account
	if s.key.Principal.AccountID != "" {
		account = s.key.Principal.AccountID
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = c.page.Execute(w, pageData{CSRF: s.csrf, User: user, Region: c.cfg.Region, Account: account, Version: c.cfg.Version,
		Login: c.local == nil})
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request) {
	c.renderLogin(w, "", http.StatusOK)
}

func (c *Console) renderLogin(w http.ResponseWriter, problem string, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = c.login.Execute(w, struct {
		Problem     string
		NeedSecret  bool
		NoLoginNeed bool
	}{problem, c.cfg.Verified, c.local != nil})
}

func (c *Console) doLogin(w http.ResponseWriter, r *http.Request) {
	if c.local != nil {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	id := strings.TrimSpace(r.PostFormValue("accessKeyId"))
	secret := r.PostFormValue("secretAccessKey")
	k := c.cfg.Keys(id)
	ok := k != nil
	if ok && c.cfg.Verified {
		ok = subtle.ConstantTimeCompare([]byte(k.Secret), []byte(secret)) == 1
	}
	if !ok {
		c.cfg.Logger.Warn("console: login refused", "access_key_id", id, "source_ip", r.RemoteAddr)
		c.renderLogin(w, "The access key or its secret is not right.", http.StatusUnauthorized)
		return
	}
	token := randomToken()
	c.mu.Lock()
	now := time.Now()
	for t, s := range c.sessions {
		if now.After(s.expires) {
			delete(c.sessions, t)
		}
	}
	if len(c.sessions) >= maxSessions {
		c.mu.Unlock()
		c.renderLogin(w, "Too many sessions are open; try again later.", http.StatusServiceUnavailable)
		return
	}
	c.sessions[token] = &session{key: *k, csrf: randomToken(), expires: now.Add(sessionTTL)}
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: Prefix, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second)})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Console) doLogout(w http.ResponseWriter, r *http.Request) {
	if s := c.sessionOf(r); s != nil && c.local == nil && r.PostFormValue("csrf") == s.csrf {
		if ck, err := r.Cookie(cookieName); err == nil {
			c.mu.Lock()
			delete(c.sessions, ck.Value)
			c.mu.Unlock()
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, MaxAge: -1})
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// signingNames maps X-Amz-Target prefixes to the services they are signed for.
var signingNames = map[string]string{
	"AWSEvents": "events", "ConveyorEvents": "events", "AmazonSQS": "sqs", "ConveyorQueues": "sqs",
	"CloudTrail_20131101": "cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101": "cloudtrail",
}

// call forwards one API call of the page (X-Amz-Target, a JSON body) to the API as the
// session's user: signed with the user's key, so that the API authenticates, authorizes and
// records it as it does the AWS CLI's.
func (c *Console) call(w http.ResponseWriter, r *http.Request) {
	s := c.sessionOf(r)
	if s == nil {
		http.Error(w, "log in first", http.StatusUnauthorized)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Conveyor-Csrf")), []byte(s.csrf)) != 1 {
		http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	prefix, _, _ := strings.Cut(target, ".")
	if i := strings.LastIndex(target, "."); i > 0 {
		prefix = target[:i]
	}
	service, ok := signingNames[prefix]
	// Lambda speaks REST-JSON: the page names the method and the path instead of a target.
	method, path := http.MethodPost, "/"
	if lp := r.Header.Get("X-Conveyor-Lambda-Path"); lp != "" {
		method, path, service, target = r.Header.Get("X-Conveyor-Lambda-Method"), lp, "lambda", ""
		ok = strings.HasPrefix(path, "/2015-03-31/") || strings.HasPrefix(path, "/2017-03-31/")
		switch method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
		default:
			ok = false
		}
	}
	if !ok {
		http.Error(w, "unknown X-Amz-Target, or a Lambda call that is not one", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	region := r.Header.Get("X-Conveyor-Region")
	if region == "" {
		region = c.cfg.Region
	}
	req, err := c.apiRequest(r.Context(), s, r.Host, method, path, service, region, target, r.Header.Get("Content-Type"), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("User-Agent", "conveyor-console "+r.Header.Get("User-Agent"))
	if service == "lambda" && strings.HasSuffix(path, "/invocations") {
		// A test invocation: its log tail when the page asks for it, and an answer that may
		// come as late as the longest function timeout (15 minutes).
		if lt := r.Header.Get("X-Amz-Log-Type"); lt != "" {
			req.Header.Set("X-Amz-Log-Type", lt)
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(16 * time.Minute))
	}
	rec := httptest.NewRecorder()
	c.cfg.API.ServeHTTP(rec, req)
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// apiRequest is the call as the AWS CLI would make it: signed for service and region with the
// session's key when there is one.
func (c *Console) apiRequest(ctx context.Context, s *session, host, method, path, service, region, target, contentType string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+host+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType == "" {
		contentType = "application/x-amz-json-1.1"
	}
	req.Header.Set("Content-Type", contentType)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: s.key.AccessKeyID, SecretAccessKey: s.key.Secret, SessionToken: s.key.SessionToken}
	if creds.SecretAccessKey == "" {
		creds.SecretAccessKey = "unverified" // --identities: signatures are believed, not checked
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, service, region, time.Now()); err != nil {
		return nil, err
	}
	return req, nil
}

// tail streams a bus's live tail as server-sent events (one "item" event per tail.Item) until
// the page goes away.
func (c *Console) tail(w http.ResponseWriter, r *http.Request) {
	s := c.sessionOf(r)
	if s == nil {
		http.Error(w, "log in first", http.StatusUnauthorized)
		return
	}
	if c.cfg.Tail == nil {
		http.Error(w, "no live tail here", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	sc := scope.Scope{Account: c.cfg.Account, Region: c.cfg.Region}
	if s.key.Principal.AccountID != "" {
		sc.Account = s.key.Principal.AccountID
	}
	if reg := q.Get("region"); reg != "" {
		sc.Region = reg
	}
	bus := q.Get("bus")
	if bus == "" {
		bus = "default"
	}
	var filter []byte
	if p := strings.TrimSpace(q.Get("pattern")); p != "" {
		filter = []byte(p)
	}
	ctx := r.Context()
	rc := http.NewResponseController(w)
	started := false
	err := c.cfg.Tail(ctx, sc, bus, filter, func(it tail.Item) error {
		if !started {
			started = true
			h := w.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
		}
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if it.Event == nil && it.Outcome == nil {
			if _, err := io.WriteString(w, ": alive\n\n"); err != nil {
				return err
			}
			return rc.Flush()
		}
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: item\ndata: %s\n\n", b); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil && !started {
		status := http.StatusBadRequest
		if errors.Is(err, catalog.ErrNotFound) {
			status = http.StatusNotFound
		}
		http.Error(w, err.Error(), status)
	}
}
