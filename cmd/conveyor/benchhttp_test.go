package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The minimal client posts AWS JSON requests to a net/http server over one
// kept-alive connection, appends each answer to the buffer it is given,
// and hands back the status of an answer other than 200.
func TestBenchConnsWithHTTPServer(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Amz-Target") == "Svc.Fail" {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		answer := r.Header.Get("X-Amz-Target") + ":" + string(body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Header().Set("Content-Length", strconv.Itoa(len(answer))) // as awsapi answers
		_, _ = io.WriteString(w, answer)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr, err := newBenchTransport("minimal", srv.URL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.close()
	ctx := context.Background()
	out := []byte("kept|")
	for i := range 20 {
		body := strings.Repeat("x", i*1000)
		status, got, err := tr.post(ctx, "Svc.Op", "application/x-amz-json-1.0", []byte(body), out[:5])
		if err != nil || status != 200 {
			t.Fatalf("post %d: %d %v", i, status, err)
		}
		if want := "kept|Svc.Op:" + body; string(got) != want {
			t.Fatalf("post %d: answer %.40q…, want %.40q…", i, got, want)
		}
		out = got
	}
	status, got, err := tr.post(ctx, "Svc.Fail", "application/x-amz-json-1.0", nil, nil)
	if err != nil || status != http.StatusBadRequest || string(got) != "no\n" {
		t.Errorf("failing call: %d %q %v", status, got, err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for sequential calls, want 1", n)
	}
}

// Answers the minimal client does not take, and a call whose context ends.
func TestBenchConnsRefusals(t *testing.T) {
	answers := map[string]string{
		"Svc.Chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
		"Svc.NoLen":   "HTTP/1.1 200 OK\r\n\r\n",
		"Svc.Garbage": "HELLO\r\n\r\n",
		"Svc.Close":   "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					n, _, _, err := readSinkHead(r)
					if err != nil {
						return
					}
					// The request's target is its body's first line here.
					body := make([]byte, n)
					if _, err := io.ReadFull(r, body); err != nil {
						return
					}
					a, ok := answers[string(body)]
					if !ok {
						continue // Svc.Hang: no answer
					}
					if _, err := io.WriteString(c, a); err != nil {
						return
					}
				}
			}()
		}
	}()
	tr, err := newBenchConns("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.close()
	ctx := context.Background()
	for _, target := range []string{"Svc.Chunked", "Svc.NoLen", "Svc.Garbage"} {
		if _, _, err := tr.post(ctx, target, "application/json", []byte(target), nil); err == nil {
			t.Errorf("%s: no error", target)
		}
	}
	if status, got, err := tr.post(ctx, "Svc.Close", "application/json", []byte("Svc.Close"), nil); err != nil || status != 200 || string(got) != "ok" {
		t.Errorf("Svc.Close: %d %q %v", status, got, err)
	}
	// Every connection above was closed after its call: four were dialled.
	if _, _, err := tr.post(ctx, "Svc.Close", "application/json", []byte("Svc.Close"), nil); err != nil {
		t.Fatal(err)
	}
	if n := accepted.Load(); n != 5 {
		t.Errorf("%d connections accepted, want 5 (none reused after a refusal or a close)", n)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := tr.post(cctx, "Svc.Hang", "application/json", []byte("Svc.Hang"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a call whose context ends: %v, want context.DeadlineExceeded", err)
	}
	if _, err := newBenchConns("https://example.test"); err == nil || !strings.Contains(err.Error(), "--client net/http") {
		t.Errorf("https endpoint: %v", err)
	}
}
