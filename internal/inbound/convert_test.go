package inbound

import (
	"github.com/conveyor/conveyor/internal/clock/clocktest"

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

var update = flag.Bool("update", false, "rewrite the golden files")

func testHandler(t testing.TB) *Handler {
	t.Helper()
	h, err := New(Config{
		Putter: putterFunc(nil), Account: "000000000000", Region: "us-east-1",
		Clock: clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// golden renders converted events one per line (indented), then the count
// of ignored records.
func golden(events []stored, ignored int) []byte {
	var b bytes.Buffer
	for _, ev := range events {
		_ = json.Indent(&b, ev.data, "", "  ")
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "ignored records: %d\n", ignored)
	return b.Bytes()
}

// TestS3Golden converts the notifications of testdata/s3 and compares the
// events with the .golden files (go test -update rewrites them).
func TestS3Golden(t *testing.T) {
	h := testHandler(t)
	files, _ := filepath.Glob("testdata/s3/*.json")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			events, ignored, aerr := h.s3Events("default", in)
			if aerr != nil {
				t.Fatalf("s3Events: %+v", aerr)
			}
			for _, ev := range events {
				var m map[string]any
				if err := json.Unmarshal(ev.data, &m); err != nil || m["id"] != ev.id {
					t.Errorf("event %s: not JSON or id mismatch (%v)", ev.data, err)
				}
			}
			got := golden(events, ignored)
			path := strings.TrimSuffix(f, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("events differ from %s:\n%s", path, got)
			}
			// Same notification, same ids (a resend is stored once);
			// another bus, other ids.
			again, _, _ := h.s3Events("default", in)
			other, _, _ := h.s3Events("orders", in)
			for i := range events {
				if again[i].id != events[i].id || other[i].id == events[i].id {
					t.Errorf("event %d: ids %s %s %s, want stable per bus", i, events[i].id, again[i].id, other[i].id)
				}
			}
		})
	}
}

func TestS3Bad(t *testing.T) {
	h := testHandler(t)
	rec := func(fields string) string {
		return `{"Records":[{"eventName":"ObjectCreated:Put","eventTime":"2026-11-26T09:00:00Z",` + fields + `}]}`
	}
	tests := []struct{ name, body, want string }{
		{"empty", ``, "not an S3 event notification"},
		{"array", `[{"Records":[]}]`, "not an S3 event notification"},
		{"malformed", `{"Records":[`, "malformed JSON"},
		{"no records", `{"Bucket":"x"}`, "has no Records"},
		{"records not an array", `{"Records":{}}`, "Records must be"},
		{"record not an object", `{"Records":[1]}`, "Record 0 is not an S3 event record"},
		{"no event name", `{"Records":[{"s3":{"bucket":{"name":"b"}}}]}`, "Record 0 has no eventName"},
		{"no bucket", rec(`"s3":{"object":{"key":"k"}}`), "Record 0 has no s3.bucket.name"},
		{"bad time", `{"Records":[{"eventName":"ObjectCreated:Put","eventTime":"yesterday","s3":{"bucket":{"name":"b"}}}]}`, `eventTime "yesterday"`},
		{"fractional size", rec(`"s3":{"bucket":{"name":"b"},"object":{"key":"k","size":1.5}}`), "not a whole number"},
		{"size a string", rec(`"s3":{"bucket":{"name":"b"},"object":{"key":"k","size":"1"}}`), "not a whole number"},
		{"second record bad", `{"Records":[` + strings.TrimSuffix(strings.TrimPrefix(rec(`"s3":{"bucket":{"name":"b"}}`), `{"Records":[`), `]}`) + `,{"eventName":"ObjectCreated:Put"}]}`, "Record 1 has no s3.bucket.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, _, aerr := h.s3Events("default", []byte(tt.body))
			if aerr == nil || aerr.Code != "ValidationException" || !strings.Contains(aerr.Message, tt.want) || events != nil {
				t.Errorf("s3Events(%s) = %d events, %+v; want a ValidationException containing %q", tt.body, len(events), aerr, tt.want)
			}
		})
	}
}

func TestEventConversion(t *testing.T) {
	h := testHandler(t)
	full := `{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"EC2 Instance State-change Notification",` +
		`"source":"aws.ec2","account":"123456789012","time":"2026-11-26T10:20:30Z","region":"eu-west-1",` +
		`"resources":["arn:aws:ec2:eu-west-1:123456789012:instance/i-abcd1111"],"detail":{"instance-id":"i-abcd1111","state":"stopped"}}`
	tests := []struct {
		name, body, want string
	}{
		{"kept as it is", full, full},
		{"extra members dropped, order AWS's", `{"detail":{"a":1},"source":"s","detail-type":"t","replay-name":"r","extra":true,"id":"x","time":"2026-01-02T03:04:05.678+01:00"}`,
			`{"version":"0","id":"x","detail-type":"t","source":"s","account":"000000000000","time":"2026-01-02T02:04:05Z","region":"us-east-1","resources":[],"detail":{"a":1}}`},
		{"no detail", `{"source":"s","detail-type":"t","id":"y"}`,
			`{"version":"0","id":"y","detail-type":"t","source":"s","account":"000000000000","time":"2026-11-26T12:00:00Z","region":"us-east-1","resources":[],"detail":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, _, aerr := h.events("default", []byte(tt.body))
			if aerr != nil || len(events) != 1 {
				t.Fatalf("events: %+v", aerr)
			}
			if string(events[0].data) != tt.want {
				t.Errorf("got  %s\nwant %s", events[0].data, tt.want)
			}
		})
	}
	// No id: a new one.
	events, _, _ := h.events("default", []byte(`{"source":"s","detail-type":"t","detail":{}}`))
	if len(events) != 1 || len(events[0].id) != 36 {
		t.Errorf("no id: %+v", events)
	}

	bad := []struct{ name, body, want string }{
		{"empty", ``, "not an EventBridge event"},
		{"array", `[]`, "not an EventBridge event"},
		{"malformed", `{"source":`, "malformed JSON"},
		{"no source", `{"detail-type":"t","detail":{}}`, "no source"},
		{"empty source", `{"source":"","detail-type":"t","detail":{}}`, "no source"},
		{"no detail-type", `{"source":"s","detail":{}}`, "no detail-type"},
		{"source a number", `{"source":5,"detail-type":"t"}`, "field source must be a string"},
		{"detail a string", `{"source":"s","detail-type":"t","detail":"x"}`, "detail is not a JSON object"},
		{"detail an array", `{"source":"s","detail-type":"t","detail":[1]}`, "detail is not a JSON object"},
		{"resources not strings", `{"source":"s","detail-type":"t","resources":[1]}`, "must be an array of strings"},
		{"bad time", `{"source":"s","detail-type":"t","time":"noon"}`, `time "noon"`},
		{"long id", `{"source":"s","detail-type":"t","id":"` + strings.Repeat("x", 300) + `"}`, "id is longer"},
		{"deep detail", `{"source":"s","detail-type":"t","detail":` + strings.Repeat(`{"a":`, 1001) + `1` + strings.Repeat(`}`, 1001) + `}`, "nested at most"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			events, _, aerr := h.events("default", []byte(tt.body))
			if aerr == nil || aerr.Code != "ValidationException" || !strings.Contains(aerr.Message, tt.want) || events != nil {
				t.Errorf("events(%.80s) = %d events, %+v; want a ValidationException containing %q", tt.body, len(events), aerr, tt.want)
			}
		})
	}
	big := `{"source":"s","detail-type":"t","detail":{"x":"` + strings.Repeat("y", MaxEventSize) + `"}}`
	if _, _, aerr := h.events("default", []byte(big)); aerr == nil || aerr.Code != errTooLarge.Code {
		t.Errorf("oversized event: %+v", aerr)
	}
}

func TestParseCredentials(t *testing.T) {
	keys := []struct {
		in   string
		want Credential
		bad  bool
	}{
		{in: "x-api-key=s3cr3t", want: Credential{Header: "X-Api-Key", Value: "s3cr3t"}},
		{in: "orders/x-api-key=a=b/c", want: Credential{Bus: "orders", Header: "X-Api-Key", Value: "a=b/c"}},
		{in: "Authorization=Bearer abc", want: Credential{Header: "Authorization", Value: "Bearer abc"}},
		{in: "x-api-key=", bad: true},
		{in: "x-api-key", bad: true},
		{in: "bad header=v", bad: true},
		{in: "bad bus/x=v", bad: true},
	}
	for _, tt := range keys {
		got, err := ParseKey(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
	basics := []struct {
		in   string
		want Credential
		bad  bool
	}{
		{in: "alice:pw", want: Credential{Username: "alice", Password: "pw"}},
		{in: "alice:p:w/x", want: Credential{Username: "alice", Password: "p:w/x"}},
		{in: "orders/alice:pw", want: Credential{Bus: "orders", Username: "alice", Password: "pw"}},
		{in: "alice", bad: true},
		{in: "alice:", bad: true},
		{in: ":pw", bad: true},
		{in: "b us/alice:pw", bad: true},
	}
	for _, tt := range basics {
		got, err := ParseBasic(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("ParseBasic(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
