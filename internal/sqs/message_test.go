package sqs

import (
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/awsapi"
)

func strp(s string) *string { return &s }

// The MD5OfMessageAttributes values were computed with an independent
// implementation of SQS's algorithm (moto's Message.attribute_md5).
func TestMD5OfAttributes(t *testing.T) {
	cases := []struct {
		attrs map[string]MessageAttributeValue
		want  string
	}{
		{map[string]MessageAttributeValue{
			"color": {DataType: "String", StringValue: strp("red")},
			"n":     {DataType: "Number", StringValue: strp("42")},
			"bin":   {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
		}, "36f6ca68e3cb93d259ce8b958a082bea"},
		{map[string]MessageAttributeValue{
			"ERROR_CODE":     {DataType: "String", StringValue: strp("SDK_CLIENT_ERROR")},
			"RETRY_ATTEMPTS": {DataType: "Number", StringValue: strp("0")},
		}, "c1343d3bf65d4ba5ae56da7e78c48227"},
		{nil, ""},
	}
	for _, c := range cases {
		if got := md5OfAttributes(c.attrs); got != c.want {
			t.Errorf("md5OfAttributes(%v) = %s, want %s", c.attrs, got, c.want)
		}
	}
	if got := md5Hex([]byte("hello")); got != "5d41402abc4b2a76b9719d911017c592" {
		t.Errorf("md5Hex = %s", got)
	}
}

func TestValidBody(t *testing.T) {
	for s, want := range map[string]bool{
		"plain": true, "tab\tnew\nline\r": true, "é€😀": true, "\uE000\uFFFD": true,
		"nul\x00": false, "bell\x07": false, "\uFFFE": false, "\xff": false, "bad\xed\xa0\x80surrogate": false,
	} {
		if got := validBody(s); got != want {
			t.Errorf("validBody(%q) = %v", s, got)
		}
	}
}

func TestWantAttribute(t *testing.T) {
	for _, c := range []struct {
		names []string
		name  string
		want  bool
	}{
		{[]string{"All"}, "x", true},
		{[]string{".*"}, "x", true},
		{[]string{"a.*"}, "a.b", true},
		{[]string{"a.*"}, "ab", false},
		{[]string{"a.*"}, "a", false},
		{[]string{"x"}, "x", true},
		{[]string{"x"}, "y", false},
		{nil, "x", false},
	} {
		if got := wantAttribute(c.names, c.name); got != c.want {
			t.Errorf("wantAttribute(%v, %q) = %v", c.names, c.name, got)
		}
	}
}

func TestMessageID(t *testing.T) {
	a, b := messageID("g1", 1), messageID("g1", 2)
	if a == b || a != messageID("g1", 1) || a == messageID("g2", 1) {
		t.Errorf("message ids %s %s", a, b)
	}
	if len(a) != 36 || strings.Count(a, "-") != 4 || a[14] != '4' {
		t.Errorf("not a v4 UUID form: %s", a)
	}
}

func testService() *Service {
	return &Service{secret: []byte("0123456789abcdef0123456789abcdef")}
}

func TestReceiptHandle(t *testing.T) {
	s := testService()
	q := &queue{gen: "gen-a"}
	h := s.handle(receipt{gen: "gen-a", seq: 42, receives: 3})
	r, err := s.parseHandle(q, h)
	if err != nil || r.seq != 42 || r.receives != 3 || r.gen != "gen-a" {
		t.Fatalf("parseHandle = %+v, %v", r, err)
	}
	if _, err := s.parseHandle(&queue{gen: "gen-b"}, h); err == nil {
		t.Error("handle accepted by another queue")
	}
	other := &Service{secret: []byte("another secret, another server!!")}
	if _, err := other.parseHandle(q, h); err == nil {
		t.Error("handle accepted under another secret")
	}
	for i := range len(h) {
		b := []byte(h)
		b[i] ^= 0x01
		if _, err := s.parseHandle(q, string(b)); err == nil && string(b) != h {
			// Flipping the low bit of a base64 character can leave the
			// decoded bytes unchanged only in the final padding bits.
			if r2, _ := s.parseHandle(q, string(b)); r2 != r {
				t.Errorf("tampered handle %q accepted as %+v", b, r2)
			}
		}
	}
	for _, bad := range []string{"", "x", "AAAA", h + "A", h[:len(h)-2]} {
		if _, err := s.parseHandle(q, bad); err == nil {
			t.Errorf("parseHandle(%q) accepted", bad)
		}
	}
}

// FuzzParseHandle: no input panics, and only the service's own handles are
// accepted.
func FuzzParseHandle(f *testing.F) {
	s := testService()
	f.Add(s.handle(receipt{gen: "g", seq: 1, receives: 1}))
	f.Add("AQFnAQE")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		q := &queue{gen: "g"}
		r, err := s.parseHandle(q, h)
		if err != nil {
			return
		}
		if s.handle(r) != h && len(h) > 0 {
			// Another encoding of the same bytes (base64 padding bits) may
			// parse; it must name the same receipt.
			r2, err := s.parseHandle(q, s.handle(r))
			if err != nil || r2 != r {
				t.Fatalf("accepted %q as %+v", h, r)
			}
		}
	})
}

// TestInputsMatchModel: every handler input's members are members of AWS's
// model (a typo would be a member the SDKs send and nobody reads).
func TestInputsMatchModel(t *testing.T) {
	svc := awsapi.NewSQS()
	svc.SetModel(awsapi.MustLoadModel("sqs"))
	(&Service{}).Register(svc, nil)
	if err := svc.CheckModel(); err != nil {
		t.Error(err)
	}
}
