package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var cfg = audit.Config{AccountID: "123456789012", Region: "us-east-1"}

func call(op string, i int) audit.Call {
	return audit.Call{Service: "events", Operation: op, AccessKeyID: "AKIATEST", SourceIP: "127.0.0.1",
		UserAgent: "test", RequestID: fmt.Sprint(i), Request: fmt.Appendf(nil, `{"Name":"rule-%d"}`, i),
		Output: map[string]string{"RuleArn": fmt.Sprintf("arn:aws:events:us-east-1:123456789012:rule/rule-%d", i)},
		Time:   time.Now()}
}

func newAudit(t *testing.T, st *store.Store, path string) *audit.Audit {
	t.Helper()
	a, err := audit.New(t.Context(), audit.Options{Config: cfg, Store: st, IndexPath: path, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func closeAudit(t *testing.T, a *audit.Audit) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// count waits until the index holds want records named op.
func count(t *testing.T, ix *audit.Index, op string, want int) {
	t.Helper()
	waitfor.Err(t, 60*time.Second, fmt.Sprintf("%d %s records in the index", want, op), func() error {
		got := 0
		q := audit.Query{Attribute: audit.AttrEventName, Value: op, Limit: 50}
		for {
			p, err := ix.Lookup(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			got += len(p.Results)
			if p.Next == nil {
				break
			}
			q.After = p.Next
		}
		if got != want {
			return fmt.Errorf("the index holds %d", got)
		}
		return nil
	})
}

func streamMsgs(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(t.Context(), audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// Records reach the stream and the index; Close flushes; a deleted index is
// rebuilt from the stream; data events are in the log but not the history.
func TestRecordIndexRebuild(t *testing.T) {
	st := storetest.Open(t)
	js := st.JetStream()
	path := filepath.Join(t.TempDir(), "audit.db")
	a := newAudit(t, st, path)
	const n = 300
	for i := range n {
		if !a.Recorder().Record(call("PutRule", i)) {
			t.Fatal("record dropped")
		}
	}
	closeAudit(t, a) // flushes
	if s := a.Recorder().Stats(); s.Recorded != n || s.Dropped != 0 {
		t.Fatalf("stats after close: %+v", s)
	}
	if got := streamMsgs(t, js); got != n {
		t.Fatalf("stream holds %d records, want %d", got, n)
	}

	// Reopen: the index is where it was.
	a = newAudit(t, st, path)
	count(t, a.Index(), "PutRule", n)
	closeAudit(t, a)

	// Delete the index: rebuilt from the stream.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	a = newAudit(t, st, path)
	defer closeAudit(t, a)
	count(t, a.Index(), "PutRule", n)

	// A data event (with data events on) is logged but not in the history.
	b, err := audit.NewBuilder(audit.Config{AccountID: cfg.AccountID, Region: cfg.Region, DataEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := b.Build(audit.Call{Service: "events", Operation: "PutEvents", Request: []byte(`{"Entries":[]}`), Time: time.Now()})
	if !ok {
		t.Fatal("data event not built")
	}
	if err := audit.Append(t.Context(), st, rec); err != nil {
		t.Fatal(err)
	}
	a.Recorder().Record(call("DeleteRule", 1))
	count(t, a.Index(), "DeleteRule", 1)
	count(t, a.Index(), "PutEvents", 0)
	if got := streamMsgs(t, js); got != n+2 {
		t.Fatalf("stream holds %d records, want %d", got, n+2)
	}
}

// Data events are not recorded while data-event logging is off.
func TestDataEventsOff(t *testing.T) {
	st := storetest.Open(t)
	a := newAudit(t, st, filepath.Join(t.TempDir(), "audit.db"))
	a.Recorder().Record(audit.Call{Service: "sqs", Operation: "SendMessage", Time: time.Now()})
	a.Recorder().Record(call("PutRule", 1))
	closeAudit(t, a)
	if s := a.Recorder().Stats(); s.Recorded != 1 || s.Skipped != 1 {
		t.Fatalf("stats: %+v", s)
	}
}

// A REST call's record takes its parameters (path, query, headers), not its
// raw body: an Invoke's payload is the caller's data, and its client
// context too. The call is a real one, served by awsapi.
func TestInvokeRecordParameters(t *testing.T) {
	type invokeIn struct {
		FunctionName   string `json:"-" uri:"FunctionName"`
		InvocationType string `json:"-" header:"X-Amz-Invocation-Type"`
		ClientContext  string `json:"-" header:"X-Amz-Client-Context"`
		Payload        []byte `json:"-" payload:""`
	}
	svc := awsapi.NewService(awsapi.ServiceConfig{Name: "lambda", REST: true})
	awsapi.HandleREST(svc, "Invoke", http.MethodPost, "/2015-03-31/functions/{FunctionName}/invocations", http.StatusAccepted,
		func(context.Context, *invokeIn) (*struct{}, error) { return nil, nil })
	srv, err := awsapi.NewServer(awsapi.Config{Logger: quiet}, svc)
	if err != nil {
		t.Fatal(err)
	}
	calls := make(chan audit.Call, 1)
	srv.Observe(func(_ context.Context, c *awsapi.Call) { calls <- audit.FromAPICall(c) })
	req := httptest.NewRequest(http.MethodPost, "/2015-03-31/functions/echo/invocations", strings.NewReader(`{"secret":"SECRETPAYLOAD"}`))
	req.Header.Set("X-Amz-Invocation-Type", "Event")
	req.Header.Set("X-Amz-Client-Context", "eyJjdXN0b20iOnt9fQ==")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != http.StatusAccepted {
		t.Fatalf("Invoke: %d %s", w.Code, w.Body)
	}
	b, err := audit.NewBuilder(audit.Config{AccountID: cfg.AccountID, Region: cfg.Region, DataEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := b.Build(<-calls)
	if !ok {
		t.Fatal("Invoke not recorded")
	}
	if got, want := string(rec.RequestParameters), `{"clientContext":"HIDDEN_DUE_TO_SECURITY_REASONS","functionName":"echo","invocationType":"Event"}`; got != want {
		t.Errorf("requestParameters %s, want %s", got, want)
	}
}

// The queue is bounded: when JetStream does not answer, calls beyond it are
// dropped and counted, and Record still returns at once.
func TestQueueFull(t *testing.T) {
	st := storetest.Open(t)
	js := st.JetStream()
	if _, err := audit.EnsureStream(t.Context(), js, 0, 1); err != nil {
		t.Fatal(err)
	}
	b, err := audit.NewBuilder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// With the connection closed every publish fails, so the publisher
	// retries its first batch and the queue fills.
	st.Conn().Close()
	r := audit.NewRecorder(b, st, audit.RecorderConfig{QueueSize: 4, Logger: quiet})
	start := time.Now()
	accepted := 0
	for i := range 1000 {
		if r.Record(call("PutRule", i)) {
			accepted++
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Record blocked: 1000 calls took %v", d)
	}
	s := r.Stats()
	if s.Dropped == 0 || int(s.Dropped)+accepted != 1000 {
		t.Errorf("stats: %+v, accepted %d", s, accepted)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); err == nil {
		t.Error("Close flushed to a closed connection")
	}
	if s := r.Stats(); int(s.Dropped) != 1000 || s.Recorded != 0 {
		t.Errorf("after close: %+v", s)
	}
	if r.Record(call("PutRule", 0)) {
		t.Error("closed recorder took a call")
	}
}

type fakeBus struct {
	mu     sync.Mutex
	events []event.Event
	ro     []bool
	fail   int // refuse this many calls first
}

func (f *fakeBus) ForwardAPICall(_ context.Context, _ scope.Scope, ev []byte, readOnly bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return errors.New("bus unavailable")
	}
	e, err := event.Parse(ev)
	if err != nil {
		return err
	}
	f.events = append(f.events, *e)
	f.ro = append(f.ro, readOnly)
	return nil
}

func (f *fakeBus) wait(t *testing.T, n int) {
	t.Helper()
	waitfor.Err(t, waitfor.Timeout, fmt.Sprintf("%d events on the bus", n), func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if got := len(f.events); got < n {
			return fmt.Errorf("the bus got %d", got)
		}
		return nil
	})
}

// Management records become "AWS API Call via CloudTrail" events; a bus that
// refuses gets them again later.
func TestForward(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	a := newAudit(t, st, filepath.Join(t.TempDir(), "audit.db"))
	defer closeAudit(t, a)
	bus := &fakeBus{fail: 2}
	a.StartForwarding(bus)
	a.Recorder().Record(call("PutRule", 1))
	a.Recorder().Record(call("DescribeRule", 2))
	bus.wait(t, 2)

	bus.mu.Lock()
	defer bus.mu.Unlock()
	if len(bus.events) != 2 {
		t.Fatalf("bus got %d events (duplicates?)", len(bus.events))
	}
	for i, want := range []struct {
		op string
		ro bool
	}{{"PutRule", false}, {"DescribeRule", true}} {
		e := bus.events[i]
		var rec audit.Record
		if err := json.Unmarshal(e.Detail, &rec); err != nil {
			t.Fatal(err)
		}
		if e.Source != "aws.events" || e.DetailType != audit.DetailType || e.Account != cfg.AccountID ||
			e.Region != "us-east-1" || len(e.Resources) != 0 || rec.EventName != want.op ||
			!e.Time.Equal(rec.Time()) || e.ID != audit.EventIDFor(rec.EventID) || bus.ro[i] != want.ro {
			t.Errorf("event %d: %+v (readOnly %v), record %+v", i, e, bus.ro[i], rec)
		}
	}
}

// The stream keeps records for the retention period only.
func TestStreamRetention(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	js := st.JetStream()
	s, err := audit.EnsureStream(t.Context(), js, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.CachedInfo().Config.MaxAge != audit.DefaultRetention {
		t.Errorf("default MaxAge %v", s.CachedInfo().Config.MaxAge)
	}
	s, err = audit.EnsureStream(t.Context(), js, time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.CachedInfo().Config.MaxAge != time.Second {
		t.Fatalf("MaxAge %v after update", s.CachedInfo().Config.MaxAge)
	}
	b, _ := audit.NewBuilder(cfg)
	rec, _ := b.Build(call("PutRule", 1))
	if err := audit.Append(t.Context(), st, rec); err != nil {
		t.Fatal(err)
	}
	// The retention period is a second.
	waitfor.Within(t, 10*time.Second, "the record to expire", func() bool { return streamMsgs(t, js) == 0 })
}

func TestCollectors(t *testing.T) {
	st := storetest.Open(t)
	a := newAudit(t, st, filepath.Join(t.TempDir(), "audit.db"))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(a.Collectors()...)
	a.Recorder().Record(call("PutRule", 1))
	count(t, a.Index(), "PutRule", 1)
	closeAudit(t, a)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 10 {
		t.Fatalf("%d metrics, %v", len(mfs), err)
	}
	seen := 0
	for _, mf := range mfs {
		switch mf.GetName() {
		case "conveyor_audit_records_total":
			seen++
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v != 1 {
				t.Errorf("records_total = %v, want 1", v)
			}
		case "conveyor_audit_log_messages":
			seen++
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 1 {
				t.Errorf("log_messages = %v, want 1", v)
			}
		}
	}
	if seen != 2 {
		t.Error("no conveyor_audit_records_total or conveyor_audit_log_messages")
	}
}

// A stream made before the audit log was compressed is updated in place.
func TestStreamCompressionUpdated(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	js := st.JetStream()
	old := audit.StreamConfig(0, 1)
	old.Compression = jetstream.NoCompression
	if _, err := js.CreateStream(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	s, err := audit.EnsureStream(t.Context(), js, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo().Config.Compression; c != jetstream.S2Compression {
		t.Fatalf("compression %v after the update", c)
	}
}
