package awsapi

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/conveyor/conveyor/internal/awsapi/internal/errtable"
)

// The generated file must be what errors.json says (run `go generate ./awsapi` after editing it).
func TestGeneratedTableIsCurrent(t *testing.T) {
	data, err := os.ReadFile("errors.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := errtable.Generate("awsapi", data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("errors_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("errors_gen.go is stale: run go generate ./awsapi")
	}
}

func TestErrtableRejects(t *testing.T) {
	for _, bad := range []string{
		`[{"code":"A","service":"events","status":400,"fault":"client","description":""},{"code":"A","service":"events","status":400,"fault":"client","description":""}]`,
		`[{"code":"A","service":"s3","status":400,"fault":"client","description":""}]`,
		`[{"code":"A","service":"events","status":200,"fault":"client","description":""}]`,
		`[{"code":"A","service":"events","status":500,"fault":"client","description":""}]`,
		`[{"code":"A#B","service":"events","status":400,"fault":"client","description":""}]`,
		`[{"code":"A","service":"events","status":400,"fault":"client","description":"","extra":1}]`,
	} {
		if _, err := errtable.Parse([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestErrorTable(t *testing.T) {
	for _, c := range []struct {
		service, code string
		status        int
		fault         Fault
		query         string
	}{
		{"events", CodeResourceNotFoundException, 400, FaultClient, ""},
		{"events", CodeInternalException, 500, FaultServer, ""},
		{"events", CodeInvalidEventPatternException, 400, FaultClient, ""},
		{"events", CodeValidationException, 400, FaultClient, ""},
		{"cloudtrail", CodeInvalidLookupAttributesException, 400, FaultClient, ""},
		{"cloudtrail", CodeInvalidTimeRangeException, 400, FaultClient, ""},
		{"cloudtrail", CodeInvalidNextTokenException, 400, FaultClient, ""},
		{"sqs", CodeQueueDoesNotExist, 400, FaultClient, "AWS.SimpleQueueService.NonExistentQueue"},
		{"sqs", CodeResourceNotFoundException, 404, FaultClient, "ResourceNotFoundException"},
		{"sqs", CodeReceiptHandleIsInvalid, 404, FaultClient, "ReceiptHandleIsInvalid"},
		{"sqs", CodeInternalFailure, 500, FaultServer, ""},
		{"", CodeMissingAuthenticationTokenException, 403, FaultClient, ""},
		{"", CodeRequestEntityTooLargeException, 413, FaultClient, ""},
		{"", CodeThrottlingException, 400, FaultClient, ""},
	} {
		e, ok := LookupError(c.service, c.code)
		if !ok || e.Status != c.status || e.Fault != c.fault || e.QueryCode != c.query || e.Description == "" {
			t.Errorf("LookupError(%q, %q) = %+v, %v", c.service, c.code, e, ok)
		}
	}
	if _, ok := LookupError("events", "NoSuchCode"); ok {
		t.Error("unknown code found")
	}
	if n := len(ErrorTable()); n < 130 {
		t.Errorf("table has %d rows", n)
	}
}

func TestErrorf(t *testing.T) {
	e := Errorf(CodeResourceNotFoundException, "Rule %s does not exist.", "r")
	if e.Code != "ResourceNotFoundException" || e.Message != "Rule r does not exist." || e.Status != 400 ||
		e.Error() != "ResourceNotFoundException: Rule r does not exist." {
		t.Errorf("Errorf = %+v", e)
	}
	if e := Errorf(CodeValidationException, "%s", "100% sure"); e.Message != "100% sure" {
		t.Errorf("format without args = %q", e.Message)
	}
	if e := Errorf("NotInTable", "x"); e.Status != 400 {
		t.Errorf("unknown code status %d", e.Status)
	}
	if e := Errorf(CodeInternalException, "x"); e.Status != 500 {
		t.Errorf("InternalException status %d", e.Status)
	}
	wrapped := fmt.Errorf("ctx: %w", e)
	if !errors.Is(wrapped, NewError(CodeResourceNotFoundException)) || errors.Is(wrapped, NewError(CodeInternalException)) {
		t.Error("errors.Is by code")
	}
	if e := NewError(CodeMissingAuthenticationTokenException); e.Message != "Missing Authentication Token" || e.Status != 403 {
		t.Errorf("NewError = %+v", e)
	}
}
