package audit_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/nats-io/nats.go"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// An imported record is indexed, kept as it was written (fields Conveyor
// does not model too), and not forwarded to the bus; a call committed with
// its own resources (the S3 gateway's) is stored and forwarded with them.
func TestImportedAndCommitCall(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	a := newAudit(t, st, filepath.Join(t.TempDir(), "audit.db"))
	defer closeAudit(t, a)
	bus := &fakeBus{}
	a.StartForwarding(bus)

	now := time.Now().UTC().Format(audit.TimeFormat)
	raw := []byte(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"alice","accessKeyId":"AKIAALICE"},` +
		`"eventTime":"` + now + `","eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy","awsRegion":"eu-west-1",` +
		`"tlsDetails":{"tlsVersion":"TLSv1.3"},"eventID":"0e9f7c2a-imported","readOnly":false,"managementEvent":true,` +
		`"recipientAccountId":"123456789012","eventCategory":"Management"}`)
	rec, err := audit.ParseRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AppendImported(t.Context(), scope.Scope{Account: "000000000000", Region: "us-east-1"}, rec, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AppendImported(t.Context(), scope.Scope{}, &audit.Record{}, []byte(`{}`)); err == nil {
		t.Error("a record without eventID was imported")
	}
	count(t, a.Index(), "DeleteBucketPolicy", 1)
	p, err := a.Index().Lookup(t.Context(), audit.Query{Attribute: audit.AttrEventName, Value: "DeleteBucketPolicy", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(p.Results[0].JSON); got != string(raw) {
		t.Errorf("imported record changed:\n got %s\nwant %s", got, raw)
	}

	res := []audit.Resource{{Type: audit.TypeBucket, ARN: "arn:aws:s3:::demo"}}
	a.Recorder().CommitCall(t.Context(), audit.Call{Service: "s3", Operation: "CreateBucket", AccessKeyID: "AKIAS3",
		Parameters: []byte(`{"bucketName":"demo","Host":"127.0.0.1:9000"}`), Resources: res, Time: time.Now()})
	bus.wait(t, 1)
	time.Sleep(100 * time.Millisecond) // an imported record forwarded by mistake would arrive now
	bus.mu.Lock()
	defer bus.mu.Unlock()
	if len(bus.events) != 1 || bus.events[0].Source != "aws.s3" {
		t.Fatalf("bus got %d events, want the CreateBucket only: %+v", len(bus.events), bus.events)
	}
	got, err := audit.ParseRecord(bus.events[0].Detail)
	if err != nil {
		t.Fatal(err)
	}
	if got.EventName != "CreateBucket" || len(got.Resources) != 1 || got.Resources[0] != res[0] ||
		string(got.RequestParameters) != `{"bucketName":"demo","Host":"127.0.0.1:9000"}` {
		t.Errorf("record %+v", got)
	}
}

// Imported records are stored up to MaxRecordsPerMessage a message, those
// of one subject together; the index finds every one of them, each as it
// was written, in the history's order (newest first, then the later
// record), also after the index is rebuilt from the audit log; and the
// same records appended again are stored once.
func TestImportedTogether(t *testing.T) {
	t.Parallel()
	st, dir, a, sc, at := importing(t)
	var recs []audit.Imported
	add := func(i int, source, name string, management bool) {
		raw := fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"alice"},`+
			`"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"eu-west-1","eventID":"e-%03d",`+
			`"readOnly":false,"managementEvent":%t,"recipientAccountId":"123456789012","eventCategory":"Management"}`,
			at.Add(-time.Duration(i%7)*time.Minute).Format(audit.TimeFormat), source, name, i, management)
		rec, err := audit.ParseRecord(raw)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, audit.Imported{Record: rec, JSON: raw})
	}
	for i := range 40 {
		switch i % 4 {
		case 0, 1:
			add(i, "s3.amazonaws.com", "PutBucketPolicy", true)
		case 2:
			add(i, "iam.amazonaws.com", "CreateUser", true)
		default:
			add(i, "s3.amazonaws.com", "PutObject", false)
		}
	}
	before := streamMsgs(t, st.JetStream())
	res := a.AppendImportedAsync(sc, recs).Wait(t.Context())
	seqs := map[uint64]int{}
	for i, r := range res {
		if r.Err != nil || r.Seq == 0 {
			t.Fatalf("record %d: %+v", i, r)
		}
		seqs[r.Seq]++
	}
	// 20 s3 management records (2 messages), 10 iam (1), 10 data events (1).
	if got := streamMsgs(t, st.JetStream()) - before; got != 4 || len(seqs) != 4 {
		t.Fatalf("40 records in %d messages (%d sequences), want 4", got, len(seqs))
	}
	for _, n := range seqs {
		if n > audit.MaxRecordsPerMessage {
			t.Fatalf("a message holds %d records", n)
		}
	}
	check := func(a *audit.Audit) {
		t.Helper()
		count(t, a.Index(), "PutBucketPolicy", 20)
		count(t, a.Index(), "CreateUser", 10)
		count(t, a.Index(), "PutObject", 0)
		var got []string
		q := audit.Query{Attribute: audit.AttrEventSource, Value: "s3.amazonaws.com", Limit: 7}
		for {
			p, err := a.Index().Lookup(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Results {
				got = append(got, r.Record.EventTime+" "+r.Record.EventID)
				want := recs[0].JSON
				for _, in := range recs {
					if in.Record.EventID == r.Record.EventID {
						want = in.JSON
					}
				}
				if string(r.JSON) != string(want) {
					t.Fatalf("record %s changed:\n%s\n%s", r.Record.EventID, r.JSON, want)
				}
			}
			if p.Next == nil {
				break
			}
			q.After = p.Next
		}
		// Newest first; of one time, the later record (its place in the
		// import) first.
		want := slices.Clone(got)
		slices.SortStableFunc(want, func(x, y string) int { return -strings.Compare(x, y) })
		if len(got) != 20 || !slices.Equal(got, want) {
			t.Fatalf("s3 records in the history's order:\n%v\nwant\n%v", got, want)
		}
	}
	check(a)

	// The same records again: stored once (the same messages, by their IDs).
	again := a.AppendImportedAsync(sc, recs).Wait(t.Context())
	for i, r := range again {
		if r.Err != nil || r.Seq != res[i].Seq {
			t.Fatalf("record %d appended again: %+v, first %+v", i, r, res[i])
		}
	}
	closeAudit(t, a)

	// A new index, built from the audit log, has the same.
	b := newAudit(t, st, filepath.Join(dir, "rebuilt.db"))
	defer closeAudit(t, b)
	check(b)
}

// importing starts an audit trail on a store of its own, for imports into
// scope sc of records of about time at.
func importing(t *testing.T) (st *store.Store, dir string, a *audit.Audit, sc scope.Scope, at time.Time) {
	st = storetest.Open(t)
	dir = t.TempDir()
	return st, dir, newAudit(t, st, filepath.Join(dir, "audit.db")), scope.Scope{Account: "000000000000", Region: "us-east-1"},
		time.Now().UTC().Truncate(time.Second)
}

// The index reads every form an import's message has had: records framed
// together, uncompressed (written before imports compressed them), and
// compressed; a compressed message that does not decompress is skipped as
// a damaged record, and the records after it are indexed.
func TestImportedMessageForms(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	a := newAudit(t, st, filepath.Join(t.TempDir(), "audit.db"))
	defer closeAudit(t, a)
	sc := scope.Scope{Account: "000000000000", Region: "us-east-1"}
	at := time.Now().UTC().Truncate(time.Second).Format(audit.TimeFormat)
	rec := func(name string, i int) []byte {
		return fmt.Appendf(nil, `{"eventVersion":"1.09","eventTime":"%s","eventSource":"iam.amazonaws.com","eventName":"%s",`+
			`"awsRegion":"us-east-1","eventID":"%s-%d","readOnly":false,"managementEvent":true,"recipientAccountId":"123456789012"}`,
			at, name, name, i)
	}
	parsed, err := audit.ParseRecord(rec("NewForm", 0))
	if err != nil {
		t.Fatal(err)
	}
	publish := func(data []byte, encoding string) {
		t.Helper()
		h := nats.Header{audit.HeaderNoForward: []string{"true"}, audit.HeaderScope: []string{sc.String()}}
		if encoding != "" {
			h.Set(audit.HeaderEncoding, encoding)
		}
		if _, err := st.Publish(t.Context(), &nats.Msg{Subject: audit.Subject(parsed), Header: h, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	publish(store.AppendBatch(nil, [][]byte{rec("OldForm", 0), rec("OldForm", 1), rec("OldForm", 2)}), "")
	publish([]byte("not zstd at all"), "zstd")
	publish(store.AppendBatch(nil, [][]byte{rec("Damaged", 0)}), "gzip")
	if _, err := a.AppendImported(t.Context(), sc, parsed, rec("NewForm", 0)); err != nil {
		t.Fatal(err)
	}
	count(t, a.Index(), "OldForm", 3)
	count(t, a.Index(), "NewForm", 1)
	count(t, a.Index(), "Damaged", 0)
}

// Once a process has imported learnSize bytes of records, it keeps them as
// a dictionary in the audit log's bucket and compresses later imports'
// messages with it; the index stores those messages as they are. Every
// record reads back as imported: from the index that applied them, from
// an index built again from the audit log (which reads the dictionary from
// the bucket), and in another process, which compresses with the same
// dictionary.
func TestImportedWithDictionary(t *testing.T) {
	t.Parallel()
	st, dir, a, sc, at := importing(t)
	made := map[string][]byte{} // eventID → JSON
	batch := func(from, n int) []audit.Imported {
		var recs []audit.Imported
		for i := from; i < from+n; i++ {
			raw := fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"user-%d","accessKeyId":"AKIA%016d"},`+
				`"eventTime":"%s","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","eventID":"e-%05d",`+
				`"sourceIPAddress":"198.51.100.%d","userAgent":"aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0","requestParameters":{"bucketName":"b-%d"},`+
				`"readOnly":false,"managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`,
				i%5, i%9, at.Add(-time.Duration(i)*time.Second).Format(audit.TimeFormat), i, i%256, i%40)
			rec, err := audit.ParseRecord(raw)
			if err != nil {
				t.Fatal(err)
			}
			made[rec.EventID] = raw
			recs = append(recs, audit.Imported{Record: rec, JSON: raw})
		}
		return recs
	}
	importAll := func(a *audit.Audit, recs []audit.Imported) []audit.Appended {
		t.Helper()
		res := a.AppendImportedAsync(sc, recs).Wait(t.Context())
		for i, r := range res {
			if r.Err != nil {
				t.Fatalf("record %d: %v", i, r.Err)
			}
		}
		return res
	}
	// The first records (about 120 KB): no dictionary yet.
	first := importAll(a, batch(0, 400))
	kv, err := st.JetStream().KeyValue(t.Context(), audit.DictionaryBucket)
	if err != nil {
		t.Fatal(err)
	}
	var current string
	waitfor.Err(t, 30*time.Second, "a current dictionary", func() error {
		e, err := kv.Get(t.Context(), "current")
		if err == nil {
			current = string(e.Value())
		}
		return err
	})
	// dictOf says which dictionary the message holding a record names.
	stream, err := st.JetStream().Stream(t.Context(), audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	dictOf := func(seq uint64) string {
		t.Helper()
		m, err := stream.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		var h zstd.Header
		if err := h.Decode(m.Data); err != nil {
			t.Fatal(err)
		}
		return strconv.FormatUint(uint64(h.DictionaryID), 10)
	}
	if d := dictOf(first[0].Seq); d != "0" {
		t.Fatalf("the first message names dictionary %s", d)
	}
	second := importAll(a, batch(400, 400))
	if d := dictOf(second[0].Seq); d != current {
		t.Fatalf("a message after learning names dictionary %s, want %s", d, current)
	}
	check := func(a *audit.Audit, want int) {
		t.Helper()
		count(t, a.Index(), "PutBucketPolicy", want)
		q := audit.Query{Attribute: audit.AttrEventName, Value: "PutBucketPolicy", Limit: 50}
		for {
			p, err := a.Index().Lookup(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Results {
				if string(r.JSON) != string(made[r.Record.EventID]) {
					t.Fatalf("record %s changed:\n%s\n%s", r.Record.EventID, r.JSON, made[r.Record.EventID])
				}
			}
			if p.Next == nil {
				break
			}
			q.After = p.Next
		}
		for _, id := range []string{"e-00000", "e-00399", "e-00400", "e-00799"} {
			p, err := a.Index().Lookup(t.Context(), audit.Query{Attribute: audit.AttrEventID, Value: id, Limit: 5})
			if err != nil || len(p.Results) != 1 {
				t.Fatalf("EventId %s: %d records, %v", id, len(p.Results), err)
			}
		}
	}
	check(a, 800)
	closeAudit(t, a)

	// Another process: the same dictionary; a new index reads it from
	// the bucket.
	b := newAudit(t, st, filepath.Join(dir, "rebuilt.db"))
	check(b, 800)
	third := importAll(b, batch(800, 50))
	if d := dictOf(third[0].Seq); d != current {
		t.Fatalf("another process compresses with dictionary %s, want %s", d, current)
	}
	check(b, 850)
	closeAudit(t, b)
}
