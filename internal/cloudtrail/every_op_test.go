package cloudtrail_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestEveryOperationRecorded calls every operation of AWS's EventBridge, SQS
// and CloudTrail models on a whole Conveyor, with an empty request (so most
// fail validation), and checks that each operation the server serves left
// one record in the event history, with its error, unless it is a data
// event; operations the server does not serve leave none.
func TestEveryOperationRecorded(t *testing.T) {
	in := servertest.Start(t)
	const key = "AKIAEVERYOP"
	targets := map[string]struct{ prefix, version, scope string }{
		"events":     {"AWSEvents", "1.1", "events"},
		"sqs":        {"AmazonSQS", "1.0", "sqs"},
		"cloudtrail": {"CloudTrail_20131101", "1.1", "cloudtrail"},
	}
	type answer struct {
		service, op, code string
	}
	var served []answer
	for _, svc := range []string{"events", "sqs", "cloudtrail"} {
		tg := targets[svc]
		for _, op := range awsapi.MustLoadModel(svc).Operations() {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, in.URL+"/", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Target", tg.prefix+"."+op)
			req.Header.Set("Content-Type", "application/x-amz-json-"+tg.version)
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key+"/20261126/us-east-1/"+tg.scope+
				"/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Type string `json:"__type"`
			}
			_ = json.Unmarshal(body, &e)
			code := e.Type[strings.LastIndexByte(e.Type, '#')+1:]
			if resp.StatusCode == http.StatusOK {
				code = ""
			}
			if code == awsapi.CodeUnknownOperationException {
				continue
			}
			served = append(served, answer{svc, op, code})
		}
	}
	if len(served) < 30 {
		t.Fatalf("the server serves only %d operations?", len(served))
	}

	var want []string
	for _, a := range served {
		if !audit.IsDataEvent(audit.EventSource(a.service), a.op) {
			want = append(want, a.service+"/"+a.op)
		}
	}
	slices.Sort(want)
	t.Logf("%d operations served, %d of them management events", len(served), len(want))

	trail := cloudtrail.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(in.URL),
		Credentials: in.CloudTrail.Options().Credentials, Retryer: sdktest.Retryer})
	lookup := func() map[string]cttypes.Event {
		found := map[string]cttypes.Event{}
		p := cloudtrail.NewLookupEventsPaginator(trail, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{
			AttributeKey: cttypes.LookupAttributeKeyAccessKeyId, AttributeValue: aws.String(key)}}})
		for p.HasMorePages() {
			out, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range out.Events {
				k := strings.TrimSuffix(aws.ToString(ev.EventSource), ".amazonaws.com") + "/" + aws.ToString(ev.EventName)
				if _, dup := found[k]; dup {
					t.Errorf("%s recorded twice", k)
				}
				found[k] = ev
			}
		}
		return found
	}
	var found map[string]cttypes.Event
	keys := func() []string {
		got := make([]string, 0, len(found))
		for k := range found {
			got = append(got, k)
		}
		slices.Sort(got)
		return got
	}
	waitfor.Err(t, waitfor.Timeout, "a record of every operation", func() error {
		if found = lookup(); len(found) < len(want) {
			return fmt.Errorf("recorded %d operations, want %d; missing: %v", len(found), len(want), minus(want, keys()))
		}
		return nil
	})
	if got := keys(); !slices.Equal(got, want) {
		t.Fatalf("recorded %d operations, want %d\nmissing: %v\nextra: %v", len(got), len(want), minus(want, got), minus(got, want))
	}
	for _, a := range served {
		ev, ok := found[a.service+"/"+a.op]
		if !ok {
			continue
		}
		var rec audit.Record
		if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.ErrorCode != a.code || rec.ReadOnly != audit.IsReadOnly(rec.EventSource, a.op) ||
			aws.ToString(ev.ReadOnly) != map[bool]string{true: "true", false: "false"}[rec.ReadOnly] ||
			rec.UserIdentity.AccessKeyID != key || rec.EventType != "AwsApiCall" || rec.EventCategory != "Management" ||
			(rec.ReadOnly || a.code != "") && string(rec.ResponseElements) != "null" {
			t.Errorf("%s/%s (answered %q): record %s", a.service, a.op, a.code, aws.ToString(ev.CloudTrailEvent))
		}
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
