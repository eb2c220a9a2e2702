package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// awsCase is one case of AWS's recorded TestEventPattern answers.
type awsCase struct {
	Name        string          `json:"name"`
	Event       json.RawMessage `json:"event"`
	EventText   *string         `json:"event_text"`
	Pattern     json.RawMessage `json:"pattern"`
	PatternText *string         `json:"pattern_text"`
	Expect      json.RawMessage `json:"expect"`
}

// TestTestEventPatternAWSCases sends every case AWS's answers were recorded
// for through TestEventPattern over HTTP, with the AWS SDK, and checks the
// answer: the result, or the error's code and message.
func TestTestEventPatternAWSCases(t *testing.T) {
	data, err := os.ReadFile("../../pattern/testdata/eventbridge-patterns.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []awsCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	in := servertest.Start(t)
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			ev, pat := string(c.Event), string(c.Pattern)
			if c.EventText != nil {
				ev = *c.EventText
			}
			if c.PatternText != nil {
				pat = *c.PatternText
			}
			out, err := in.Events.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{
				Event: aws.String(ev), EventPattern: aws.String(pat),
			})
			var want string
			if json.Unmarshal(c.Expect, &want) == nil {
				if err != nil {
					t.Fatalf("TestEventPattern: %v, want %s", err, want)
				}
				if out.Result != (want == "match") {
					t.Fatalf("Result = %v, want %s", out.Result, want)
				}
				return
			}
			var wantErr struct{ Error, Message string }
			if err := json.Unmarshal(c.Expect, &wantErr); err != nil {
				t.Fatal(err)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("TestEventPattern: %v (result %+v), want %s", err, out, wantErr.Error)
			}
			if ae.ErrorCode() != wantErr.Error || !strings.HasPrefix(ae.ErrorMessage(), wantErr.Message) {
				t.Errorf("error %s %q, want %s %q…", ae.ErrorCode(), ae.ErrorMessage(), wantErr.Error, wantErr.Message)
			}
		})
	}
}
