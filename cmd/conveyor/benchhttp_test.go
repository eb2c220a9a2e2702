package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// Both clients post AWS JSON requests and hand back the answer appended to
// the buffer they are given, with its status; the minimal one refuses an
// https endpoint and an unknown kind is refused. (plainhttp's own tests
// cover the minimal client's connections and answers.)
func TestBenchTransports(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Amz-Target") == "Svc.Fail" {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		answer := r.Header.Get("Content-Type") + " " + r.Header.Get("X-Amz-Target") + ":" + string(body)
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	for _, kind := range []string{"minimal", "net/http"} {
		tr, err := newBenchTransport(kind, srv.URL, 1)
		if err != nil {
			t.Fatal(err)
		}
		status, got, err := tr.post(context.Background(), "Svc.Op", "application/x-amz-json-1.0", []byte(`{"a":1}`), []byte("kept|"))
		if want := `kept|application/x-amz-json-1.0 Svc.Op:{"a":1}`; err != nil || status != 200 || string(got) != want {
			t.Errorf("%s: %d %q %v, want %q", kind, status, got, err, want)
		}
		status, got, err = tr.post(context.Background(), "Svc.Fail", "application/x-amz-json-1.0", nil, nil)
		if err != nil || status != http.StatusBadRequest || string(got) != "no\n" {
			t.Errorf("%s: failing call: %d %q %v", kind, status, got, err)
		}
		tr.close()
	}
	if _, err := newBenchTransport("minimal", "https://example.test", 1); err == nil || !strings.Contains(err.Error(), "--client net/http") {
		t.Errorf("https endpoint: %v", err)
	}
	if _, err := newBenchTransport("curl", srv.URL, 1); err == nil {
		t.Error("an unknown client kind taken")
	}
}
