package awsapi

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/identity"
)

func TestParseSigV4(t *testing.T) {
	for _, c := range []struct {
		in   string
		want SigV4
		ok   bool
	}{
		{"AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/events/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd",
			SigV4{"AKID", "20240101", "us-east-1", "events", []string{"host", "x-amz-date"}, "abcd", false}, true},
		{"AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/cloudtrail/aws4_request,SignedHeaders=host,Signature=ff",
			SigV4{"AKID", "20240101", "eu-west-1", "cloudtrail", []string{"host"}, "ff", false}, true},
		{"AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/events/aws4_request, SignedHeaders=host", SigV4{}, false},
		{"AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/events, SignedHeaders=host, Signature=ab", SigV4{}, false},
		{"AWS4-HMAC-SHA256 Credential=/20240101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=ab", SigV4{}, false},
		{"AWS4-HMAC-SHA256X Credential=AKID/20240101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=ab", SigV4{}, false},
		{"AWS AKID:signature", SigV4{}, false},
		{"", SigV4{}, false},
	} {
		got, ok := ParseSigV4(c.in)
		if ok != c.ok || got.AccessKeyID != c.want.AccessKeyID || got.Region != c.want.Region || got.Service != c.want.Service ||
			got.Date != c.want.Date || got.Signature != c.want.Signature || !slices.Equal(got.SignedHeaders, c.want.SignedHeaders) {
			t.Errorf("ParseSigV4(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseSigV4(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/events/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
	f.Add("AWS4-HMAC-SHA256 ,,==,Credential=a/b/c/d/aws4_request")
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := ParseSigV4(s); ok && (v.AccessKeyID == "" || v.Signature == "") {
			t.Fatalf("ParseSigV4(%q) ok without key or signature", s)
		}
	})
}

func TestCallerContext(t *testing.T) {
	if c := CallerFrom(context.Background()); c != (Caller{}) {
		t.Errorf("CallerFrom(empty) = %+v", c)
	}
	c := Caller{AccessKeyID: "k", Region: "r"}
	if got := CallerFrom(ContextWithCaller(context.Background(), c)); got != c {
		t.Errorf("CallerFrom = %+v", got)
	}
}

func TestCallerLogHandler(t *testing.T) {
	var buf strings.Builder
	log := slog.New(CallerLogHandler(slog.NewTextHandler(&buf, nil))).With("component", "x")
	ctx := ContextWithCaller(context.Background(), Caller{AccessKeyID: "AKIDALICE", Account: "111111111111", RequestID: "req-1",
		Identity: &identity.Principal{ARN: "arn:aws:iam::111111111111:user/alice"}})
	log.InfoContext(ctx, "in a call")
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "access_key=AKIDALICE account=111111111111 request_id=req-1 principal=arn:aws:iam::111111111111:user/alice") ||
		!strings.Contains(lines[0], "component=x") || strings.Contains(lines[1], "access_key") {
		t.Errorf("log:\n%s", buf.String())
	}
}
