package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

func apiCall(op, requestID, body string) *awsapi.Call {
	return &awsapi.Call{Service: "events", Operation: op, Target: "AWSEvents." + op, Request: []byte(body),
		Caller: awsapi.Caller{AccessKeyID: "AKIATEST", RequestID: requestID, SourceIP: "127.0.0.1", UserAgent: "test"},
		Start:  time.Now()}
}

func intents(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(t.Context(), audit.IntentStreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// waitIntents waits until the journal holds want intents.
func waitIntents(t *testing.T, js jetstream.JetStream, want uint64) {
	t.Helper()
	waitfor.Err(t, waitfor.Timeout, fmt.Sprintf("%d intents in the journal", want), func() error {
		if got := intents(t, js); got != want {
			return fmt.Errorf("the journal holds %d", got)
		}
		return nil
	})
}

// A call journaled and then abandoned (its process died before the record
// was stored) is recorded by the next process's first sweep, once, with its
// parameters and a note that its outcome is unknown; a call that answered
// leaves no intent behind and is recorded once; read-only calls and data
// events are not journaled.
func TestJournalRecordsCallsOfADeadProcess(t *testing.T) {
	st := storetest.Open(t)
	js := st.JetStream()
	path := filepath.Join(t.TempDir(), "index.db")
	a, err := audit.New(t.Context(), audit.Options{Config: cfg, Store: st, IndexPath: path, Logger: quiet, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Answered: intent, then the record before the answer.
	done := apiCall("PutRule", "req-done", `{"Name":"done"}`)
	if err := a.Journal().Intend(ctx, done); err != nil {
		t.Fatal(err)
	}
	done.Output = map[string]string{"RuleArn": "arn:aws:events:us-east-1:123456789012:rule/done"}
	a.Recorder().Commit(ctx, done)
	// Abandoned: the process dies after the intent, before the record.
	dead := apiCall("DeleteRule", "req-dead", `{"Name":"dead"}`)
	if err := a.Journal().Intend(ctx, dead); err != nil {
		t.Fatal(err)
	}
	// Not journaled.
	for _, c := range []*awsapi.Call{apiCall("ListRules", "req-list", `{}`), apiCall("PutEvents", "req-put", `{"Entries":[]}`)} {
		if err := a.Journal().Intend(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	waitIntents(t, js, 1) // the answered call's intent is gone; the dead one's stays
	closeAudit(t, a)

	a2, err := audit.New(t.Context(), audit.Options{Config: cfg, Store: st, IndexPath: path, Logger: quiet, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAudit(t, a2)
	count(t, a2.Index(), "DeleteRule", 1)
	count(t, a2.Index(), "PutRule", 1)
	waitIntents(t, js, 0)
	p, err := a2.Index().Lookup(ctx, audit.Query{Attribute: audit.AttrEventID, Value: audit.EventIDOf("req-dead"), Limit: 5})
	if err != nil || len(p.Results) != 1 {
		t.Fatalf("the dead call's record by its eventID: %v, %v", p, err)
	}
	rec := p.Results[0].Record
	if rec.EventName != "DeleteRule" || rec.RequestID != "req-dead" || !strings.Contains(string(rec.RequestParameters), `"dead"`) {
		t.Errorf("recovered record: %+v", rec)
	}
	var note map[string]string
	if err := json.Unmarshal(rec.AdditionalEventData, &note); err != nil || note["conveyorOutcome"] != "unknown" {
		t.Errorf("additionalEventData = %s, %v", rec.AdditionalEventData, err)
	}
	if a2.Journal().Recovered() != 1 {
		t.Errorf("recovered %d records, want 1", a2.Journal().Recovered())
	}
}

// An intent whose record was stored (the process died before deleting the
// intent) is deleted by the sweep without a second record; a sweep of a
// process sharing the store leaves intents younger than the grace period.
func TestJournalSweep(t *testing.T) {
	st := storetest.Open(t)
	js := st.JetStream()
	a := newAudit(t, st, filepath.Join(t.TempDir(), "index.db"))
	defer closeAudit(t, a)
	ctx := context.Background()

	young := apiCall("CreateEventBus", "req-young", `{"Name":"young"}`)
	if err := a.Journal().Intend(ctx, young); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Journal().Sweep(ctx, time.Now().Add(-time.Minute)); err != nil || n != 0 {
		t.Fatalf("sweep of young intents: %d, %v", n, err)
	}
	if intents(t, js) != 1 {
		t.Fatalf("a young intent was swept")
	}
	// Its record is stored by another path (as after a lost deletion).
	a.Recorder().CommitCall(ctx, audit.FromAPICall(young))
	count(t, a.Index(), "CreateEventBus", 1)
	if n, err := a.Journal().Sweep(ctx, time.Now().Add(time.Second)); err != nil || n != 0 {
		t.Fatalf("sweep: %d records added, %v; want 0", n, err)
	}
	waitIntents(t, js, 0)
	count(t, a.Index(), "CreateEventBus", 1)
}

// A call whose intent cannot be stored is refused, and its handler does not
// run.
func TestIntentRefusesWhenJournalIsDown(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	js := st.JetStream()
	a := newAudit(t, st, filepath.Join(t.TempDir(), "index.db"))
	defer closeAudit(t, a)
	if err := js.DeleteStream(t.Context(), audit.IntentStreamName); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.Journal().Intend(ctx, apiCall("DeleteRule", "req-x", `{"Name":"x"}`)); err == nil {
		t.Fatal("Intend succeeded with no journal")
	}
	if err := a.Journal().Intend(ctx, apiCall("DescribeRule", "req-y", `{"Name":"x"}`)); err != nil {
		t.Fatalf("a read-only call was refused: %v", err)
	}
}

// An intent is as small as the record will be: a legal call with a request
// near 1 MiB (PutTargets' bound) is journaled, and its recovered record has
// its parameters omitted as CloudTrail omits them.
func TestIntentOfLargeCall(t *testing.T) {
	st := storetest.Open(t)
	path := filepath.Join(t.TempDir(), "index.db")
	a, err := audit.New(t.Context(), audit.Options{Config: cfg, Store: st, IndexPath: path, Logger: quiet, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"Rule":"r","Targets":[{"Id":"1","Arn":"arn:aws:sqs:us-east-1:123456789012:q","Input":"` + strings.Repeat("x", 1000_000) + `"}]}`
	if err := a.Journal().Intend(context.Background(), apiCall("PutTargets", "req-big", big)); err != nil {
		t.Fatalf("a legal call near 1 MiB was refused: %v", err)
	}
	closeAudit(t, a)
	a2, err := audit.New(t.Context(), audit.Options{Config: cfg, Store: st, IndexPath: path, Logger: quiet, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAudit(t, a2)
	count(t, a2.Index(), "PutTargets", 1)
	p, err := a2.Index().Lookup(context.Background(), audit.Query{Attribute: audit.AttrEventName, Value: "PutTargets", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(p.Results[0].Record.RequestParameters); got != string(audit.Omitted) {
		t.Errorf("requestParameters = %.100s", got)
	}
}

// An intent stored by a Conveyor from before intents were records (a Call,
// as encoding/json writes it) is still recorded by the sweep after an
// upgrade, with its outcome unknown; an unreadable intent is dropped.
func TestJournalRecoversIntentsOfBefore(t *testing.T) {
	st := storetest.Open(t)
	path := filepath.Join(t.TempDir(), "index.db")
	a := newAudit(t, st, path) // creates the journal's stream
	closeAudit(t, a)
	id := audit.EventIDOf("req-before")
	old, err := json.Marshal(audit.Call{Service: "events", Operation: "DeleteRule", AccessKeyID: "AKIATEST",
		Region: "us-east-1", RequestID: "req-before", EventID: id, Parameters: json.RawMessage(`{"name":"before"}`),
		Resources: []audit.Resource{{Type: audit.TypeRule, ARN: "arn:aws:events:us-east-1:123456789012:rule/before"}},
		Time:      time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	js := st.JetStream()
	for subject, data := range map[string][]byte{"conveyor.auditintent." + id: old, "conveyor.auditintent.x": []byte(`{"eventVersion":`)} {
		if _, err := js.Publish(t.Context(), subject, data); err != nil {
			t.Fatal(err)
		}
	}
	a2, err := audit.New(t.Context(), audit.Options{Config: cfg, Store: st, IndexPath: path, Logger: quiet, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAudit(t, a2)
	count(t, a2.Index(), "DeleteRule", 1)
	waitIntents(t, js, 0)
	p, err := a2.Index().Lookup(t.Context(), audit.Query{Attribute: audit.AttrEventID, Value: id, Limit: 5})
	if err != nil || len(p.Results) != 1 {
		t.Fatalf("the record by its eventID: %v, %v", p, err)
	}
	rec := p.Results[0].Record
	if string(rec.RequestParameters) != `{"name":"before"}` || len(rec.Resources) != 1 ||
		!strings.Contains(string(rec.AdditionalEventData), `"conveyorOutcome":"unknown"`) {
		t.Errorf("recovered record: %+v", rec)
	}
}

// The intents of calls made at once are stored as one journal message,
// which goes once all their records are stored; if the process dies
// first, the next one records the calls whose records are missing, each
// once. A call from outside awsapi (IntendCall) stores its intent alone.
func TestJournalStoresIntentsTogether(t *testing.T) {
	st := storetest.Open(t)
	js := st.JetStream()
	path := filepath.Join(t.TempDir(), "index.db")
	open := func() *audit.Audit {
		a, err := audit.New(t.Context(), audit.Options{Config: cfg, Store: st, IndexPath: path, Logger: quiet, Exclusive: true})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// intendTogether has the journal store the intents of n calls at once.
	intendTogether := func(a *audit.Audit, prefix string, n int) []*awsapi.Call {
		release := a.Journal().HoldIntents()
		calls := make([]*awsapi.Call, n)
		errs := make(chan error, n)
		for i := range calls {
			calls[i] = apiCall("DeleteRule", fmt.Sprint(prefix, i), fmt.Sprintf(`{"Name":"%s%d"}`, prefix, i))
			go func() { errs <- a.Journal().Intend(context.Background(), calls[i]) }()
		}
		// Meanwhile, a call from outside awsapi is not held.
		if err := a.Journal().IntendCall(t.Context(), audit.Call{Service: "events", Operation: "DeleteRule",
			RequestID: prefix + "alone", EventID: audit.EventIDOf(prefix + "alone")}); err != nil {
			t.Fatal(err)
		}
		release(t, n)
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		return calls
	}
	answer := func(a *audit.Audit, c *awsapi.Call) {
		c.Output = map[string]any{}
		a.Recorder().Commit(context.Background(), c)
	}

	a := open()
	calls := intendTogether(a, "req-b", 5)
	waitIntents(t, js, 2) // the five together, and the one alone
	s, err := js.Stream(t.Context(), audit.IntentStreamName)
	if err != nil {
		t.Fatal(err)
	}
	// The batch is on the subject of the call that led it, whichever came first.
	batches := 0
	for _, c := range calls {
		m, err := s.GetLastMsgForSubject(t.Context(), "conveyor.auditintent."+audit.EventIDOf(c.Caller.RequestID))
		switch {
		case err == nil && store.IsBatch(m.Data):
			batches++
		case err == nil:
			t.Errorf("%s's subject holds an intent alone", c.Caller.RequestID)
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			t.Fatal(err)
		}
	}
	if batches != 1 {
		t.Fatalf("%d subjects of the five calls hold a batch, want 1", batches)
	}
	for _, c := range calls[:3] {
		answer(a, c)
	}
	count(t, a.Index(), "DeleteRule", 3)
	if got := intents(t, js); got != 2 {
		t.Fatalf("%d intents after three of five answered, want the batch and the one alone", got)
	}
	closeAudit(t, a) // dies with two calls of the batch, and the one alone, in flight

	a = open()
	count(t, a.Index(), "DeleteRule", 6)
	waitIntents(t, js, 0)
	if got := a.Journal().Recovered(); got != 3 {
		t.Errorf("recovered %d records, want 3", got)
	}
	for i, c := range calls {
		p, err := a.Index().Lookup(t.Context(), audit.Query{Attribute: audit.AttrEventID, Value: audit.EventIDOf(c.Caller.RequestID), Limit: 5})
		if err != nil || len(p.Results) != 1 {
			t.Fatalf("call %d's records: %v, %v", i, p, err)
		}
		if unknown := p.Results[0].Record.AdditionalEventData != nil; unknown != (i >= 3) {
			t.Errorf("call %d's record: outcome unknown %v, want %v", i, unknown, i >= 3)
		}
	}

	// All answered: the batch goes.
	calls = intendTogether(a, "req-c", 4)
	for _, c := range calls {
		answer(a, c)
	}
	a.Recorder().CommitCall(t.Context(), audit.Call{Service: "events", Operation: "DeleteRule",
		RequestID: "req-calone", EventID: audit.EventIDOf("req-calone")})
	waitIntents(t, js, 0)
	count(t, a.Index(), "DeleteRule", 11)
	closeAudit(t, a)
}
