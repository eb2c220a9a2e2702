package s3gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		method, target, host string
		header               map[string]string
		op, bucket, key      string
	}{
		{"GET", "/", "127.0.0.1:9000", nil, "ListBuckets", "", ""},
		{"PUT", "/demo", "127.0.0.1:9000", nil, "CreateBucket", "demo", ""},
		{"PUT", "/demo/", "127.0.0.1:9000", nil, "CreateBucket", "demo", ""},
		{"DELETE", "/demo", "127.0.0.1:9000", nil, "DeleteBucket", "demo", ""},
		{"HEAD", "/demo", "127.0.0.1:9000", nil, "HeadBucket", "demo", ""},
		{"GET", "/demo?location", "127.0.0.1:9000", nil, "GetBucketLocation", "demo", ""},
		{"PUT", "/demo?policy", "127.0.0.1:9000", nil, "PutBucketPolicy", "demo", ""},
		{"GET", "/demo?policy", "127.0.0.1:9000", nil, "GetBucketPolicy", "demo", ""},
		{"DELETE", "/demo?policy", "127.0.0.1:9000", nil, "DeleteBucketPolicy", "demo", ""},
		{"PUT", "/demo?versioning", "127.0.0.1:9000", nil, "PutBucketVersioning", "demo", ""},
		{"GET", "/demo?versioning", "127.0.0.1:9000", nil, "GetBucketVersioning", "demo", ""},
		{"PUT", "/demo?tagging", "127.0.0.1:9000", nil, "PutBucketTagging", "demo", ""},
		{"DELETE", "/demo?tagging", "127.0.0.1:9000", nil, "DeleteBucketTagging", "demo", ""},
		{"PUT", "/demo?notification", "127.0.0.1:9000", nil, "PutBucketNotificationConfiguration", "demo", ""},
		{"PUT", "/demo?lifecycle", "127.0.0.1:9000", nil, "PutBucketLifecycleConfiguration", "demo", ""},
		{"PUT", "/demo?publicAccessBlock", "127.0.0.1:9000", nil, "PutPublicAccessBlock", "demo", ""},
		{"GET", "/demo?uploads", "127.0.0.1:9000", nil, "ListMultipartUploads", "demo", ""},
		{"GET", "/demo?versions", "127.0.0.1:9000", nil, "ListObjectVersions", "demo", ""},
		{"GET", "/demo?list-type=2&prefix=a", "127.0.0.1:9000", nil, "ListObjectsV2", "demo", ""},
		{"GET", "/demo?prefix=a", "127.0.0.1:9000", nil, "ListObjects", "demo", ""},
		{"POST", "/demo?delete", "127.0.0.1:9000", nil, "DeleteObjects", "demo", ""},
		{"PUT", "/demo/a/b.txt", "127.0.0.1:9000", nil, "PutObject", "demo", "a/b.txt"},
		{"PUT", "/demo/a/b.txt", "127.0.0.1:9000", map[string]string{"X-Amz-Copy-Source": "/src/x"}, "CopyObject", "demo", "a/b.txt"},
		{"PUT", "/demo/k?partNumber=2&uploadId=U", "127.0.0.1:9000", nil, "UploadPart", "demo", "k"},
		{"PUT", "/demo/k?partNumber=2&uploadId=U", "127.0.0.1:9000", map[string]string{"X-Amz-Copy-Source": "/src/x"}, "UploadPartCopy", "demo", "k"},
		{"POST", "/demo/k?uploads", "127.0.0.1:9000", nil, "CreateMultipartUpload", "demo", "k"},
		{"POST", "/demo/k?uploadId=U", "127.0.0.1:9000", nil, "CompleteMultipartUpload", "demo", "k"},
		{"DELETE", "/demo/k?uploadId=U", "127.0.0.1:9000", nil, "AbortMultipartUpload", "demo", "k"},
		{"GET", "/demo/k?uploadId=U", "127.0.0.1:9000", nil, "ListParts", "demo", "k"},
		{"GET", "/demo/k", "127.0.0.1:9000", nil, "GetObject", "demo", "k"},
		{"HEAD", "/demo/k", "127.0.0.1:9000", nil, "HeadObject", "demo", "k"},
		{"DELETE", "/demo/k", "127.0.0.1:9000", nil, "DeleteObject", "demo", "k"},
		{"PUT", "/demo/k?tagging", "127.0.0.1:9000", nil, "PutObjectTagging", "demo", "k"},
		{"GET", "/demo/k?acl", "127.0.0.1:9000", nil, "GetObjectAcl", "demo", "k"},
		{"POST", "/demo/k?restore", "127.0.0.1:9000", nil, "RestoreObject", "demo", "k"},
		{"PATCH", "/demo/k", "127.0.0.1:9000", nil, "PATCH", "demo", "k"},
		// Virtual-host style.
		{"PUT", "/", "demo.localhost:4011", nil, "CreateBucket", "demo", ""},
		{"PUT", "/a/b", "demo.localhost:4011", nil, "PutObject", "demo", "a/b"},
		{"GET", "/?policy", "demo.s3.amazonaws.com", nil, "GetBucketPolicy", "demo", ""},
		{"GET", "/k", "my.bucket.s3.eu-west-1.amazonaws.com", nil, "GetObject", "my.bucket", "k"},
		{"GET", "/k", "demo.s3-eu-west-1.amazonaws.com", nil, "GetObject", "demo", "k"},
		{"GET", "/", "s3.amazonaws.com", nil, "ListBuckets", "", ""},
		{"GET", "/", "localhost:4011", nil, "ListBuckets", "", ""},
		{"PUT", "/demo", "storage.example.com", nil, "CreateBucket", "demo", ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		r.Host = tc.host
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		got := Classify(r, []string{"localhost"})
		if got.Operation != tc.op || got.Bucket != tc.bucket || got.Key != tc.key {
			t.Errorf("%s %s (Host %s) = %+v, want %s %q %q", tc.method, tc.target, tc.host, got, tc.op, tc.bucket, tc.key)
		}
	}
}

func TestCredential(t *testing.T) {
	tests := []struct {
		target, auth, key, region string
	}{
		{"/b", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261126/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
			"AKIAEXAMPLE", "eu-west-1"},
		{"/b", "AWS AKIAV2:c2lnbmF0dXJl", "AKIAV2", ""},
		{"/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAPRESIGN%2F20261126%2Fus-east-2%2Fs3%2Faws4_request&X-Amz-Signature=ff",
			"", "AKIAPRESIGN", "us-east-2"},
		{"/b/k?AWSAccessKeyId=AKIAOLD&Signature=x&Expires=1", "", "AKIAOLD", ""},
		{"/b", "", "", ""},
		{"/b", "AWS4-HMAC-SHA256 garbage", "", ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", tc.target, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		key, region := credential(r)
		if key != tc.key || region != tc.region {
			t.Errorf("%s %q: %q %q, want %q %q", tc.target, tc.auth, key, region, tc.key, tc.region)
		}
	}
}

func TestParseSpec(t *testing.T) {
	good := []string{"127.0.0.1:4011=http://127.0.0.1:9000", ":4011=https://s3.eu-west-1.amazonaws.com"}
	for _, s := range good {
		if _, err := ParseSpec(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := []string{"", "127.0.0.1:4011", "=http://x", "4011=http://x", "127.0.0.1:4011=ftp://x", "127.0.0.1:4011=x"}
	for _, s := range bad {
		if _, err := ParseSpec(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	specs, err := ParseSpecs("127.0.0.1:4011=http://a:9000;127.0.0.1:4012=http://b:9000\n")
	if err != nil || len(specs) != 2 || specs[1].Backend != "http://b:9000" {
		t.Errorf("ParseSpecs: %v %v", specs, err)
	}
	if _, err := New(Config{Backend: "http://x:9000/prefix", Recorder: nopRecorder{}}); err == nil {
		t.Error("a backend with a path was accepted")
	}
	if _, err := New(Config{Backend: "http://x:9000", Recorder: nil}); err == nil {
		t.Error("no recorder accepted")
	}
}

func TestParseError(t *testing.T) {
	tests := []struct{ in, code, msg string }{
		{`<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>x</BucketName></Error>`,
			"NoSuchBucket", "The specified bucket does not exist"},
		{`<Error><Code>AccessDenied</Code><Message>Access Denied</Message><Resource>/b/` + "\x00", "AccessDenied", "Access Denied"},
		{`<ListBucketResult><Code>x</Code></ListBucketResult>`, "", ""},
		{`not xml`, "", ""},
		{``, "", ""},
		{`<Error><Details><Code>inner</Code></Details></Error>`, "", ""},
	}
	for _, tc := range tests {
		code, msg := parseError([]byte(tc.in))
		if code != tc.code || msg != tc.msg {
			t.Errorf("%q: %q %q, want %q %q", tc.in, code, msg, tc.code, tc.msg)
		}
	}
}

func FuzzParseError(f *testing.F) {
	f.Add([]byte(`<Error><Code>NoSuchKey</Code><Message>m</Message></Error>`))
	f.Add([]byte(`<Error><Code>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseError(b)
	})
}

func FuzzClassify(f *testing.F) {
	f.Add("PUT", "/demo/a/b?partNumber=1&uploadId=x", "demo.localhost:4011", "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/s3/aws4_request, Signature=0")
	f.Add("GET", "/?list-type=2&X-Amz-Credential=K%2Fd%2Fr", "b.s3.amazonaws.com", "AWS K:s")
	f.Fuzz(func(t *testing.T, method, target, host, auth string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{Method: method, URL: u, Host: host, Header: http.Header{"Authorization": {auth}}}
		got := Classify(r, []string{"localhost"})
		if got.Operation == "" {
			t.Fatalf("no operation for %s %s", method, target)
		}
		_, _ = credential(r)
		if p := parameters(r, got); p != nil && !json.Valid(p) {
			t.Fatalf("parameters not JSON: %s", p)
		}
	})
}
