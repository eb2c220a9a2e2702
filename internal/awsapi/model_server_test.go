package awsapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/awsapi"
)

type putRuleInput struct {
	Name         *string `json:"Name"`
	EventPattern *string `json:"EventPattern"`
	State        string  `json:"State"`
	EventBusName string  `json:"EventBusName"`
}

type putRuleOutput struct {
	RuleArn string `json:"RuleArn"`
}

// With a model set, the server answers constraint violations before the handler runs.
func TestModelThroughSDK(t *testing.T) {
	eb := awsapi.NewEventBridge()
	eb.SetModel(awsapi.MustLoadModel("events"))
	var called int
	awsapi.Handle(eb, "PutRule", func(ctx context.Context, in *putRuleInput) (*putRuleOutput, error) {
		called++
		return &putRuleOutput{RuleArn: "arn:aws:events:us-east-1:000000000000:rule/" + *in.Name}, nil
	})
	if err := eb.CheckModel(); err != nil {
		t.Fatalf("CheckModel: %v", err)
	}
	srv, err := awsapi.NewServer(awsapi.Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, eb)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := eventbridge.NewFromConfig(awsConfig(hs.URL))

	out, err := c.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String("r1"), EventPattern: aws.String(`{"source":["a"]}`)})
	if err != nil || aws.ToString(out.RuleArn) != "arn:aws:events:us-east-1:000000000000:rule/r1" {
		t.Fatalf("PutRule = %v, %v", out, err)
	}
	_, err = c.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String(strings.Repeat("r", 65) + "!"), State: "ON"})
	var ae smithy.APIError
	want := "3 validation errors detected: Value '" + strings.Repeat("r", 65) + "!' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64; " +
		"Value '" + strings.Repeat("r", 65) + `!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+; ` +
		"Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != want {
		t.Errorf("PutRule(bad) err = %v\nwant %s", err, want)
	}
	if called != 1 {
		t.Errorf("handler called %d times, want 1 (invalid input must not reach it)", called)
	}

	type typo struct {
		Nmae string `json:"Nmae"`
	}
	awsapi.Handle(eb, "DeleteRule", func(ctx context.Context, in *typo) (*struct{}, error) { return nil, nil })
	awsapi.Handle(eb, "MadeUp", func(ctx context.Context, in *struct{}) (*struct{}, error) { return nil, nil })
	err = eb.CheckModel()
	if err == nil || !strings.Contains(err.Error(), "member Nmae is not in the model's DeleteRuleRequest") ||
		!strings.Contains(err.Error(), "events has no operation MadeUp") {
		t.Errorf("CheckModel = %v", err)
	}
}
