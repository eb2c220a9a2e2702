package httpserve_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/httpserve"
)

// serve serves h with l on 127.0.0.1:0 and returns its address.
func serve(t *testing.T, l httpserve.Limits, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := l.Server(h, nil)
	go func() { _ = hs.Serve(l.Listen(ln)) }()
	t.Cleanup(func() { _ = hs.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes conn (a read ends with
// EOF or a reset, after any answer) within d.
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%d", len(b))
})

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A client that sends half a body is cut off once ReadTimeout passes.
func TestHalfBodyCutOff(t *testing.T) {
	l := httpserve.Defaults()
	l.ReadTimeout = 300 * time.Millisecond
	addr := serve(t, l, echo)
	c := dial(t, addr)
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
	if !closedWithin(c, 3*time.Second) {
		t.Fatal("a connection with half a body was still open after 3s")
	}
}

// A kept-alive connection that idles is closed once IdleTimeout passes.
func TestIdleConnectionClosed(t *testing.T) {
	l := httpserve.Defaults()
	l.IdleTimeout = 300 * time.Millisecond
	addr := serve(t, l, echo)
	c := dial(t, addr)
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	if !closedWithin(c, 3*time.Second) {
		t.Fatal("an idle kept-alive connection was still open after 3s")
	}
}

// At the cap, a further connection is not served until one closes.
func TestConnectionCap(t *testing.T) {
	l := httpserve.Defaults()
	l.MaxConnections = 2
	addr := serve(t, l, echo)
	held := []net.Conn{dial(t, addr), dial(t, addr)}
	answered := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			answered <- err
			return
		}
		defer c.Close()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
		_, err = http.ReadResponse(bufio.NewReader(c), nil)
		answered <- err
	}()
	select {
	case err := <-answered:
		t.Fatalf("a connection over the cap was served (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	held[0].Close()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not served after a slot was freed")
	}
}

// A handler may wait within WriteTimeout (a long poll); one that outlasts it
// loses its answer unless it lifted the bound with Unbounded.
func TestWriteBound(t *testing.T) {
	l := httpserve.Defaults()
	l.WriteTimeout = 500 * time.Millisecond
	addr := serve(t, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
		if r.URL.Query().Get("stream") != "" {
			if err := httpserve.Unbounded(w); err != nil {
				t.Error(err)
			}
		}
		time.Sleep(wait)
		fmt.Fprint(w, "done")
	}))
	get := func(q string) (string, error) {
		resp, err := http.Get("http://" + addr + "/?" + q)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if b, err := get("wait=100ms"); err != nil || b != "done" {
		t.Errorf("a wait within the bound: %q %v", b, err)
	}
	if b, err := get("wait=1s"); err == nil && b == "done" {
		t.Errorf("a wait past the bound was answered")
	}
	if b, err := get("wait=1s&stream=1"); err != nil || !strings.Contains(b, "done") {
		t.Errorf("an unbounded answer: %q %v", b, err)
	}
}
