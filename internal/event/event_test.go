package event

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sampleEvent() *Event {
	return &Event{
		Version:    "0",
		ID:         "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		DetailType: "EC2 Instance State-change Notification",
		Source:     "aws.ec2",
		Account:    "111122223333",
		Time:       time.Date(2017, 12, 22, 18, 43, 48, 999_000_000, time.UTC),
		Region:     "us-west-1",
		Resources:  []string{"arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"},
		Detail:     json.RawMessage(`{"instance-id":"i-1234567890abcdef0","state":"terminated"}`),
	}
}

func TestEnvelopeGolden(t *testing.T) {
	noRes := sampleEvent()
	noRes.Resources = nil
	noRes.Detail = nil
	noRes.Version = ""
	replay := sampleEvent()
	replay.ReplayName = "replay-1"
	replay.Time = time.Date(2024, 1, 2, 4, 4, 5, 0, time.FixedZone("X", 3600))
	odd := sampleEvent()
	odd.Source = "my.app\n\"quoted\" <b>&\x01\x1f\\ é \xff"
	var b bytes.Buffer
	for _, e := range []*Event{sampleEvent(), noRes, replay, odd} {
		out := e.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		// json.Marshal goes through MarshalJSON (and then compacts and HTML-escapes).
		viaStd, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var x, y any
		if json.Unmarshal(out, &x) != nil || json.Unmarshal(viaStd, &y) != nil || !reflect.DeepEqual(x, y) {
			t.Errorf("json.Marshal differs:\n%s\n%s", out, viaStd)
		}
		b.Write(out)
		b.WriteByte('\n')
	}
	const golden = "testdata/envelopes.golden.jsonl"
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("envelopes differ from %s (run with -update to rewrite):\n%s", golden, b.Bytes())
	}
}

func TestParseRoundTrip(t *testing.T) {
	e := sampleEvent()
	e.Time = e.Time.Truncate(time.Second)
	e.ReplayName = "r"
	got, err := Parse(e.AppendJSON(nil))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(e)
	if !bytes.Equal(a, b) || !got.Time.Equal(e.Time) {
		t.Errorf("round trip:\n%s\n%s", a, b)
	}
	if _, err := Parse([]byte(`{"time":"yesterday"}`)); err == nil {
		t.Error("bad time accepted")
	}
	if e, err := Parse([]byte(`{"version":"0"}`)); err != nil || e.Resources == nil {
		t.Errorf("Parse without resources = %+v, %v", e, err)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x1f\x7f", "é日本\u2028", "\xff\xfe", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: %v", s, out, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if utf8.ValidString(s) {
			want = s
		}
		// encoding/json replaces each invalid byte with U+FFFD; so does AppendString.
		var ref string
		refJSON, _ := json.Marshal(s)
		_ = json.Unmarshal(refJSON, &ref)
		if back != ref {
			t.Fatalf("AppendString(%q) decodes to %q, encoding/json to %q (%q)", s, back, ref, want)
		}
	})
}

// stdEvent is the envelope as a tagged struct, to compare the hand-written encoder with
// encoding/json.
type stdEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	ReplayName string          `json:"replay-name,omitempty"`
}

func BenchmarkEnvelope(b *testing.B) {
	e := sampleEvent()
	size := len(e.AppendJSON(nil))
	b.Run("AppendJSON", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf = e.AppendJSON(buf[:0])
		}
	})
	b.Run("MarshalJSON", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-struct", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			s := stdEvent{e.Version, e.ID, e.DetailType, e.Source, e.Account, e.Time.UTC().Format(TimeFormat), e.Region,
				e.Resources, e.Detail, e.ReplayName}
			if _, err := json.Marshal(&s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestDepth(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{`1`, 0},
		{`{}`, 1},
		{`{"a":[{"b":[]}]}`, 4},
		{`{"a":"[[[["}`, 1},
		{`{"a":"\"[[[["}`, 1},
		{`{"a\\":[1]}`, 2},
		{`[[`, 2},
	} {
		if got := Depth(c.in); got != c.want {
			t.Errorf("Depth(%s) = %d, want %d", c.in, got, c.want)
		}
	}
}
