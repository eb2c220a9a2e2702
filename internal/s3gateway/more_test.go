package s3gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/sdktest"
)

// Multipart uploads, copies, batch deletes and bucket configuration calls
// are named as CloudTrail names them, with their query parameters.
func TestGatewayMoreOperations(t *testing.T) {
	rg := newRig(t, true)
	ctx := t.Context()
	c := rg.client
	b := aws.String("multi")
	must := func(op string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	must("CreateBucket", err)
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("big")})
	must("CreateMultipartUpload", err)
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("big"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(bytes.Repeat([]byte("x"), 1024))})
	must("UploadPart", err)
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("big"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
	must("CompleteMultipartUpload", err)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("copy"), CopySource: aws.String("multi/big")})
	must("CopyObject", err)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("copy")})
	must("HeadObject", err)
	_, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("big")}, {Key: aws.String("copy")}}}})
	must("DeleteObjects", err)
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	must("PutBucketVersioning", err)
	_, err = c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	must("GetBucketVersioning", err)
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b})
	must("HeadBucket", err)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("gone")})
	if err == nil {
		t.Fatal("HeadObject of a missing key succeeded")
	}

	recs := rg.rec.take()
	var got []string
	for _, r := range recs {
		got = append(got, r.EventName+":"+r.ErrorCode)
	}
	want := "CreateBucket:,CreateMultipartUpload:,UploadPart:,CompleteMultipartUpload:,CopyObject:,HeadObject:," +
		"DeleteObjects:,PutBucketVersioning:,GetBucketVersioning:,HeadBucket:,HeadObject:NotFound"
	if strings.Join(got, ",") != want {
		t.Fatalf("recorded\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	byName := map[string]*audit.Record{}
	for _, r := range recs {
		byName[r.EventName] = r
	}
	for name, frag := range map[string]string{
		"CreateMultipartUpload":   `"uploads":""`,
		"UploadPart":              `"partNumber":"1","uploadId":"` + aws.ToString(up.UploadId) + `"`,
		"CompleteMultipartUpload": `"uploadId":"` + aws.ToString(up.UploadId) + `"`,
		"DeleteObjects":           `"bucketName":"multi","delete":""`,
		"PutBucketVersioning":     `"versioning":""`,
	} {
		if p := string(byName[name].RequestParameters); !strings.Contains(p, frag) {
			t.Errorf("%s parameters %s lack %s", name, p, frag)
		}
	}
	if r := byName["PutBucketVersioning"]; !r.ManagementEvent || r.ReadOnly {
		t.Errorf("PutBucketVersioning: management %v readOnly %v", r.ManagementEvent, r.ReadOnly)
	}
	if r := byName["GetBucketVersioning"]; !r.ManagementEvent || !r.ReadOnly {
		t.Errorf("GetBucketVersioning: management %v readOnly %v", r.ManagementEvent, r.ReadOnly)
	}
	if r := byName["HeadBucket"]; !r.ManagementEvent || !r.ReadOnly {
		t.Errorf("HeadBucket: management %v readOnly %v", r.ManagementEvent, r.ReadOnly)
	}
}

// Virtual-host-style requests (bucket.localhost) name their bucket in the
// Host header, which reaches the backend unchanged.
func TestGatewayVirtualHost(t *testing.T) {
	b, _ := audit.NewBuilder(audit.Config{AccountID: "123456789012", Region: "us-east-1", DataEvents: true})
	rec := &builtRecorder{b: b}
	var gw *Gateway
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gw.ServeHTTP(w, r) }))
	t.Cleanup(front.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(front.URL, "http://"))
	// The storage takes the bucket from the Host header the client sent.
	backend := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithHostBucketBase("localhost:"+port)).Server())
	t.Cleanup(backend.Close)
	var err error
	gw, err = New(Config{Backend: backend.URL, Recorder: rec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// Every host name resolves to the gateway.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, strings.TrimPrefix(front.URL, "http://"))
	}
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAVHOST", "secret", ""),
		BaseEndpoint: aws.String("http://localhost:" + port),
		Retryer:      sdktest.Retryer(),
		HTTPClient:   &http.Client{Transport: &http.Transport{DialContext: dial}},
	})
	ctx := t.Context()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a/b.txt"), Body: strings.NewReader("hi")}); err != nil {
		t.Fatal(err)
	}
	recs := rec.take()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	for i, want := range []string{
		`{"Host":"vhost.localhost:` + port + `","bucketName":"vhost"}`,
		`{"Host":"vhost.localhost:` + port + `","bucketName":"vhost","key":"a/b.txt"` + extraParams(recs[1]) + `}`,
	} {
		if got := string(recs[i].RequestParameters); got != want {
			t.Errorf("record %d (%s): %s, want %s", i, recs[i].EventName, got, want)
		}
	}
}
