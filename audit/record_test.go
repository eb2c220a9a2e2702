package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// testCall is the form of a call in testdata/calls.
type testCall struct {
	Service      string          `json:"service"`
	Operation    string          `json:"operation"`
	AccessKeyID  string          `json:"accessKeyId"`
	Region       string          `json:"region"`
	SourceIP     string          `json:"sourceIp"`
	UserAgent    string          `json:"userAgent"`
	RequestID    string          `json:"requestId"`
	Request      json.RawMessage `json:"request"`
	Response     json.RawMessage `json:"response"`
	ErrorCode    string          `json:"errorCode"`
	ErrorMessage string          `json:"errorMessage"`
	DataEvents   bool            `json:"dataEvents"`
}

var testTime = time.Date(2026, 11, 26, 13, 1, 34, 567e6, time.UTC)

func testConfig() Config {
	return Config{
		AccountID: "123456789012",
		Region:    "us-east-1",
		Identities: map[string]Identity{
			"AKIAALICE": {UserName: "alice", PrincipalID: "AIDAALICE0000000000"},
			"AKIAROOT":  {Type: IdentityRoot},
		},
	}
}

func testBuilder(t testing.TB, cfg Config) *Builder {
	t.Helper()
	b, err := NewBuilder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	b.newID = func() string {
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
	return b
}

func TestRecordGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/calls/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test calls: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var tc testCall
			if err := json.Unmarshal(raw, &tc); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig()
			cfg.DataEvents = tc.DataEvents
			rec, ok := testBuilder(t, cfg).Build(Call{
				Service: tc.Service, Operation: tc.Operation, AccessKeyID: tc.AccessKeyID,
				Region: tc.Region, SourceIP: tc.SourceIP, UserAgent: tc.UserAgent,
				RequestID: tc.RequestID, Request: tc.Request, Response: tc.Response,
				ErrorCode: tc.ErrorCode, ErrorMessage: tc.ErrorMessage, Time: testTime,
			})
			if !ok {
				t.Fatal("call not recorded")
			}
			got, err := rec.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden := filepath.Join("testdata", "records", name+".json")
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("record differs from %s (run with -update after checking):\ngot:\n%s\nwant:\n%s", golden, pretty.Bytes(), want)
			}
			back, err := ParseRecord(got)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := back.Marshal()
			if !bytes.Equal(again, got) {
				t.Errorf("record does not survive a round trip:\n%s\n%s", got, again)
			}
		})
	}
}

func TestUserIdentity(t *testing.T) {
	b := testBuilder(t, testConfig())
	for _, c := range []struct {
		key, principal string
		want           UserIdentity
		username       string
	}{
		{"AKIAALICE", "ignored", UserIdentity{Type: "IAMUser", PrincipalID: "AIDAALICE0000000000",
			ARN: "arn:aws:iam::123456789012:user/alice", AccountID: "123456789012", AccessKeyID: "AKIAALICE", UserName: "alice"}, "alice"},
		{"AKIAROOT", "", UserIdentity{Type: "Root", PrincipalID: "123456789012", ARN: "arn:aws:iam::123456789012:root",
			AccountID: "123456789012", AccessKeyID: "AKIAROOT"}, "root"},
		{"AKIAOTHER", "", UserIdentity{Type: "IAMUser", PrincipalID: "AKIAOTHER", ARN: "arn:aws:iam::123456789012:user/AKIAOTHER",
			AccountID: "123456789012", AccessKeyID: "AKIAOTHER", UserName: "AKIAOTHER"}, "AKIAOTHER"},
		{"AKIAOTHER", "carol", UserIdentity{Type: "IAMUser", PrincipalID: "AKIAOTHER", ARN: "arn:aws:iam::123456789012:user/carol",
			AccountID: "123456789012", AccessKeyID: "AKIAOTHER", UserName: "carol"}, "carol"},
		{"", "", UserIdentity{Type: "Unknown", AccountID: "123456789012"}, ""},
	} {
		rec, _ := b.Build(Call{Service: "events", Operation: "ListRules", AccessKeyID: c.key, Principal: c.principal})
		if rec.UserIdentity != c.want || rec.Username() != c.username {
			t.Errorf("key %q principal %q: %+v (%q), want %+v (%q)", c.key, c.principal, rec.UserIdentity, rec.Username(), c.want, c.username)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{AccountID: "123", Region: "us-east-1"},
		{AccountID: "123456789012"},
		{AccountID: "123456789012", Region: "us-east-1", Identities: map[string]Identity{"k": {Type: "Role"}}},
		{AccountID: "123456789012", Region: "us-east-1", Identities: map[string]Identity{"k": {Type: "Root", UserName: "x"}}},
		{AccountID: "123456789012", Region: "us-east-1", Identities: map[string]Identity{"k": {UserName: "no spaces"}}},
	} {
		if _, err := NewBuilder(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		svc, op        string
		readOnly, data bool
	}{
		{"events", "PutRule", false, false}, {"events", "DescribeRule", true, false}, {"events", "ListRules", true, false},
		{"events", "TestEventPattern", true, false}, {"events", "PutEvents", false, true}, {"cloudtrail", "LookupEvents", true, false},
		{"sqs", "SendMessage", false, true}, {"sqs", "ReceiveMessage", true, true}, {"sqs", "GetQueueUrl", true, false},
		{"sqs", "DeleteMessageBatch", false, true}, {"sqs", "PurgeQueue", false, false}, {"events", "Listen", false, false},
		{"s3", "GetObject", true, true}, {"s3", "CreateBucket", false, false}, {"s3", "HeadBucket", true, false},
	} {
		src := EventSource(c.svc)
		if IsReadOnly(src, c.op) != c.readOnly || IsDataEvent(src, c.op) != c.data {
			t.Errorf("%s %s: readOnly %v data %v", c.svc, c.op, IsReadOnly(src, c.op), IsDataEvent(src, c.op))
		}
	}
}
