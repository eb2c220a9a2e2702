package plainhttp

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// An answer's body is kept for the caller however the server sends it:
// with a Content-Length, chunked, or up to the connection's end; the
// connection is reused after the first two.
func TestDoKeepsAnswer(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		answer := r.URL.Path + ":" + string(body)
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", fmt.Sprint(len(answer)))
		case "/close":
			w.Header().Set("Connection", "close")
		}
		// Without a length, net/http sends a long answer chunked.
		_, _ = io.WriteString(w, answer)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := New()
	for i, path := range []string{"/length", "/chunked", "/length", "/close"} {
		body := strings.Repeat("x", 5000*i)
		u, _ := url.Parse(srv.URL + path)
		out := []byte("kept|")
		status, err := c.Do(context.Background(), time.Now().Add(5*time.Second), http.MethodPost, u, http.Header{}, []byte(body), true, &out)
		if err != nil || status != 200 {
			t.Fatalf("%s: %d %v", path, status, err)
		}
		if want := "kept|" + path + ":" + body; string(out) != want {
			t.Fatalf("%s: answer %.40q…, want %.40q…", path, out, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for four requests in turn, want 1", n)
	}
}

// Connections idle longer than the idle timeout are closed, those of
// destinations no longer used included.
func TestReapsIdle(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/")
	p := New()
	if _, err := p.Do(context.Background(), time.Now().Add(5*time.Second), http.MethodPost, u, http.Header{}, nil, true, nil); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	idle := 0
	for _, cs := range p.idle {
		idle += len(cs)
	}
	reaping := p.reaping
	p.mu.Unlock()
	if idle != 1 || !reaping {
		t.Fatalf("%d idle connections, reaping %v; want 1, true", idle, reaping)
	}
	if !p.reapOnce(time.Now()) {
		t.Error("a fresh idle connection was reaped")
	}
	if p.reapOnce(time.Now().Add(plainIdleTimeout + time.Second)) {
		t.Error("reaping goes on with no idle connection left")
	}
	p.mu.Lock()
	left := len(p.idle)
	p.mu.Unlock()
	if left != 0 {
		t.Errorf("%d hosts with idle connections after the idle timeout", left)
	}
	// The next request needs a new connection.
	if _, err := p.Do(context.Background(), time.Now().Add(5*time.Second), http.MethodPost, u, http.Header{}, nil, true, nil); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (a reaped one is not reused)", n)
	}
}
