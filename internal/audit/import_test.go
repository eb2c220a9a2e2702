package audit_test

import (
	"github.com/conveyor/conveyor/internal/scope"

	"path/filepath"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/store/storetest"
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
	if _, err := audit.AppendImported(t.Context(), st, scope.Scope{Account: "000000000000", Region: "us-east-1"}, rec, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.AppendImported(t.Context(), st, scope.Scope{}, &audit.Record{}, []byte(`{}`)); err == nil {
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
