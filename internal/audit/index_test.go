package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

var (
	genOps   = []string{"PutRule", "DeleteRule", "DescribeRule", "ListRules", "PutTargets", "CreateEventBus", "TagResource", "LookupEvents", "CreateQueue", "PutEvents"}
	genKeys  = []string{"AKIAALICE", "AKIAROOT", "AKIABOB", ""}
	genNames = []string{"orders", "billing", "audit-trail", "stopped-instances"}
)

// genCall makes a varied call at time t.
func genCall(r *rand.Rand, t time.Time) Call {
	op := genOps[r.IntN(len(genOps))]
	name := genNames[r.IntN(len(genNames))]
	c := Call{Operation: op, Service: "events", AccessKeyID: genKeys[r.IntN(len(genKeys))],
		SourceIP: "127.0.0.1", UserAgent: "test", RequestID: strconv.Itoa(r.Int()), Time: t}
	switch op {
	case "PutRule", "DeleteRule", "DescribeRule":
		c.Request = fmt.Appendf(nil, `{"Name":%q,"EventBusName":%q}`, name, []string{"default", "shop"}[r.IntN(2)])
	case "PutTargets":
		c.Request = fmt.Appendf(nil, `{"Rule":%q,"Targets":[{"Id":"1","Arn":"arn:aws:sqs:us-east-1:123456789012:q"}]}`, name)
	case "CreateEventBus":
		c.Request = fmt.Appendf(nil, `{"Name":%q}`, name)
	case "TagResource":
		c.Request = fmt.Appendf(nil, `{"ResourceARN":"arn:aws:events:us-east-1:123456789012:rule/%s","Tags":[]}`, name)
	case "LookupEvents":
		c.Service = "cloudtrail"
		c.Request = []byte(`{}`)
	case "CreateQueue":
		c.Service = "sqs"
		c.Request = fmt.Appendf(nil, `{"QueueName":%q}`, name)
	case "PutEvents":
		c.Request = []byte(`{"Entries":[{"Source":"a","DetailType":"b","Detail":"{}"}]}`)
	}
	if r.IntN(10) == 0 {
		c.ErrorCode, c.ErrorMessage = "ResourceNotFoundException", "gone"
	}
	return c
}

// history builds n records over the span before end, with several records
// per second, and returns them with their stream sequences (1…n).
func history(t testing.TB, n int, end time.Time, span time.Duration, dataEvents bool) []Entry {
	t.Helper()
	cfg := testConfig()
	cfg.DataEvents = dataEvents
	b, err := NewBuilder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var out []Entry
	for seq := uint64(1); len(out) < n; seq++ {
		at := end.Add(-time.Duration(r.Int64N(int64(span))))
		rec, ok := b.Build(genCall(r, at))
		if !ok {
			continue
		}
		raw, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Entry{Seq: uint64(len(out) + 1), Record: raw})
	}
	return out
}

func openTestIndex(t testing.TB) (*Index, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	ix, err := OpenIndex(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	// Epochs of a few rows: lookups read across many of them.
	ix.epochRows = 37
	return ix, path
}

// reference answers a query by scanning every entry.
func reference(entries []Entry, q Query) []uint64 {
	type hit struct {
		t   int64
		seq uint64
	}
	var hits []hit
	for _, e := range entries {
		rec, _ := ParseRecord(e.Record)
		if !rec.ManagementEvent {
			continue
		}
		t := rec.Time().Unix()
		if !q.Start.IsZero() && rec.Time().Before(q.Start) || !q.End.IsZero() && rec.Time().After(q.End) {
			continue
		}
		if q.Attribute != "" && !slices.Contains(lookupValues(rec), attrValue{q.Attribute, q.Value}) {
			continue
		}
		hits = append(hits, hit{t, uint64(e.ID())})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.t != b.t {
			return int(b.t - a.t)
		}
		return int(int64(b.seq) - int64(a.seq))
	})
	out := make([]uint64, len(hits))
	for i, h := range hits {
		out[i] = h.seq
	}
	return out
}

// all pages through a query.
func all(t *testing.T, ix *Index, q Query) []uint64 {
	t.Helper()
	var got []uint64
	for pages := 0; ; pages++ {
		p, err := ix.Lookup(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Results) > q.Limit {
			t.Fatalf("page of %d results, limit %d", len(p.Results), q.Limit)
		}
		for _, r := range p.Results {
			got = append(got, r.Seq)
		}
		if p.Next == nil {
			return got
		}
		if len(p.Results) != q.Limit {
			t.Fatalf("short page (%d of %d) with a next cursor", len(p.Results), q.Limit)
		}
		q.After = p.Next
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
	}
}

func TestIndexLookup(t *testing.T) {
	ctx := context.Background()
	ix, _ := openTestIndex(t)
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	entries := history(t, 200, end, 2*time.Minute, true)
	// Apply in uneven batches, one of them twice.
	if err := ix.Apply(ctx, entries[:7]); err != nil {
		t.Fatal(err)
	}
	if err := ix.Apply(ctx, entries[:100]); err != nil {
		t.Fatal(err)
	}
	if err := ix.Apply(ctx, entries[100:]); err != nil {
		t.Fatal(err)
	}
	if seq, err := ix.LastSeq(ctx); err != nil || seq != 200 {
		t.Fatalf("LastSeq = %d, %v; want 200", seq, err)
	}

	type tc struct {
		name string
		q    Query
	}
	cases := []tc{{name: "all", q: Query{}}}
	for _, a := range []struct {
		attr  Attribute
		value string
	}{
		{AttrEventName, "PutRule"}, {AttrEventName, "LookupEvents"}, {AttrEventName, "PutEvents"},
		{AttrReadOnly, "true"}, {AttrReadOnly, "false"},
		{AttrUsername, "alice"}, {AttrUsername, "root"}, {AttrUsername, "AKIABOB"},
		{AttrResourceType, TypeRule}, {AttrResourceType, TypeQueue}, {AttrResourceType, TypeEventBus},
		{AttrResourceName, "orders"}, {AttrResourceName, "arn:aws:events:us-east-1:123456789012:rule/shop/billing"},
		{AttrEventSource, "sqs.amazonaws.com"}, {AttrEventSource, "cloudtrail.amazonaws.com"},
		{AttrAccessKeyID, "AKIAROOT"}, {AttrAccessKeyID, "AKIANOBODY"},
	} {
		cases = append(cases, tc{name: string(a.attr) + "=" + a.value, q: Query{Attribute: a.attr, Value: a.value}})
	}
	// An EventId lookup finds exactly its record.
	rec, _ := ParseRecord(entries[123%len(entries)].Record)
	for rec.EventName == "PutEvents" {
		t.Fatal("entry 123 is a data event; pick another")
	}
	cases = append(cases, tc{name: "EventId", q: Query{Attribute: AttrEventID, Value: rec.EventID}})

	var withTimes []tc
	for _, c := range cases {
		withTimes = append(withTimes, c)
		r := c
		r.name += "/range"
		r.q.Start, r.q.End = end.Add(-100*time.Second), end.Add(-40*time.Second)
		withTimes = append(withTimes, r)
		s := c
		s.name += "/since"
		s.q.Start = end.Add(-30 * time.Second).Add(500 * time.Millisecond)
		withTimes = append(withTimes, s)
		u := c
		u.name += "/until"
		u.q.End = end.Add(-110 * time.Second)
		withTimes = append(withTimes, u)
	}
	for i, c := range withTimes {
		t.Run(c.name, func(t *testing.T) {
			want := reference(entries, c.q)
			if c.q.Attribute == AttrEventName && c.q.Value == "PutEvents" && len(want) != 0 {
				t.Fatal("data events are in the reference")
			}
			// Small pages (many cursors) and whole pages, alternately.
			q := c.q
			q.Limit = []int{4, 50}[i%2]
			got := all(t, ix, q)
			if !slices.Equal(got, want) {
				t.Fatalf("limit %d: got %d records %v\nwant %d %v", q.Limit, len(got), head(got), len(want), head(want))
			}
		})
	}
	if got := reference(entries, Query{Attribute: AttrEventID, Value: rec.EventID}); len(got) != 1 {
		t.Fatalf("EventId lookup found %d records", len(got))
	}
}

func head(s []uint64) []uint64 { return s[:min(len(s), 12)] }

func TestIndexExpire(t *testing.T) {
	ctx := context.Background()
	ix, _ := openTestIndex(t)
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	entries := history(t, 400, end, 100*24*time.Hour, false)
	if err := ix.Apply(ctx, entries); err != nil {
		t.Fatal(err)
	}
	cutoff := end.Add(-90 * 24 * time.Hour)
	n, err := ix.Expire(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	wantGone := len(reference(entries, Query{End: cutoff.Add(-time.Second)}))
	if n != wantGone || n == 0 {
		t.Fatalf("expired %d records, want %d", n, wantGone)
	}
	kept := reference(entries, Query{Start: cutoff})
	if got := all(t, ix, Query{Limit: 50}); !slices.Equal(got, kept) {
		t.Fatalf("after expiry: %d records, want %d", len(got), len(kept))
	}
	if got := all(t, ix, Query{Limit: 50, Attribute: AttrReadOnly, Value: "false"}); !slices.Equal(got,
		reference(entries, Query{Start: cutoff, Attribute: AttrReadOnly, Value: "false"})) {
		t.Fatal("attribute lookup sees expired records")
	}
	// No lookup row of an expired record is left behind.
	var orphans int
	if err := ix.r.QueryRowContext(ctx, `SELECT count(*) FROM lookup WHERE time < ?`, cutoff.Unix()).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Fatalf("%d lookup rows of expired records left", orphans)
	}
	// Nor a group of expired records only.
	var groups int
	if err := ix.r.QueryRowContext(ctx, `SELECT count(*) FROM groups WHERE tmax < ?`, cutoff.Unix()).Scan(&groups); err != nil {
		t.Fatal(err)
	}
	if groups != 0 {
		t.Fatalf("%d groups of expired records left", groups)
	}
	if n, err := ix.Expire(ctx, cutoff); err != nil || n != 0 {
		t.Fatalf("second expiry removed %d, %v", n, err)
	}
}

func TestIndexReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	ix, err := OpenIndex(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries := history(t, 20, time.Now(), time.Hour, false)
	if err := ix.Apply(ctx, entries); err != nil {
		t.Fatal(err)
	}
	ix.Close()

	// Reopened: same position.
	ix, err = OpenIndex(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if seq, _ := ix.LastSeq(ctx); seq != 20 {
		t.Fatalf("reopened at %d, want 20", seq)
	}
	// Another schema version: started afresh.
	if _, err := ix.w.ExecContext(ctx, `UPDATE meta SET value = 'old' WHERE key = 'schema'`); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	ix, err = OpenIndex(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if seq, _ := ix.LastSeq(ctx); seq != 0 {
		t.Fatalf("index of another schema kept position %d", seq)
	}
	if p, err := ix.Lookup(ctx, Query{Limit: 5}); err != nil || len(p.Results) != 0 {
		t.Fatalf("index of another schema kept records: %v %v", p, err)
	}
}

// Once the index has applied learnSize bytes of records it compresses the
// later ones with a dictionary made of them; records of both dictionaries
// are read, also after the index is reopened.
func TestIndexLearnsDictionary(t *testing.T) {
	ctx := context.Background()
	ix, path := openTestIndex(t)
	entries := history(t, 400, time.Now(), time.Hour, false)
	for i := 0; i < len(entries); i += 50 {
		if err := ix.Apply(ctx, entries[i:i+50]); err != nil {
			t.Fatal(err)
		}
	}
	var learned []byte
	if err := ix.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'learned'`).Scan(&learned); err != nil || len(learned) != learnSize {
		t.Fatalf("learned dictionary of %d bytes, %v", len(learned), err)
	}
	var first, last []byte
	if err := ix.r.QueryRowContext(ctx, `SELECT data FROM groups ORDER BY first LIMIT 1`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if err := ix.r.QueryRowContext(ctx, `SELECT data FROM groups ORDER BY first DESC LIMIT 1`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if first[0] != dictID || last[0] != learnedDictID {
		t.Fatalf("first group compressed with dictionary %d, last with %d", first[0], last[0])
	}
	want := reference(entries, Query{})
	if got := all(t, ix, Query{Limit: 50}); !slices.Equal(got, want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	ix.Close()
	ix, err := OpenIndex(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if got := all(t, ix, Query{Limit: 50}); !slices.Equal(got, want) {
		t.Fatalf("reopened: %d records, want %d", len(got), len(want))
	}
}

// A record found by a hashed value's key is answered only if it has the
// value: another value of the same hash is read past, and paging goes on
// after it.
func TestIndexHashCollision(t *testing.T) {
	ctx := context.Background()
	ix, _ := openTestIndex(t)
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	entries := history(t, 100, end, time.Hour, false)
	if err := ix.Apply(ctx, entries); err != nil {
		t.Fatal(err)
	}
	q := Query{Attribute: AttrUsername, Value: "AKIABOB"}
	want := reference(entries, q)
	// Every other record is listed under AKIABOB's key too, as a collision
	// would list it.
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT scope, tmax, smax, data FROM chunks WHERE key = ?`, allKey)
	if err != nil {
		t.Fatal(err)
	}
	others := make(map[chunkKey][]posting)
	for rows.Next() {
		var (
			sc   int64
			top  posting
			data []byte
		)
		if err := rows.Scan(&sc, &top.time, &top.seq, &data); err != nil {
			t.Fatal(err)
		}
		ps, err := parseChunk(top, data)
		if err != nil {
			t.Fatal(err)
		}
		k := chunkKey{hashKey(AttrUsername, "AKIABOB"), sc}
		for _, p := range ps {
			if !slices.Contains(want, uint64(p.seq)) {
				others[k] = append(others[k], p)
			}
		}
	}
	rows.Close()
	if err := writeChunks(ctx, tx, others); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 3, 50} {
		q.Limit = limit
		var got []uint64
		for {
			p, err := ix.Lookup(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Results {
				got = append(got, r.Seq)
			}
			if p.Next == nil {
				break
			}
			q.After = p.Next
		}
		q.After = nil
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: got %v, want %v", limit, head(got), head(want))
		}
	}
}

// An EventId is found whatever the day of its record, with a scope or
// without, and not outside the time range asked for.
func TestIndexEventIDDays(t *testing.T) {
	ctx := context.Background()
	ix, _ := openTestIndex(t)
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	entries := history(t, 300, end, 100*24*time.Hour, false)
	if err := ix.Apply(ctx, entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		rec, _ := ParseRecord(e.Record)
		if !rec.ManagementEvent {
			continue
		}
		for _, q := range []Query{
			{Attribute: AttrEventID, Value: rec.EventID, Limit: 2},
			{Attribute: AttrEventID, Value: rec.EventID, Limit: 2, Scope: rec.Scope().String()},
			{Attribute: AttrEventID, Value: rec.EventID, Limit: 2, Start: rec.Time().Add(-time.Minute), End: rec.Time()},
		} {
			p, err := ix.Lookup(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Results) != 1 || p.Results[0].Seq != uint64(e.ID()) {
				t.Fatalf("%+v: %d results", q, len(p.Results))
			}
		}
		p, err := ix.Lookup(ctx, Query{Attribute: AttrEventID, Value: rec.EventID, Limit: 2, Start: rec.Time().Add(time.Second)})
		if err != nil || len(p.Results) != 0 {
			t.Fatalf("found after its time: %d results, %v", len(p.Results), err)
		}
		present, err := ix.Present(ctx, rec.Scope().String(), []*Record{rec}, 0)
		if err != nil || !present[rec.EventID] {
			t.Fatalf("Present: %v %v", present, err)
		}
	}
}

// Epochs (see rowKey) are written in the order records are applied, not
// in time order: records of an older time applied after newer ones (an
// import) are in a later epoch. Lookups by the values with lookup rows
// page through them in time order all the same.
func TestIndexEpochsOutOfTimeOrder(t *testing.T) {
	ctx := context.Background()
	ix, path := openTestIndex(t)
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var entries []Entry
	for _, at := range []time.Time{end, end.Add(-48 * time.Hour), end.Add(-time.Hour), end.Add(-72 * time.Hour)} {
		for _, e := range history(t, 120, at, 30*time.Minute, false) {
			e.Seq = uint64(len(entries) + 1)
			entries = append(entries, e)
		}
	}
	for i := 0; i < len(entries); i += 25 {
		if err := ix.Apply(ctx, entries[i:min(len(entries), i+25)]); err != nil {
			t.Fatal(err)
		}
	}
	var eps int
	if err := ix.r.QueryRowContext(ctx, `SELECT count(*) FROM epochs`).Scan(&eps); err != nil || eps < 10 {
		t.Fatalf("%d epochs, %v", eps, err)
	}
	rec, _ := ParseRecord(entries[200].Record)
	for _, q := range []Query{
		{Attribute: AttrResourceName, Value: "orders"},
		{Attribute: AttrResourceName, Value: "arn:aws:events:us-east-1:123456789012:rule/shop/billing"},
		{Attribute: AttrResourceName, Value: "orders", Start: end.Add(-50 * time.Hour), End: end.Add(-30 * time.Minute)},
		{Attribute: AttrResourceName, Value: "orders", Scope: rec.Scope().String()},
		{Attribute: AttrEventID, Value: rec.EventID},
		{Attribute: AttrEventID, Value: rec.EventID, Start: rec.Time()},
		{Attribute: AttrEventID, Value: rec.EventID, End: rec.Time().Add(-time.Second)},
	} {
		want := reference(entries, q)
		if q.Attribute == AttrResourceName && len(want) < 20 {
			t.Fatalf("%+v: the history has %d records of it", q, len(want))
		}
		for _, limit := range []int{1, 3, 50} {
			q.Limit = limit
			if got := all(t, ix, q); !slices.Equal(got, want) {
				t.Fatalf("%+v: got %d records %v\nwant %d %v", q, len(got), head(got), len(want), head(want))
			}
		}
	}
	// Reopened, the index reads its epochs again.
	ix.Close()
	ix, err := OpenIndex(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	q := Query{Attribute: AttrResourceName, Value: "orders", Limit: 3}
	if got, want := all(t, ix, q), reference(entries, q); !slices.Equal(got, want) {
		t.Fatalf("reopened: got %d records, want %d", len(got), len(want))
	}
}

// Chunks (see chunks.go) split at an hour and at maxChunk records, and
// grow as records come one at a time: lookups over many hours of records
// applied one by one and in batches find what the reference finds.
func TestIndexChunks(t *testing.T) {
	ctx := context.Background()
	ix, _ := openTestIndex(t)
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	entries := history(t, 1500, end, 30*time.Hour, true)
	for i := 0; i < 200; i++ {
		if err := ix.Apply(ctx, entries[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 200; i < len(entries); i += 137 {
		if err := ix.Apply(ctx, entries[i:min(i+137, len(entries))]); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []struct {
		attr  Attribute
		value string
	}{
		{AttrEventName, "PutRule"}, {AttrReadOnly, "true"}, {AttrReadOnly, "false"}, {AttrUsername, "alice"},
		{AttrResourceType, TypeRule}, {AttrEventSource, "sqs.amazonaws.com"}, {AttrAccessKeyID, "AKIAROOT"},
	} {
		for _, r := range [][2]time.Time{{}, {end.Add(-20 * time.Hour), end.Add(-17*time.Hour - 30*time.Minute)}, {end.Add(-29 * time.Hour), {}}} {
			q := Query{Attribute: a.attr, Value: a.value, Start: r[0], End: r[1]}
			want := reference(entries, q)
			for _, limit := range []int{3, 50} {
				q.Limit = limit
				if got := all(t, ix, q); !slices.Equal(got, want) {
					t.Fatalf("%s=%s %v limit %d: got %d records %v\nwant %d %v", a.attr, a.value, r, limit, len(got), head(got), len(want), head(want))
				}
			}
		}
	}
}

func TestChunkEncoding(t *testing.T) {
	ps := []posting{{100, 50}, {100, 49}, {99, 60}, {40, 61}, {40, 2}, {-5, 1 << 40}}
	got, err := parseChunk(ps[0], appendChunk(nil, ps))
	if err != nil || !slices.Equal(got, ps) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := parseChunk(ps[0], []byte{0x80}); err == nil {
		t.Fatal("a corrupt chunk read")
	}
}

// Present finds the records in the history whatever their time; a batch of
// records of a time when the history holds none but the caller's own (from
// sequence own on) is answered without a lookup, and finds nothing.
func TestPresentOwn(t *testing.T) {
	ctx := context.Background()
	ix, _ := openTestIndex(t)
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	entries := history(t, 300, end, 48*time.Hour, false)
	if err := ix.Apply(ctx, entries); err != nil {
		t.Fatal(err)
	}
	const sc = "123456789012/us-east-1"
	var old []*Record
	var last Entry
	for _, e := range entries {
		rec, _ := ParseRecord(e.Record)
		if rec.ManagementEvent && rec.Scope().String() == sc {
			old = append(old, rec)
			last = e
		}
	}
	if len(old) < 10 {
		t.Fatalf("%d records of one scope", len(old))
	}
	lastRec := old[len(old)-1]
	for _, r := range old[:len(old)-1] {
		if r.EventTime == lastRec.EventTime {
			t.Fatalf("two records of %s", r.EventTime)
		}
	}
	fresh := *old[0]
	fresh.EventID = "not-in-the-history"
	elsewhen := fresh
	elsewhen.EventID, elsewhen.EventTime = "of-another-year", "2020-01-01T00:00:00Z"
	for _, c := range []struct {
		name string
		recs []*Record
		own  uint64
		want []string
	}{
		{"all in the history", old, 0, eventIDs(old)},
		{"mixed with new ones", []*Record{&fresh, old[3], &elsewhen, old[7]}, 0, []string{old[3].EventID, old[7].EventID}},
		{"a time with the caller's own record only", []*Record{lastRec}, last.Seq, nil},
		{"the same, not the caller's", []*Record{lastRec}, last.Seq + 1, []string{lastRec.EventID}},
		{"a time without records", []*Record{&elsewhen}, 0, nil},
	} {
		got, err := ix.Present(ctx, sc, c.recs, c.own)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, id := range c.want {
			if got[id] {
				n++
			}
		}
		if n != len(c.want) || len(got) != len(c.want) {
			t.Errorf("%s: %d present, %d of the %d wanted", c.name, len(got), n, len(c.want))
		}
	}
}

func eventIDs(recs []*Record) []string {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.EventID)
	}
	return ids
}

// A message kept as it is (Entry.Frame) is the group of its records: no
// group holds records on both sides of it, a message none of whose records
// is indexed is not stored, and every record reads back.
func TestIndexKeepsFrames(t *testing.T) {
	ctx := context.Background()
	ix, path := openTestIndex(t)
	recs := history(t, 300, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), time.Hour, true)
	var dict []byte
	for _, e := range recs[:40] {
		dict = append(dict, e.Record...)
	}
	id := streamDictID(dict)
	if err := ix.keepStreamDict(ctx, id, dict, time.Now()); err != nil {
		t.Fatal(err)
	}
	enc := newImportCodec(id, dict, time.Now())
	defer enc.enc.Close()
	// Messages of 1 to 16 records; every third of several records is kept
	// as it is.
	r := rand.New(rand.NewPCG(3, 4))
	var entries []Entry
	seq := uint64(0)
	for i := 0; i < len(recs); {
		n := min(len(recs)-i, 1+r.IntN(16))
		seq++
		var items [][]byte
		for k := range n {
			entries = append(entries, Entry{Seq: seq, K: k, Record: recs[i+k].Record})
			items = append(items, recs[i+k].Record)
		}
		if n > 1 && seq%3 == 0 {
			entries[len(entries)-n].Frame = enc.enc.EncodeAll(store.AppendBatch(nil, items), nil)
		}
		i += n
	}
	// A message of data events only (of the history's records, the
	// PutEvents ones).
	seq++
	dataEvent := -1
	for i, e := range entries {
		if rec, _ := ParseRecord(e.Record); !rec.ManagementEvent {
			dataEvent = i
			break
		}
	}
	if dataEvent < 0 {
		t.Fatal("no data event in the history")
	}
	entries = append(entries, Entry{Seq: seq, K: 0, Record: entries[dataEvent].Record,
		Frame: enc.enc.EncodeAll(store.AppendBatch(nil, [][]byte{entries[dataEvent].Record}), nil)})
	for i := 0; i < len(entries); {
		j := min(len(entries), i+1+r.IntN(60))
		for j < len(entries) && entries[j].Seq == entries[j-1].Seq {
			j++ // whole messages
		}
		if err := ix.Apply(ctx, entries[i:j]); err != nil {
			t.Fatal(err)
		}
		i = j
	}
	// Groups do not overlap; some are frames; the last message is not
	// stored.
	rows, err := ix.r.QueryContext(ctx, `SELECT first, n, data FROM groups ORDER BY first`)
	if err != nil {
		t.Fatal(err)
	}
	frames, end := 0, int64(-1)
	for rows.Next() {
		var (
			first, n int64
			data     []byte
		)
		if err := rows.Scan(&first, &n, &data); err != nil {
			t.Fatal(err)
		}
		if first <= end {
			t.Fatalf("group %d begins before the one before it ends (%d)", first, end)
		}
		got, err := ix.z.Load().groupRecords(first, data)
		if err != nil {
			t.Fatal(err)
		}
		end = got[len(got)-1].seq
		if data[0] == frameGroup {
			frames++
		}
		if first == (Entry{Seq: seq}).ID() {
			t.Fatal("a message of data events only is stored")
		}
	}
	rows.Close()
	if frames == 0 {
		t.Fatal("no message kept as it is")
	}
	want := reference(entries, Query{})
	check := func(ix *Index) {
		t.Helper()
		if got := all(t, ix, Query{Limit: 7}); !slices.Equal(got, want) {
			t.Fatalf("got %d records %v, want %d %v", len(got), head(got), len(want), head(want))
		}
		byID := map[uint64][]byte{}
		for _, e := range entries {
			byID[uint64(e.ID())] = e.Record
		}
		p, err := ix.Lookup(ctx, Query{Limit: len(want)})
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range p.Results {
			if !bytes.Equal(res.JSON, byID[res.Seq]) {
				t.Fatalf("record %d reads %s, want %s", res.Seq, res.JSON, byID[res.Seq])
			}
		}
	}
	check(ix)
	// Reopened, the index has the dictionary.
	ix.Close()
	ix, err = OpenIndex(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	check(ix)
}

// An index waits for a dictionary missing from the bucket (a replica may
// lag behind the message that names it) for its patience, then skips the
// messages compressed with it, and does not ask again.
func TestIndexWaitsForDictionary(t *testing.T) {
	ctx := t.Context()
	st := storetest.Open(t)
	kv, err := ensureDictionaries(ctx, st.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := openTestIndex(t)
	ix.dictPatience = time.Hour
	dict := bytes.Repeat([]byte(`{"eventVersion":"1.09","eventSource":"s3.amazonaws.com"}`), 20)
	id := streamDictID(dict)
	// Another text under an ID is not taken for it, nor waited for.
	other := streamDictID(append(bytes.Clone(dict), 'x'))
	if _, err := kv.Put(ctx, strconv.FormatUint(uint64(other), 10), dict); err != nil {
		t.Fatal(err)
	}
	if err := ix.fetchStreamDict(ctx, st.JetStream(), other); err != nil {
		t.Fatalf("a damaged dictionary: %v", err)
	}
	if _, ok := ix.dicts[other]; ok {
		t.Fatal("a damaged dictionary is kept")
	}
	// A missing one is waited for, and taken once it is there.
	if err := ix.fetchStreamDict(ctx, st.JetStream(), id); err == nil {
		t.Fatal("a missing dictionary is not waited for")
	}
	if _, err := kv.Create(ctx, strconv.FormatUint(uint64(id), 10), dict); err != nil {
		t.Fatal(err)
	}
	if err := ix.fetchStreamDict(ctx, st.JetStream(), id); err != nil || !bytes.Equal(ix.dicts[id], dict) {
		t.Fatalf("dictionary %d: %v", id, err)
	}
	// After the index's patience, one still missing is skipped.
	ix.dictPatience = 0
	gone := id + 1
	if err := ix.fetchStreamDict(ctx, st.JetStream(), gone); err != nil {
		t.Fatalf("after its patience: %v", err)
	}
	if _, ok := ix.dicts[gone]; ok {
		t.Fatal("a missing dictionary is kept")
	}
}

// A dictionary compresses for the retention after it was made; then
// imports compress without one while they learn the next. At twice the
// retention and a day it leaves the bucket (not the current key) and the
// index; until then both keep it.
func TestDictionariesAge(t *testing.T) {
	ctx := t.Context()
	st := storetest.Open(t)
	kv, err := ensureDictionaries(ctx, st.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	const retention = 90 * 24 * time.Hour
	d := openImportDictionary(ctx, kv, retention, slog.New(slog.DiscardHandler))
	defer d.close()
	recs := history(t, 400, time.Now(), time.Hour, false)
	var imported []Imported
	for _, e := range recs {
		rec, err := ParseRecord(e.Record)
		if err != nil {
			t.Fatal(err)
		}
		imported = append(imported, Imported{Record: rec, JSON: e.Record})
	}
	dict := d.learn(imported)
	if dict == nil {
		t.Fatal("nothing learned")
	}
	if err := d.store(ctx, dict); err != nil {
		t.Fatal(err)
	}
	id := streamDictID(dict)
	now := time.Now()
	if d.encoder(now); d.codec.Load().id != id {
		t.Fatalf("compressing with %d, want %d", d.codec.Load().id, id)
	}
	if d.encoder(now.Add(retention)); d.codec.Load().id != 0 || d.learn(imported) == nil {
		t.Fatal("a dictionary as old as the retention still compresses, or none is learned")
	}
	// The bucket.
	if n, err := expireDictionaries(ctx, kv, retention, now.Add(2*retention)); err != nil || n != 0 {
		t.Fatalf("before its time: %d deleted, %v", n, err)
	}
	if n, err := expireDictionaries(ctx, kv, retention, now.Add(2*retention+25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("at its time: %d deleted, %v", n, err)
	}
	if _, _, err := readDictionary(ctx, kv, id); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("still in the bucket: %v", err)
	}
	if _, err := kv.Get(ctx, currentDictKey); err != nil {
		t.Fatalf("the current key: %v", err)
	}
	// The index.
	ix, path := openTestIndex(t)
	made := now.Add(-time.Hour)
	if err := ix.keepStreamDict(ctx, id, dict, made); err != nil {
		t.Fatal(err)
	}
	if err := ix.dropDictionaries(ctx, retention, now.Add(2*retention)); err != nil || ix.dicts[id] == nil {
		t.Fatalf("dropped before its time: %v", err)
	}
	ix.Close()
	ix, err = OpenIndex(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if !ix.dictsMade[id].Equal(made.Truncate(time.Second)) || ix.dicts[id] == nil {
		t.Fatalf("reopened: made %v, want %v", ix.dictsMade[id], made)
	}
	// A group the index still holds that names it keeps it.
	enc := newImportCodec(id, dict, made)
	defer enc.enc.Close()
	frame := append([]byte{frameGroup}, enc.enc.EncodeAll(store.AppendBatch(nil, [][]byte{recs[0].Record}), nil)...)
	if _, err := ix.w.ExecContext(ctx, `INSERT INTO groups (first, n, tmax, data) VALUES (1, 1, ?, ?)`, now.Add(3*retention).Unix(), frame); err != nil {
		t.Fatal(err)
	}
	if err := ix.dropDictionaries(ctx, retention, now.Add(2*retention+25*time.Hour)); err != nil || ix.dicts[id] == nil {
		t.Fatalf("dropped while a group names it: %v", err)
	}
	if _, err := ix.w.ExecContext(ctx, `DELETE FROM groups`); err != nil {
		t.Fatal(err)
	}
	if err := ix.dropDictionaries(ctx, retention, now.Add(2*retention+25*time.Hour)); err != nil || ix.dicts[id] != nil {
		t.Fatalf("kept after its time: %v", err)
	}
	var left int
	if err := ix.w.QueryRowContext(ctx, `SELECT count(*) FROM meta WHERE key LIKE 'stream%'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d meta rows left, %v", left, err)
	}
}

// A group as stored reads back as the records put in it, whether the index
// compressed it (its text, see appendGroup) or it is an import's message
// kept as it is (frameGroup); any other bytes read as an error or as
// records numbered from the group's first, never a panic.
func FuzzGroupRecords(f *testing.F) {
	f.Add([]byte("{\"eventID\":\"a\"}\n{\"eventID\":\"b\"}"), []byte{frameGroup, 0x28, 0xb5, 0x2f, 0xfd})
	f.Add([]byte("{}"), []byte{dictID})
	f.Add([]byte(""), []byte{})
	dict := bytes.Repeat([]byte(`{"eventVersion":"1.09","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`), 8)
	id := streamDictID(dict)
	z, err := newCodec(map[uint32][]byte{dictID: defaultDictionary(), id: dict})
	if err != nil {
		f.Fatal(err)
	}
	enc := newImportCodec(id, dict, time.Now())
	f.Cleanup(func() { z.close(); enc.enc.Close() })
	f.Fuzz(func(t *testing.T, text, stored []byte) {
		var recs []groupRecord
		var items [][]byte
		for _, r := range bytes.Split(text, []byte("\n")) {
			if len(r) == 0 {
				continue
			}
			recs = append(recs, groupRecord{seq: 100 + 2*int64(len(recs)), json: r})
			items = append(items, r)
		}
		if len(recs) > 0 {
			got, err := z.groupRecords(100, z.compress(appendGroup(nil, recs)))
			if err != nil || len(got) != len(recs) {
				t.Fatalf("group text: %d records, %v", len(got), err)
			}
			for i := range recs {
				if got[i].seq != recs[i].seq || !bytes.Equal(got[i].json, recs[i].json) {
					t.Fatalf("group text: record %d is %d %q, want %d %q", i, got[i].seq, got[i].json, recs[i].seq, recs[i].json)
				}
			}
			if len(items) > 1 {
				frame := append([]byte{frameGroup}, enc.enc.EncodeAll(store.AppendBatch(nil, items), nil)...)
				got, err := z.groupRecords(100, frame)
				if err != nil || len(got) != len(items) {
					t.Fatalf("frame: %d records, %v", len(got), err)
				}
				for i := range items {
					if got[i].seq != 100+int64(i) || !bytes.Equal(got[i].json, items[i]) {
						t.Fatalf("frame: record %d is %d %q", i, got[i].seq, got[i].json)
					}
				}
			}
		}
		if len(stored) == 0 {
			return
		}
		got, err := z.groupRecords(7, stored)
		if err != nil {
			return
		}
		if stored[0] == frameGroup {
			for i, r := range got {
				if r.seq != 7+int64(i) {
					t.Fatalf("record %d numbered %d", i, r.seq)
				}
			}
		}
	})
}

// Records of other services (imported from AWS's logs) are found by their
// resources' names as AWS's LookupEvents names them (an instance's ID, a
// function's or a role's name) and by their ARNs, not by the ARN's
// resource part ("instance/i-…").
func TestIndexOtherServicesResourceNames(t *testing.T) {
	ctx := context.Background()
	ix, _ := openTestIndex(t)
	arns := []string{
		"arn:aws:ec2:eu-west-1:111122223333:instance/i-0c53454b1dd1e49b",
		"arn:aws:lambda:eu-west-1:111122223333:function:orders",
		"arn:aws:iam::111122223333:role/service-role/deploy",
	}
	var entries []Entry
	for i, arn := range arns {
		rec := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"alice","accountId":"111122223333"},`+
			`"eventTime":"2026-11-26T12:00:0%dZ","eventSource":"x.amazonaws.com","eventName":"Change","awsRegion":"eu-west-1",`+
			`"eventID":"00000000-0000-4000-8000-00000000000%d","readOnly":false,"resources":[{"type":"AWS::X::Y","ARN":%q}],`+
			`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333"}`, i, i, arn)
		entries = append(entries, Entry{Seq: uint64(i + 1), Record: []byte(rec)})
	}
	if err := ix.Apply(ctx, entries); err != nil {
		t.Fatal(err)
	}
	for i, value := range []string{"i-0c53454b1dd1e49b", "orders", "deploy", arns[0], arns[1], arns[2]} {
		p, err := ix.Lookup(ctx, Query{Attribute: AttrResourceName, Value: value, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i%3)
		if len(p.Results) != 1 || p.Results[0].Record.EventID != want {
			t.Errorf("ResourceName %s: %d results, want the record of %s", value, len(p.Results), arns[i%3])
		}
	}
	for _, value := range []string{"instance/i-0c53454b1dd1e49b", "function:orders", "role/service-role/deploy"} {
		if p, err := ix.Lookup(ctx, Query{Attribute: AttrResourceName, Value: value, Limit: 50}); err != nil || len(p.Results) != 0 {
			t.Errorf("ResourceName %s: %d results, %v; want none", value, len(p.Results), err)
		}
	}
}
