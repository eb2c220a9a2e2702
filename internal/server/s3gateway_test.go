package server_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/conveyor/conveyor/internal/s3gateway"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestS3Example is the seed's S3 example end to end: an S3 client creates
// a bucket through the audit gateway (in front of an in-process S3
// server), the CreateBucket rule fires and its HTTP target gets the event,
// and the call shows in the event history.
func TestS3Example(t *testing.T) {
	storage := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(storage.Close)
	in := servertest.Start(t, func(c *server.Config) {
		c.S3Gateways = []s3gateway.Spec{{Addr: "127.0.0.1:0", Backend: storage.URL}}
	})
	ctx := context.Background()
	addrs := in.Server.S3GatewayAddrs()
	if len(addrs) != 1 {
		t.Fatalf("gateways %v", addrs)
	}
	sink := newSink(t)
	dest := servertest.APIDestination(t, in.Events, "bucket-hook", sink.srv.URL)
	putRule(t, in.Events, "", "bucket-created",
		`{"source":["aws.s3"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["s3.amazonaws.com"],"eventName":["CreateBucket"]}}`,
		types.Target{Id: aws.String("hook"), Arn: aws.String(dest)})

	cfg := in.AWSConfig()
	cfg.BaseEndpoint = aws.String("http://" + addrs[0])
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	// The bucket exists in the storage behind the gateway.
	out, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "demo" {
		t.Fatalf("ListBuckets: %v %v", out, err)
	}

	body := sink.wait(t, 1)[0]
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Account    string `json:"account"`
		Detail     struct {
			EventName         string `json:"eventName"`
			EventSource       string `json:"eventSource"`
			RequestParameters struct {
				BucketName string `json:"bucketName"`
				Host       string `json:"Host"`
			} `json:"requestParameters"`
			UserIdentity struct {
				AccessKeyID string `json:"accessKeyId"`
			} `json:"userIdentity"`
			Resources []struct {
				Type string `json:"type"`
				ARN  string `json:"ARN"`
			} `json:"resources"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	d := ev.Detail
	if ev.Source != "aws.s3" || ev.DetailType != "AWS API Call via CloudTrail" || ev.Account != in.Config.Account ||
		d.EventName != "CreateBucket" || d.EventSource != "s3.amazonaws.com" || d.RequestParameters.BucketName != "demo" ||
		d.RequestParameters.Host != addrs[0] || d.UserIdentity.AccessKeyID != servertest.AccessKeyID ||
		len(d.Resources) != 1 || d.Resources[0].ARN != "arn:aws:s3:::demo" || d.Resources[0].Type != "AWS::S3::Bucket" {
		t.Errorf("target got %s", body)
	}

	// The event history shows the call, by bucket name too.
	for _, attr := range []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateBucket")},
		{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: aws.String("demo")},
		{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("s3.amazonaws.com")},
	} {
		var found []cttypes.Event
		waitfor.True(t, "the CreateBucket call in the history", func() bool {
			out, err := in.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{attr}})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range out.Events {
				if aws.ToString(e.EventName) == "CreateBucket" {
					found = append(found, e)
				}
			}
			return len(found) > 0
		})
		if len(found) != 1 || aws.ToString(found[0].EventSource) != "s3.amazonaws.com" ||
			aws.ToString(found[0].AccessKeyId) != servertest.AccessKeyID || len(found[0].Resources) != 1 ||
			aws.ToString(found[0].Resources[0].ResourceName) != "demo" {
			t.Errorf("LookupEvents %s=%s: %+v", attr.AttributeKey, aws.ToString(attr.AttributeValue), found)
		}
	}
}
