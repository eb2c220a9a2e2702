package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBenchPutEvents runs the load generator briefly with each target
// server: every event put reaches the target, and the report says so.
func TestBenchPutEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	for _, sink := range []string{"minimal", "net/http"} {
		t.Run(strings.ReplaceAll(sink, "/", "-"), func(t *testing.T) {
			var out, errOut bytes.Buffer
			// The net/http sink goes with the net/http client.
			args := []string{"--duration", "300ms", "--rate", "500", "--workers", "2", "--sink", sink, "--client", sink, "--data-dir", t.TempDir()}
			if err := benchPutEvents(context.Background(), args, &out, &errOut); err != nil {
				t.Fatalf("bench put-events: %v\n%s\n%s", err, out.String(), errOut.String())
			}
			text := out.String()
			m := regexp.MustCompile(`put: +(\d+) events.*\ndelivered: +(\d+) events`).FindStringSubmatch(text)
			if m == nil || m[1] == "0" || m[1] != m[2] {
				t.Errorf("report does not show every event delivered:\n%s", text)
			}
			if !strings.Contains(text, "latency PutEvents → target: p50") {
				t.Errorf("report has no latency line:\n%s", text)
			}
			if !strings.Contains(text, "PutEvents call (10 entries): p50") {
				t.Errorf("report has no PutEvents call line:\n%s", text)
			}
			// The server's CPU per event comes from the profile's labels.
			if !regexp.MustCompile(`cpu per delivered event: server [0-9.]+ µs`).MatchString(text) {
				t.Errorf("report has no server CPU per event:\n%s", text)
			}
			if !regexp.MustCompile(`resident set \(whole process\): [1-9]\d* MB at the start`).MatchString(text) {
				t.Errorf("report has no resident set:\n%s", text)
			}
		})
	}
}

func TestBenchSinkRequests(t *testing.T) {
	cases := []struct {
		name    string
		request string
		bodies  []string // what the sink records
		answer  string   // prefix of everything it answers
		closed  bool     // it closes the connection after answering
	}{
		{name: "two requests on one connection",
			request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcPOST /p HTTP/1.1\r\ncontent-length:  2 \r\n\r\nde",
			bodies:  []string{"abc", "de"},
			answer:  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		{name: "connection close",
			request: "POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: 1\r\n\r\nz",
			bodies:  []string{"z"}, answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", closed: true},
		{name: "HTTP/1.0 closes",
			request: "POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\nz",
			bodies:  []string{"z"}, answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", closed: true},
		{name: "no body",
			request: "GET / HTTP/1.1\r\n\r\n",
			bodies:  []string{""}, answer: "HTTP/1.1 200 OK\r\n"},
		{name: "chunked refused",
			request: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
			answer:  "HTTP/1.1 411 Length Required\r\n", closed: true},
		{name: "bad length",
			request: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
			answer:  "HTTP/1.1 400 Bad Request\r\n", closed: true},
		{name: "not HTTP",
			request: "HELLO\r\n\r\n",
			answer:  "HTTP/1.1 400 Bad Request\r\n", closed: true},
		{name: "header without colon",
			request: "POST / HTTP/1.1\r\nbroken\r\n\r\n",
			answer:  "HTTP/1.1 400 Bad Request\r\n", closed: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var got []string
			s := newBenchSink(ln, func(body []byte, _ time.Time) {
				mu.Lock()
				got = append(got, string(body))
				mu.Unlock()
			})
			go s.serve()
			defer s.Close()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, c.request); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			answer, err := io.ReadAll(conn)
			timedOut := err != nil
			if !strings.HasPrefix(string(answer), c.answer) {
				t.Errorf("answer %q, want it to begin with %q", answer, c.answer)
			}
			if c.closed == timedOut {
				t.Errorf("connection closed = %v, want %v", !timedOut, c.closed)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(got, "|") != strings.Join(c.bodies, "|") {
				t.Errorf("recorded %q, want %q", got, c.bodies)
			}
		})
	}
}

// The Go HTTP client, as the API destination target uses it, gets its
// answers from the sink over kept-alive connections.
func TestBenchSinkWithHTTPClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	s := newBenchSink(ln, func([]byte, time.Time) { mu.Lock(); n++; mu.Unlock() })
	go s.serve()
	defer s.Close()
	conns := 0
	var cmu sync.Mutex
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		cmu.Lock()
		conns++
		cmu.Unlock()
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for i := range 50 {
		resp, err := client.Post("http://"+ln.Addr().String()+"/", "application/json", strings.NewReader(`{"i":`+string(rune('0'+i%10))+`}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, bufio.NewReader(resp.Body))
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 50 {
		t.Errorf("sink recorded %d requests, want 50", n)
	}
	if conns != 1 {
		t.Errorf("%d connections for 50 sequential requests, want 1 (kept alive)", conns)
	}
}

// The latency histogram's quantiles are within its 1% buckets.
func TestLatencyHist(t *testing.T) {
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.0101 {
			t.Errorf("quantile %v = %v, want %v within 1%%", c.q, got, c.want)
		}
	}
	if h.count() != 1000 || h.max.Load() != int64(time.Second) {
		t.Errorf("count %d, max %v", h.count(), time.Duration(h.max.Load()))
	}
}
