package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/conveyor/conveyor/internal/lambda/lambdatest"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// The Lambda API is served beside the others, and its calls are recorded under CloudTrail's
// names for them (eventSource lambda.amazonaws.com, CreateFunction20150331).
func TestLambdaAPIRecorded(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("bootstrap"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	fn, err := in.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("process"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: buf.Bytes()},
		Environment: &lambdatypes.Environment{Variables: map[string]string{"DB_PASSWORD": "hunter2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(fn.FunctionArn) != "arn:aws:lambda:"+in.Config.Region+":"+in.Config.Account+":function:process" {
		t.Errorf("function ARN %s", aws.ToString(fn.FunctionArn))
	}
	var rec string
	waitfor.Err(t, waitfor.Timeout, "the CreateFunction call in the history", func() error {
		out, err := in.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
			{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("lambda.amazonaws.com")}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) != 1 || aws.ToString(out.Events[0].EventName) != "CreateFunction20150331" ||
			!strings.Contains(aws.ToString(out.Events[0].CloudTrailEvent), `"functionName":"process"`) {
			return fmt.Errorf("the history shows %+v", out.Events)
		}
		rec = aws.ToString(out.Events[0].CloudTrailEvent)
		return nil
	})
	if strings.Contains(rec, "hunter2") || strings.Contains(rec, "UEsD") || !strings.Contains(rec, `"zipFile":"HIDDEN_DUE_TO_SECURITY_REASONS"`) {
		t.Errorf("the record holds the code or an environment variable: %s", rec)
	}
}

// An Invoke posted with a form's content type (curl's default) is Lambda's, not an SQS
// Query call: its path says so.
func TestInvokePostedAsForm(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	if _, err := in.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("echo"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: "conveyor.command", Handler: aws.String("cat"),
		Code: &lambdatypes.FunctionCode{ZipFile: lambdatest.ScriptZip(t, "README", "cat")}}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(in.URL+"/2015-03-31/functions/echo/invocations", "application/x-www-form-urlencoded", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != `{"a":1}` {
		t.Errorf("invoke posted as a form: %d %s", resp.StatusCode, body)
	}
}
