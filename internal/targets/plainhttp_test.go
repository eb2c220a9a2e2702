package targets

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
)

// rawServer answers each request read on a connection with the next answer
// its script gives (by connection and request number), written as is.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int32
	mu    sync.Mutex
	reqs  []string // request heads and bodies, in order
}

func newRawServer(t *testing.T, script func(conn, req int) (answer string, closeAfter bool)) *rawServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	var wg sync.WaitGroup
	var open []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			open = append(open, c)
			s.mu.Unlock()
			n := int(s.conns.Add(1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for i := 1; ; i++ {
					head, body, err := readRequest(r)
					if err != nil {
						return
					}
					s.mu.Lock()
					s.reqs = append(s.reqs, head+body)
					s.mu.Unlock()
					answer, closeAfter := script(n, i)
					if answer != "" {
						if _, err := io.WriteString(c, answer); err != nil {
							return
						}
					}
					if closeAfter {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range open {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	return s
}

func readRequest(r *bufio.Reader) (head, body string, err error) {
	var b strings.Builder
	n := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		b.WriteString(line)
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.EqualFold(k, "Content-Length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", "", err
	}
	return b.String(), string(buf), nil
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() + "/in" }

func (s *rawServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

func invokeRaw(t *testing.T, h *HTTP, method string, n int) []error {
	t.Helper()
	var errs []error
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		errs = append(errs, h.Invoke(ctx, &delivery.Job{TargetARN: destARN, Payload: []byte(`{"a":1}`)}))
		cancel()
	}
	return errs
}

func TestPlainHTTPAnswers(t *testing.T) {
	cases := []struct {
		name   string
		method string
		answer string
		close  bool // the server closes after answering
		status int  // 0: success expected
		conns  int  // connections for three requests
	}{
		{name: "content length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", conns: 1},
		{name: "no body", answer: "HTTP/1.1 204 No Content\r\n\r\n", conns: 1},
		{name: "chunked with trailer", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n", conns: 1},
		{name: "informational first", answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", conns: 1},
		{name: "connection close", answer: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", close: true, conns: 3},
		{name: "HTTP/1.0 closes", answer: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", close: true, conns: 3},
		{name: "HTTP/1.0 keep-alive", answer: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", conns: 1},
		{name: "body to the end", answer: "HTTP/1.1 200 OK\r\n\r\nuntil the end", close: true, conns: 3},
		{name: "large body closes", answer: "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("x", 70000), conns: 3},
		{name: "HEAD has no body", method: "HEAD", answer: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", conns: 1},
		{name: "server error", answer: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", status: 503, conns: 1},
		{name: "status without reason", answer: "HTTP/1.1 429\r\nContent-Length: 0\r\n\r\n", status: 429, conns: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newRawServer(t, func(int, int) (string, bool) { return c.answer, c.close })
			method := c.method
			if method == "" {
				method = "POST"
			}
			h := NewHTTP(dests{destARN: {ARN: destARN, InvocationEndpoint: srv.url(), HTTPMethod: method,
				Connection: Connection{AuthorizationType: AuthAPIKey, APIKeyName: "x-api-key", APIKeyValue: "k"}}}, nil)
			for i, err := range invokeRaw(t, h, method, 3) {
				if c.status == 0 && err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				var e *delivery.Error
				if c.status != 0 && (!errors.As(err, &e) || e.StatusCode != c.status) {
					t.Fatalf("request %d: %v, want status %d", i, err, c.status)
				}
			}
			if got := int(srv.conns.Load()); got != c.conns {
				t.Errorf("%d connections for 3 requests, want %d", got, c.conns)
			}
			reqs := srv.requests()
			if len(reqs) != 3 {
				t.Fatalf("server read %d requests, want 3", len(reqs))
			}
			want := []string{method + " /in HTTP/1.1\r\n", "\r\nHost: " + srv.ln.Addr().String() + "\r\n",
				"\r\nUser-Agent: " + UserAgent + "\r\n", "\r\nX-Api-Key: k\r\n"}
			if method == "POST" {
				want = append(want, "\r\nContent-Type: application/json; charset=utf-8\r\n", "\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
			}
			for _, w := range want {
				if !strings.Contains(reqs[0], w) {
					t.Errorf("request %q lacks %q", reqs[0], w)
				}
			}
		})
	}
}

// A kept-alive connection the server closed while idle is replaced, and the
// request sent again on a new one.
func TestPlainHTTPStaleConnection(t *testing.T) {
	srv := newRawServer(t, func(conn, req int) (string, bool) {
		if conn == 1 && req == 2 {
			return "", true // reads the request, then closes without an answer
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false
	})
	h := NewHTTP(dests{destARN: {ARN: destARN, InvocationEndpoint: srv.url(), HTTPMethod: "POST"}}, nil)
	for i, err := range invokeRaw(t, h, "POST", 2) {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := srv.conns.Load(); got != 2 {
		t.Errorf("%d connections, want 2", got)
	}
	if got := len(srv.requests()); got != 3 {
		t.Errorf("server read %d requests, want 3 (one sent twice)", got)
	}
}

func TestPlainHTTPFailures(t *testing.T) {
	cases := []struct {
		name   string
		answer string
	}{
		{"garbage", "SMTP ready\r\n\r\n"},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n"},
		{"header without colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n"},
		{"closed before answering", ""},
		{"no answer in time", "wait"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			srv := newRawServer(t, func(int, int) (string, bool) {
				if c.answer == "wait" {
					<-release
					return "", true
				}
				return c.answer, true
			})
			h := NewHTTP(dests{destARN: {ARN: destARN, InvocationEndpoint: srv.url(), HTTPMethod: "POST"}}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := h.Invoke(ctx, &delivery.Job{TargetARN: destARN, Payload: []byte(`{}`)})
			var e *delivery.Error
			if !errors.As(err, &e) || !e.Retry || e.Code != delivery.CodeClientError {
				t.Fatalf("got %v, want a retryable %s", err, delivery.CodeClientError)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("failure took %v", d)
			}
		})
	}
}

// Header parameters that would break the request (CR, LF) are refused,
// not sent.
func TestHTTPHeaderInjection(t *testing.T) {
	srv := newRawServer(t, func(int, int) (string, bool) { return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false })
	for _, hp := range []map[string]string{
		{"X-Ok": "v\r\nX-Evil: 1"},
		{"X-Bad\r\nName": "v"},
		{"X Space": "v"},
	} {
		h := NewHTTP(dests{destARN: {ARN: destARN, InvocationEndpoint: srv.url(), HTTPMethod: "POST",
			Connection: Connection{HeaderParameters: hp}}}, nil)
		err := h.Invoke(context.Background(), &delivery.Job{TargetARN: destARN, Payload: []byte(`{}`)})
		var e *delivery.Error
		if !errors.As(err, &e) || e.Retry || e.Code != delivery.CodeInvalidParameter {
			t.Errorf("header %q: got %v, want a final %s", hp, err, delivery.CodeInvalidParameter)
		}
	}
	if got := len(srv.requests()); got != 0 {
		t.Errorf("%d requests sent", got)
	}
}

// Cancelling the context (a shutdown) ends a request at once.
func TestPlainHTTPCancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRawServer(t, func(int, int) (string, bool) { <-release; return "", true })
	h := NewHTTP(dests{destARN: {ARN: destARN, InvocationEndpoint: srv.url(), HTTPMethod: "POST"}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := h.Invoke(ctx, &delivery.Job{TargetARN: destARN, Payload: []byte(`{}`)})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled request took %v", d)
	}
}

// Many concurrent requests share a bounded set of kept-alive connections.
func TestPlainHTTPConcurrent(t *testing.T) {
	var got atomic.Int32
	srv := newRawServer(t, func(int, int) (string, bool) {
		got.Add(1)
		return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false
	})
	h := NewHTTP(dests{destARN: {ARN: destARN, InvocationEndpoint: srv.url(), HTTPMethod: "POST"}}, nil)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := h.Invoke(context.Background(), &delivery.Job{TargetARN: destARN, Payload: []byte(fmt.Sprint(w, i))}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got.Load() != 400 {
		t.Errorf("server answered %d requests, want 400", got.Load())
	}
	if n := srv.conns.Load(); n > 8 {
		t.Errorf("%d connections for 8 concurrent callers", n)
	}
}

// Only http:// endpoints go to the plain client; https ones go through
// net/http (TLS).
func TestHTTPPlainOnlyForHTTP(t *testing.T) {
	h := NewHTTP(nil, nil)
	for endpoint, want := range map[string]bool{
		"http://127.0.0.1:9/x":   true,
		"https://127.0.0.1:9/x":  false,
		"HTTP://127.0.0.1:9/x":   true,
		"https://example.com/in": false,
	} {
		eu, err := h.endpoint(Destination{ARN: destARN, InvocationEndpoint: endpoint}, delivery.HTTPParameters{})
		if err != nil {
			t.Fatalf("%s: %v", endpoint, err)
		}
		if eu.plain != want {
			t.Errorf("%s: plain %v, want %v", endpoint, eu.plain, want)
		}
	}
	if h := NewHTTP(nil, &http.Client{}); h.plain != nil {
		t.Error("a caller's client is not used for every request")
	}
}

// A connection's new API key (UpdateConnection) is sent from the next
// request on, although a destination's headers are kept between requests.
func TestHTTPHeaderFollowsConnection(t *testing.T) {
	srv, last := recorder(t, 200)
	d := dests{destARN: {ARN: destARN, InvocationEndpoint: srv.URL, HTTPMethod: "POST",
		Connection: Connection{AuthorizationType: AuthAPIKey, APIKeyName: "x-api-key", APIKeyValue: "one"}}}
	h := NewHTTP(d, nil)
	job := &delivery.Job{TargetARN: destARN, Payload: []byte(`{}`)}
	for _, c := range []struct {
		conn   Connection
		header string
		want   string
	}{
		{d[destARN].Connection, "X-Api-Key", "one"},
		{Connection{AuthorizationType: AuthAPIKey, APIKeyName: "x-api-key", APIKeyValue: "two"}, "X-Api-Key", "two"},
		{Connection{AuthorizationType: AuthAPIKey, APIKeyName: "x-other", APIKeyValue: "two"}, "X-Other", "two"},
		{Connection{AuthorizationType: AuthBasic, Username: "u", Password: "p"}, "Authorization", "Basic dTpw"},
	} {
		x := d[destARN]
		x.Connection = c.conn
		d[destARN] = x
		if err := h.Invoke(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		if got := last().header.Get(c.header); got != c.want {
			t.Errorf("%s = %q, want %q", c.header, got, c.want)
		}
	}
}
