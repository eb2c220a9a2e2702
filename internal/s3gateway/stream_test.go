package s3gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/audit"
)

// holdRecorder blocks each CommitCall until released.
type holdRecorder struct {
	called  chan audit.Call
	release chan struct{}
}

func (h *holdRecorder) CommitCall(_ context.Context, c audit.Call) {
	h.called <- c
	<-h.release
}

// A call's record is committed before the client has its answer, and an
// upload is streamed: the backend reads its first bytes while the client is
// still writing the rest.
func TestCommitBeforeAnswerAndStreaming(t *testing.T) {
	firstByte := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/b/big" {
			buf := make([]byte, 1)
			if _, err := io.ReadFull(r.Body, buf); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			close(firstByte)
			_, _ = io.Copy(io.Discard, r.Body)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(backend.Close)
	rec := &holdRecorder{called: make(chan audit.Call, 1), release: make(chan struct{})}
	gw, err := New(Config{Backend: backend.URL, Recorder: rec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(gw)
	t.Cleanup(front.Close)

	// Streaming: the second half of the body is written only after the
	// backend has read the first byte.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte("first half "))
		select {
		case <-firstByte:
			_, _ = pw.Write([]byte("second half"))
			_ = pw.Close()
		case <-time.After(10 * time.Second):
			_ = pw.CloseWithError(io.ErrUnexpectedEOF)
		}
	}()
	req, _ := http.NewRequest(http.MethodPut, front.URL+"/b/big", pr)
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(done)
			return
		}
		done <- resp
	}()
	c := <-rec.called
	if c.Operation != "PutObject" {
		t.Errorf("recorded %s", c.Operation)
	}
	select {
	case <-done:
		t.Fatal("the client had its answer before the record was committed")
	case <-time.After(50 * time.Millisecond):
	}
	close(rec.release)
	resp := <-done
	if resp == nil {
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d (the upload was not streamed?)", resp.StatusCode)
	}

	// An error body is passed to the client whole after its code was read.
	rec2 := &builtRecorder{b: mustBuilder(t)}
	errBody := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message>` + strings.Repeat(" ", 100<<10) + `</Error>`
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, errBody)
	}))
	t.Cleanup(denied.Close)
	gw2, _ := New(Config{Backend: denied.URL, Recorder: rec2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	w := httptest.NewRecorder()
	gw2.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/b?policy", strings.NewReader("{}")))
	recs := rec2.take()
	if w.Code != http.StatusForbidden || w.Body.String() != errBody || len(recs) != 1 ||
		recs[0].ErrorCode != "AccessDenied" || recs[0].ErrorMessage != "Access Denied" || recs[0].EventName != "PutBucketPolicy" {
		t.Errorf("answer %d (%d bytes), records %+v", w.Code, w.Body.Len(), recs)
	}
}

func mustBuilder(t *testing.T) *audit.Builder {
	b, err := audit.NewBuilder(audit.Config{AccountID: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
