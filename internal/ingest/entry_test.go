package ingest

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/event"
)

type entryCase struct {
	Name    string `json:"name"`
	Entry   Entry  `json:"entry"`
	Trusted bool   `json:"trusted"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func TestValidateCases(t *testing.T) {
	data, err := os.ReadFile("testdata/entries.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []entryCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got := c.Entry.Validate(c.Trusted)
			switch {
			case c.Code == "" && got != nil:
				t.Errorf("Validate = %v, want ok", got)
			case c.Code != "" && got == nil:
				t.Errorf("Validate = ok, want %s: %s", c.Code, c.Message)
			case c.Code != "" && (got.Code != c.Code || got.Message != c.Message):
				t.Errorf("Validate = %s: %s, want %s: %s", got.Code, got.Message, c.Code, c.Message)
			}
		})
	}
}

func TestSize(t *testing.T) {
	ts := awsapi.NewTimestamp(time.Unix(1, 0))
	for _, c := range []struct {
		e    Entry
		want int
	}{
		{Entry{}, 0},
		{Entry{Source: "abc", DetailType: "de", Detail: "{}"}, 7},
		{Entry{Source: "abc", DetailType: "de", Detail: "{}", Time: &ts}, 21},
		{Entry{Source: "é", DetailType: "日本", Detail: `{"a":"€"}`, Resources: []string{"r1", "r22"}}, 2 + 6 + 11 + 5},
		{Entry{Source: "a", EventBusName: "not counted", TraceHeader: "not counted"}, 1},
	} {
		if got := c.e.Size(); got != c.want {
			t.Errorf("Size(%+v) = %d, want %d", c.e, got, c.want)
		}
	}
}

func TestValidateRequest(t *testing.T) {
	ok := Entry{Source: "a", DetailType: "b", Detail: "{}"}
	big := func(n int) []Entry { // entries totalling n bytes
		e := ok
		e.Detail = `{"x":"` + strings.Repeat("y", n-len(e.Source)-len(e.DetailType)-8) + `"}`
		return []Entry{e}
	}
	ten := make([]Entry, 10)
	eleven := make([]Entry, 11)
	for i := range eleven {
		eleven[i] = ok
		if i < 10 {
			ten[i] = ok
		}
	}
	entry := "PutEventsRequestEntry(time=null, source=a, detailType=b, eventBusName=null, traceHeader=null, kmsKeyIdentifier=null, internalMetadata=null)"
	for _, c := range []struct {
		name    string
		entries []Entry
		ep      *string
		want    string // "" = ok
	}{
		{"one", []Entry{ok}, nil, ""},
		{"ten", ten, nil, ""},
		{"eleven", eleven, nil, "1 validation error detected: Value '[" + strings.Repeat(entry+", ", 10) + entry +
			"]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10"},
		{"none", []Entry{}, nil, "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"null", nil, nil, "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null"},
		{"exactly 256KB", big(MaxRequestSize), nil, ""},
		{"256KB + 1", big(MaxRequestSize + 1), nil, "Total size of the entries in the request is over the limit."},
		{"bad bus and trace header", []Entry{ok, {Source: "a", DetailType: "b", Detail: "{}", EventBusName: "bad/name", TraceHeader: strings.Repeat("t", 501)}}, nil,
			"2 validation errors detected: Value 'bad/name' at 'entries.2.member.eventBusName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[\\.\\-_A-Za-z0-9]+; " +
				"Value '" + strings.Repeat("t", 501) + "' at 'entries.2.member.traceHeader' failed to satisfy constraint: Member must have length less than or equal to 500"},
		{"bus arn", []Entry{{Source: "a", DetailType: "b", Detail: "{}", EventBusName: "arn:aws:events:us-east-1:000000000000:event-bus/orders"}}, nil, ""},
		{"endpoint", []Entry{ok}, ptr("abc.xyz"), ""},
		{"empty endpoint is none", []Entry{ok}, ptr(""), ""},
		{"bad endpoint", []Entry{ok}, ptr("abc"), "1 validation error detected: Value 'abc' at 'endpointId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[A-Za-z0-9\\-]+[\\.][A-Za-z0-9\\-]+$"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateRequest(c.entries, c.ep)
			if c.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var ae *awsapi.Error
			if !errors.As(err, &ae) || ae.Code != "ValidationException" || ae.Status != 400 || ae.Message != c.want {
				t.Errorf("err = %v\nwant ValidationException: %s", err, c.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzValidate checks that nothing panics and that Validate agrees with encoding/json about
// what a JSON object is.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}]}`, `[]`, `{"a":"\u00e9\\"}`, `{`, `{"a":1}}`, strings.Repeat("[", 1002)} {
		f.Add("src", "dt", s)
	}
	f.Fuzz(func(t *testing.T, src, dt, detail string) {
		e := Entry{Source: src, DetailType: dt, Detail: detail}
		err := e.Validate(false)
		_ = e.Size()
		if src == "" || dt == "" || detail == "" {
			if err == nil || err.Code != CodeInvalidArgument {
				t.Fatalf("missing member accepted: %v", err)
			}
			return
		}
		var obj map[string]any
		isObj := json.Unmarshal([]byte(detail), &obj) == nil && obj != nil && event.Depth(detail) <= event.MaxDetailDepth
		if isObj != event.ValidDetail(detail) {
			t.Fatalf("ValidDetail(%q) = %v, encoding/json says object: %v", detail, !isObj, isObj)
		}
		if !isObj && (err == nil || err.Code != CodeMalformedDetail) {
			t.Fatalf("malformed detail %q: %v", detail, err)
		}
		if isObj && strings.HasPrefix(src, "aws.") != (err != nil) {
			t.Fatalf("source %q: %v", src, err)
		}
	})
}

// The request-level checks say what AWS's model says, word for word, so the answer does not
// depend on whether the server validates with the model first.
func TestValidateRequestAgreesWithModel(t *testing.T) {
	model := awsapi.MustLoadModel("events")
	ts := awsapi.NewTimestamp(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	e := Entry{Source: "a", DetailType: "b", Detail: `{"x":1}`, Resources: []string{"r1", "r2"}, Time: &ts, EventBusName: "orders"}
	eleven := make([]Entry, 11)
	for i := range eleven {
		eleven[i] = e
	}
	bad := e
	bad.EventBusName, bad.TraceHeader = "bad/name", strings.Repeat("t", 501)
	type putEventsInput struct {
		Entries    []Entry `json:"Entries"`
		EndpointId *string `json:"EndpointId"`
	}
	for _, c := range []putEventsInput{
		{Entries: eleven},
		{Entries: []Entry{}},
		{Entries: []Entry{e, bad}},
		{Entries: []Entry{e}, EndpointId: ptr("x")},
	} {
		want := model.Validate("PutEvents", &c)
		got := ValidateRequest(c.Entries, c.EndpointId)
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("ValidateRequest = %v\nmodel says      %v", got, want)
		}
	}
}

func TestEntryEnvelope(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	e := Entry{Source: "s", DetailType: "d", Detail: `{"a":1}`}
	got := string(e.Envelope("id1", "000000000000", "us-east-1", now).AppendJSON(nil))
	want := `{"version":"0","id":"id1","detail-type":"d","source":"s","account":"000000000000","time":"2024-05-06T07:08:09Z","region":"us-east-1","resources":[],"detail":{"a":1}}`
	if got != want {
		t.Errorf("envelope\n got %s\nwant %s", got, want)
	}
}

func BenchmarkValidate(b *testing.B) {
	small := Entry{Source: "my.app", DetailType: "Order Placed", Detail: `{"order":{"id":"o-1","items":[{"sku":"a","qty":2}],"total":12.5}}`}
	large := small
	large.Detail = `{"blob":"` + strings.Repeat("x", 200_000) + `","n":[` + strings.Repeat("1,", 10_000) + `1]}`
	for _, c := range []struct {
		name string
		e    Entry
	}{{"detail=small", small}, {"detail=256KB", large}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.e.Detail)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.e.Validate(false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
