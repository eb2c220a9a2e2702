package awsapi

import (
	"context"
	"slices"
	"testing"
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
