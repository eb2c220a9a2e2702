package scope_test

import (
	"testing"

	"github.com/conveyor/conveyor/internal/scope"
)

func TestParseARN(t *testing.T) {
	for _, s := range []string{"arn:aws:sqs:us-east-1:123456789012:q", "arn:aws-cn:s3:::bucket/key:with:colons"} {
		a, ok := scope.ParseARN(s)
		if !ok || a.String() != s {
			t.Errorf("ParseARN(%q) = %+v, %v", s, a, ok)
		}
	}
	for _, s := range []string{"", "arn", "arn:aws:sqs", "arn::sqs:r:a:q", "arn:aws::r:a:q", "arn:aws:sqs:r:a:", "urn:aws:sqs:r:a:q"} {
		if _, ok := scope.ParseARN(s); ok {
			t.Errorf("ParseARN(%q) ok, want not", s)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, sc := range []scope.Scope{{Account: "123456789012", Region: "us-east-1"}, {Account: "000000000000", Region: "local"}} {
		if err := sc.Validate(); err != nil {
			t.Errorf("%v: %v", sc, err)
		}
	}
	for _, sc := range []scope.Scope{{Account: "12345", Region: "us-east-1"}, {Account: "123456789012", Region: "US East"},
		{Account: "123456789012", Region: ""}, {Account: "123456789012", Region: "a-very-long-region-name-that-is-not-one"}} {
		if err := sc.Validate(); err == nil {
			t.Errorf("%v accepted", sc)
		}
	}
	if got := (scope.Scope{Account: "1", Region: "r"}).ARN("sqs", "q"); got != "arn:aws:sqs:r:1:q" {
		t.Errorf("ARN = %s", got)
	}
}
