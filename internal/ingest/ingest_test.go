package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/clock/clocktest"
	"github.com/conveyor/conveyor/internal/identity"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// fakeStore records what PutEvents publishes, bus by bus, and fails when told to.
type fakeStore struct {
	mu        sync.Mutex
	published map[string][][]byte
	calls     int
	fail      error
}

func (f *fakeStore) PublishEvents(_ context.Context, bus string, msgs []store.Message) ([]error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return nil, f.fail
	}
	for _, m := range msgs {
		f.published[bus] = append(f.published[bus], m.Data)
	}
	return nil, nil
}

func (f *fakeStore) EnsureBus(context.Context, string) (jetstream.Stream, error) { return nil, nil }

var (
	home  = scope.Scope{Account: "111111111111", Region: "us-east-1"}
	other = scope.Scope{Account: "222222222222", Region: "us-east-1"}
	at    = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
)

func newIngest(t *testing.T) (*Ingest, *fakeStore, *catalog.Catalog) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat, err := catalog.Open(context.Background(), storetest.Open(t).JetStream(), catalog.Config{Account: home.Account, Region: home.Region, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cat.Close)
	fs := &fakeStore{published: map[string][][]byte{}}
	in, err := New(Config{Store: fs, Catalog: cat, Account: home.Account, Region: home.Region, TrustedKeys: []string{"AKIDTRUSTED"},
		Clock: clocktest.New(at), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return in, fs, cat
}

func callerIn(sc scope.Scope, key string) context.Context {
	return awsapi.ContextWithCaller(context.Background(), awsapi.Caller{AccessKeyID: key, Account: sc.Account, Region: sc.Region,
		RequestID: "r", Identity: &identity.Principal{ARN: "arn:aws:iam::" + sc.Account + ":user/" + strings.ToLower(key)}})
}

func entry(bus, source string) Entry {
	return Entry{EventBusName: bus, Source: source, DetailType: "t", Detail: `{"n":1}`}
}

// PutEvents stamps each entry in the caller's scope, groups entries by bus into one publish
// each, makes the scope's default bus on first use, and answers each entry on its own.
func TestPutEvents(t *testing.T) {
	in, fs, cat := newIngest(t)
	if _, err := cat.In(home).CreateBus(context.Background(), catalog.Bus{Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	out, err := in.PutEvents(callerIn(home, "AKIDALICE"), &PutEventsInput{Entries: []Entry{
		entry("", "app"), entry("orders", "app"), entry("", "app"), entry("missing", "app"), entry("", "aws.ec2"),
		entry("arn:aws:events:us-east-1:111111111111:event-bus/orders", "app"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]string, len(out.Entries))
	for i, e := range out.Entries {
		codes[i] = e.ErrorCode
		if e.ErrorCode == "" && e.EventId == "" {
			t.Errorf("entry %d has neither an id nor an error", i)
		}
	}
	// An entry for a bus that does not exist is accepted, as EventBridge accepts it, and
	// stored nowhere.
	want := []string{"", "", "", "", "NotAuthorizedForSourceException", ""}
	if strings.Join(codes, ",") != strings.Join(want, ",") || out.FailedEntryCount != 1 {
		t.Errorf("codes %q (failed %d), want %q", codes, out.FailedEntryCount, want)
	}
	if fs.calls != 2 || len(fs.published["default"]) != 2 || len(fs.published["orders"]) != 2 {
		t.Errorf("published %d times: %d on default, %d on orders", fs.calls, len(fs.published["default"]), len(fs.published["orders"]))
	}
	var ev struct {
		Account, Region, Source, Time string
		Detail                        struct{ N int }
	}
	if err := json.Unmarshal(fs.published["default"][0], &ev); err != nil || ev.Account != home.Account || ev.Region != home.Region ||
		ev.Time != "2026-12-05T10:00:00Z" || ev.Detail.N != 1 {
		t.Errorf("event %s", fs.published["default"][0])
	}
	// A trusted key may put aws.* sources.
	out, _ = in.PutEvents(callerIn(home, "AKIDTRUSTED"), &PutEventsInput{Entries: []Entry{entry("", "aws.ec2")}})
	if out.FailedEntryCount != 0 {
		t.Errorf("trusted key: %+v", out.Entries)
	}
	// A scope used for the first time gets its default bus.
	out, _ = in.PutEvents(callerIn(other, "AKIDBOB"), &PutEventsInput{Entries: []Entry{entry("", "app")}})
	if out.FailedEntryCount != 0 || len(fs.published[cat.BusID(other, "default")]) != 1 {
		t.Errorf("another scope's first event: %+v, published %v", out.Entries, fs.published)
	}
	if _, err := cat.In(other).Bus(context.Background(), "default"); err != nil {
		t.Errorf("the other scope's default bus: %v", err)
	}
}

// A store that fails answers InternalFailure for the entries it did not take, and nothing else.
func TestPutEventsStoreFails(t *testing.T) {
	in, fs, _ := newIngest(t)
	fs.fail = errors.New("disk full")
	out, err := in.PutEvents(callerIn(home, "AKIDALICE"), &PutEventsInput{Entries: []Entry{entry("", "app"), entry("", "aws.ec2")}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Entries[0].ErrorCode != "InternalFailure" || out.Entries[1].ErrorCode != "NotAuthorizedForSourceException" || out.FailedEntryCount != 2 {
		t.Errorf("answer %+v", out)
	}
}

// Another account's bus takes events by ARN only when its policy allows the caller's account.
func TestPutEventsOtherAccount(t *testing.T) {
	in, fs, cat := newIngest(t)
	ctx := context.Background()
	b, err := cat.In(other).CreateBus(ctx, catalog.Bus{Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	put := func() PutEventsResultEntry {
		out, err := in.PutEvents(callerIn(home, "AKIDALICE"), &PutEventsInput{Entries: []Entry{entry(b.ARN, "app")}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Entries[0]
	}
	if e := put(); e.ErrorCode != "AccessDeniedException" ||
		e.ErrorMessage != "User: arn:aws:iam::111111111111:user/akidalice is not authorized to perform: events:PutEvents on resource: "+b.ARN+
			" because no resource-based policy allows the events:PutEvents action" {
		t.Errorf("without a policy: %+v", e)
	}
	if _, err := cat.In(other).UpdateBus(ctx, "shared", func(b *catalog.Bus) error {
		b.Policy = `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"events:PutEvents","Resource":"` + b.ARN + `"}]}`
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if e := put(); e.EventId == "" {
		t.Errorf("with the policy: %+v", e)
	}
	id := cat.BusID(other, "shared")
	if len(fs.published[id]) != 1 || !strings.Contains(string(fs.published[id][0]), `"account":"111111111111"`) {
		t.Errorf("published on %s: %q", id, fs.published[id])
	}
}

// A store that does not answer, and so stored nothing, fails the call as a
// whole with ServiceUnavailable (503), which SDKs retry.
func TestPutEventsStoreUnavailable(t *testing.T) {
	in, fs, _ := newIngest(t)
	fs.fail = fmt.Errorf("store: publish events on bus %q: %w", "default", jetstream.ErrAsyncPublishTimeout)
	out, err := in.PutEvents(callerIn(home, "AKIDALICE"), &PutEventsInput{Entries: []Entry{entry("", "app"), entry("", "aws.ec2")}})
	var ae *awsapi.Error
	if !errors.As(err, &ae) || ae.Code != awsapi.CodeServiceUnavailable || ae.Status != 503 {
		t.Errorf("PutEvents with the store unavailable: %+v, %v; want ServiceUnavailable (503)", out, err)
	}
}
