package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/conveyor/conveyor/internal/identity"
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
	}
}

// testIdentities are the principals of the keys the test calls use, as a key
// file would name them.
var testIdentities = map[string]*identity.Principal{
	"AKIAALICE": {Type: "IAMUser", PrincipalID: "AIDAALICE0000000000", ARN: "arn:aws:iam::123456789012:user/alice",
		AccountID: "123456789012", UserName: "alice"},
	"AKIAROOT": {Type: "Root", PrincipalID: "123456789012", ARN: "arn:aws:iam::123456789012:root", AccountID: "123456789012"},
	"ASIADEPLOY": {Type: "AssumedRole", PrincipalID: "AROADEPLOYER000000000:ci", ARN: "arn:aws:sts::123456789012:assumed-role/deployer/ci",
		AccountID: "123456789012", RoleName: "deployer", RoleID: "AROADEPLOYER000000000", SessionName: "ci"},
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
			call := Call{
				Service: tc.Service, Operation: tc.Operation, AccessKeyID: tc.AccessKeyID, Identity: testIdentities[tc.AccessKeyID],
				Region: tc.Region, SourceIP: tc.SourceIP, UserAgent: tc.UserAgent,
				RequestID: tc.RequestID, Request: tc.Request, Response: tc.Response,
				ErrorCode: tc.ErrorCode, ErrorMessage: tc.ErrorMessage, Time: testTime,
			}
			rec, ok := testBuilder(t, cfg).Build(call)
			if !ok {
				t.Fatal("call not recorded")
			}
			got, err := rec.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			// A journaled call's record is its intent's record (made
			// before the call ran: no answer yet) with its outcome put
			// in, and is the same record.
			b := testBuilder(t, cfg)
			if Journaled(call.Service, call.Operation) && !IsAuthenticationFailure(call.ErrorCode) {
				before := call
				before.EventID = rec.EventID
				note := (&Journal{rec: &Recorder{b: b}}).intentOf(before)
				after := call
				after.EventID, after.conv, after.intent = rec.EventID, note.conv, &note.parts
				if got2 := b.outcome(&note.parts, after); !bytes.Equal(got2, got) {
					t.Errorf("the record made from the intent differs:\n%s\n%s", got2, got)
				}
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
	role := &SessionContext{SessionIssuer: SessionIssuer{Type: "Role", PrincipalID: "AROADEPLOYER000000000",
		ARN: "arn:aws:iam::123456789012:role/deployer", AccountID: "123456789012", UserName: "deployer"}}
	for _, c := range []struct {
		key, errorCode string
		want           UserIdentity
		username       string
	}{
		{"AKIAALICE", "", UserIdentity{Type: "IAMUser", PrincipalID: "AIDAALICE0000000000",
			ARN: "arn:aws:iam::123456789012:user/alice", AccountID: "123456789012", AccessKeyID: "AKIAALICE", UserName: "alice"}, "alice"},
		{"AKIAROOT", "", UserIdentity{Type: "Root", PrincipalID: "123456789012", ARN: "arn:aws:iam::123456789012:root",
			AccountID: "123456789012", AccessKeyID: "AKIAROOT"}, "root"},
		{"ASIADEPLOY", "", UserIdentity{Type: "AssumedRole", PrincipalID: "AROADEPLOYER000000000:ci",
			ARN: "arn:aws:sts::123456789012:assumed-role/deployer/ci", AccountID: "123456789012", AccessKeyID: "ASIADEPLOY",
			SessionContext: role}, "ci"},
		{"AKIAOTHER", "", UserIdentity{Type: "IAMUser", PrincipalID: "AKIAOTHER", ARN: "arn:aws:iam::123456789012:user/AKIAOTHER",
			AccountID: "123456789012", AccessKeyID: "AKIAOTHER", UserName: "AKIAOTHER"}, "AKIAOTHER"},
		{"", "", UserIdentity{Type: "Unknown", AccountID: "123456789012"}, ""},
		// A call refused for its credentials names the key it claimed, no more.
		{"AKIAALICE", "InvalidSignatureException", UserIdentity{Type: "Unknown", AccountID: "123456789012", AccessKeyID: "AKIAALICE"}, ""},
		{"AKIANOBODY", "UnrecognizedClientException", UserIdentity{Type: "Unknown", AccountID: "123456789012", AccessKeyID: "AKIANOBODY"}, ""},
	} {
		rec, _ := b.Build(Call{Service: "events", Operation: "ListRules", AccessKeyID: c.key, Identity: testIdentities[c.key],
			ErrorCode: c.errorCode})
		got := rec.UserIdentity
		same := reflect.DeepEqual(got, c.want)
		if !same || rec.Username() != c.username {
			t.Errorf("key %q error %q: %+v (%q), want %+v (%q)", c.key, c.errorCode, got, rec.Username(), c.want, c.username)
		}
	}
}

// A call refused for its credentials is recorded as a management event
// (PutEvents too, with data events off), without what it sent.
func TestAuthenticationFailureRecord(t *testing.T) {
	b := testBuilder(t, testConfig())
	rec, ok := b.Build(Call{Service: "events", Operation: "PutEvents", AccessKeyID: "AKIAALICE",
		Request:   []byte(`{"Entries":[{"Source":"x","DetailType":"y","Detail":"{}"}]}`),
		ErrorCode: "InvalidSignatureException", ErrorMessage: "The request signature we calculated does not match"})
	if !ok {
		t.Fatal("failed authentication of PutEvents not recorded")
	}
	if rec.EventCategory != CategoryManagement || !rec.ManagementEvent || rec.RequestParameters != nil || len(rec.Resources) != 0 {
		t.Errorf("record: %+v", rec)
	}
	if _, ok := b.Build(Call{Service: "events", Operation: "PutEvents", AccessKeyID: "AKIAALICE"}); ok {
		t.Error("an authenticated PutEvents is recorded with data events off")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{AccountID: "123", Region: "us-east-1"},
		{AccountID: "123456789012"},
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
		{"sqs", "PeekMessages", true, false}, {"sqs", "RedriveDeadLetters", false, false},
		{"events", "ExplainEventPattern", true, false}, {"events", "ExplainEventBus", true, false}, {"events", "DescribeSchedule", true, false},
	} {
		src := EventSource(c.svc)
		if IsReadOnly(src, c.op) != c.readOnly || IsDataEvent(src, c.op) != c.data {
			t.Errorf("%s %s: readOnly %v data %v", c.svc, c.op, IsReadOnly(src, c.op), IsDataEvent(src, c.op))
		}
	}
}

// TestRecordBounds: whatever a call carried, its record stays small. A requestParameters or
// responseElements over MaxElementsSize is replaced by {"omitted":true}, as CloudTrail
// marks a field it truncates; long strings are cut; resources are capped.
func TestRecordBounds(t *testing.T) {
	b := testBuilder(t, testConfig())
	big := func(n int) []byte {
		return []byte(`{"Rule":"r","Targets":[{"Id":"t","Input":"` + strings.Repeat("é", n/2) + `"}]}`)
	}
	long := strings.Repeat("a", 1<<20)
	for _, c := range []struct {
		name               string
		call               Call
		omitReq, omitResp  bool
		wantUA, wantErrMsg int // lengths of userAgent and errorMessage
	}{
		{name: "fits", call: Call{Request: big(90 << 10), Response: big(90 << 10)}},
		{name: "large request", call: Call{Request: big(MaxElementsSize)}, omitReq: true},
		{name: "large response", call: Call{Request: big(10), Response: big(MaxElementsSize)}, omitResp: true},
		{name: "both, and long strings", call: Call{Request: big(900 << 10), Response: big(900 << 10), UserAgent: long,
			AccessKeyID: long, Region: long}, omitReq: true, omitResp: true, wantUA: MaxStringField},
		{name: "failed", call: Call{Request: big(900 << 10), ErrorCode: "ValidationException", ErrorMessage: "Value '" + long + "' is bad"},
			omitReq: true, wantErrMsg: MaxStringField},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.call.Service, c.call.Operation, c.call.Time = "events", "PutTargets", testTime
			rec, ok := b.Build(c.call)
			if !ok {
				t.Fatal("not recorded")
			}
			if got := bytes.Equal(rec.RequestParameters, Omitted); got != c.omitReq {
				t.Errorf("requestParameters omitted = %v (%d bytes), want %v", got, len(rec.RequestParameters), c.omitReq)
			}
			if got := bytes.Equal(rec.ResponseElements, Omitted); got != c.omitResp {
				t.Errorf("responseElements omitted = %v (%d bytes), want %v", got, len(rec.ResponseElements), c.omitResp)
			}
			if c.wantUA > 0 && (len(rec.UserAgent) != c.wantUA || !strings.HasSuffix(rec.UserAgent, "...")) {
				t.Errorf("userAgent is %d bytes, want %d ending in ...", len(rec.UserAgent), c.wantUA)
			}
			if c.wantErrMsg > 0 && (len(rec.ErrorMessage) != c.wantErrMsg || !strings.HasPrefix(rec.ErrorMessage, "Value 'aaa")) {
				t.Errorf("errorMessage is %d bytes: %.40q", len(rec.ErrorMessage), rec.ErrorMessage)
			}
			data, err := rec.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > 256<<10 {
				t.Errorf("record is %d bytes", len(data))
			}
			if back, err := ParseRecord(data); err != nil || !strings.Contains(string(data), `"eventName":"PutTargets"`) {
				t.Errorf("record does not parse: %v %v", back, err)
			}
		})
	}
	// A cut never splits a character.
	if s := cut(strings.Repeat("é", MaxStringField)); !utf8.ValidString(s) || len(s) > MaxStringField {
		t.Errorf("cut = %d bytes, valid UTF-8 %v", len(s), utf8.ValidString(s))
	}
	// Resources are capped (PutEvents may name a bus per entry).
	var req strings.Builder
	req.WriteString(`{"Entries":[`)
	for i := range 1000 {
		if i > 0 {
			req.WriteByte(',')
		}
		fmt.Fprintf(&req, `{"EventBusName":"bus-%d"}`, i)
	}
	req.WriteString(`]}`)
	cfg := testConfig()
	cfg.DataEvents = true
	rec, _ := testBuilder(t, cfg).Build(Call{Service: "events", Operation: "PutEvents", Request: []byte(req.String()), Time: testTime})
	if len(rec.Resources) != MaxResources {
		t.Errorf("%d resources, want %d", len(rec.Resources), MaxResources)
	}
}

// TestEventIDOf checks the event IDs against the UUID package's version 5
// UUIDs in their namespace: they are stored in every history, and a call
// recorded from its intent after a restart must get the same one.
func TestEventIDOf(t *testing.T) {
	if got := EventIDOf(""); got != "" {
		t.Errorf(`EventIDOf("") = %q`, got)
	}
	space := uuid.MustParse("2f0c5b8e-7a43-4f6e-9a0d-3c1e6b2d9f47")
	for _, id := range []string{"r", "8c2fd9a6-6f4e-4b1c-9d3a-2e7f5a1b0c4d", strings.Repeat("long request id ", 20), "é\x00\xff"} {
		if got, want := EventIDOf(id), uuid.NewSHA1(space, []byte(id)).String(); got != want {
			t.Errorf("EventIDOf(%q) = %s, want %s", id, got, want)
		}
	}
}
