package s3gateway

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Request is what the gateway reads from one S3 request to record it.
type Request struct {
	Operation string
	Bucket    string
	Key       string
}

// subresources name bucket configuration calls by their query parameter:
// PUT, GET and DELETE of /bucket?<sub>. An empty name means the method has
// no such call.
var bucketSubresources = []struct{ query, put, get, del string }{
	{"policy", "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy"},
	{"policyStatus", "", "GetBucketPolicyStatus", ""},
	{"versioning", "PutBucketVersioning", "GetBucketVersioning", ""},
	{"tagging", "PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging"},
	{"notification", "PutBucketNotificationConfiguration", "GetBucketNotificationConfiguration", ""},
	{"acl", "PutBucketAcl", "GetBucketAcl", ""},
	{"cors", "PutBucketCors", "GetBucketCors", "DeleteBucketCors"},
	{"lifecycle", "PutBucketLifecycleConfiguration", "GetBucketLifecycleConfiguration", "DeleteBucketLifecycle"},
	{"encryption", "PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption"},
	{"website", "PutBucketWebsite", "GetBucketWebsite", "DeleteBucketWebsite"},
	{"logging", "PutBucketLogging", "GetBucketLogging", ""},
	{"replication", "PutBucketReplication", "GetBucketReplication", "DeleteBucketReplication"},
	{"object-lock", "PutObjectLockConfiguration", "GetObjectLockConfiguration", ""},
	{"publicAccessBlock", "PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock"},
	{"ownershipControls", "PutBucketOwnershipControls", "GetBucketOwnershipControls", "DeleteBucketOwnershipControls"},
	{"requestPayment", "PutBucketRequestPayment", "GetBucketRequestPayment", ""},
	{"accelerate", "PutBucketAccelerateConfiguration", "GetBucketAccelerateConfiguration", ""},
	{"analytics", "PutBucketAnalyticsConfiguration", "GetBucketAnalyticsConfiguration", "DeleteBucketAnalyticsConfiguration"},
	{"inventory", "PutBucketInventoryConfiguration", "GetBucketInventoryConfiguration", "DeleteBucketInventoryConfiguration"},
	{"metrics", "PutBucketMetricsConfiguration", "GetBucketMetricsConfiguration", "DeleteBucketMetricsConfiguration"},
	{"intelligent-tiering", "PutBucketIntelligentTieringConfiguration", "GetBucketIntelligentTieringConfiguration", "DeleteBucketIntelligentTieringConfiguration"},
	{"location", "", "GetBucketLocation", ""},
	{"uploads", "", "ListMultipartUploads", ""},
	{"versions", "", "ListObjectVersions", ""},
}

// objectSubresources are the object calls named by a query parameter.
var objectSubresources = []struct{ query, put, get, del string }{
	{"tagging", "PutObjectTagging", "GetObjectTagging", "DeleteObjectTagging"},
	{"acl", "PutObjectAcl", "GetObjectAcl", ""},
	{"retention", "PutObjectRetention", "GetObjectRetention", ""},
	{"legal-hold", "PutObjectLegalHold", "GetObjectLegalHold", ""},
	{"attributes", "", "GetObjectAttributes", ""},
	{"torrent", "", "GetObjectTorrent", ""},
}

// Classify names the S3 operation of a request, with its bucket and key.
// Path-style (/bucket/key) and virtual-host-style (bucket.<domain>/key)
// requests are both understood; domains lists the gateway's own host names
// under which a virtual-host-style bucket name is a prefix. An
// unrecognised request is named after its method ("PUT", "PATCH", …).
func Classify(r *http.Request, domains []string) Request {
	bucket, key := bucketAndKey(r, domains)
	q := r.URL.Query()
	out := Request{Bucket: bucket, Key: key}
	method := r.Method
	if method == "" {
		method = http.MethodGet // as net/http reads an empty method
	}
	out.Operation = operation(method, bucket, key, q, r.Header)
	return out
}

func operation(method, bucket, key string, q url.Values, h http.Header) string {
	has := func(name string) bool { _, ok := q[name]; return ok }
	pick := func(subs []struct{ query, put, get, del string }) string {
		for _, s := range subs {
			if !has(s.query) {
				continue
			}
			switch method {
			case http.MethodPut:
				return s.put
			case http.MethodGet:
				return s.get
			case http.MethodDelete:
				return s.del
			}
		}
		return ""
	}
	switch {
	case bucket == "":
		if method == http.MethodGet {
			return "ListBuckets"
		}
	case key == "":
		if op := pick(bucketSubresources); op != "" {
			return op
		}
		switch method {
		case http.MethodPut:
			return "CreateBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodGet:
			if q.Get("list-type") == "2" {
				return "ListObjectsV2"
			}
			return "ListObjects"
		case http.MethodPost:
			if has("delete") {
				return "DeleteObjects"
			}
			// A browser form upload (POST Object) is a PutObject.
			return "PutObject"
		}
	default:
		copySource := h.Get("X-Amz-Copy-Source") != ""
		multipart := has("uploadId")
		switch method {
		case http.MethodPut:
			switch {
			case multipart && copySource:
				return "UploadPartCopy"
			case multipart:
				return "UploadPart"
			}
			if op := pick(objectSubresources); op != "" {
				return op
			}
			if copySource {
				return "CopyObject"
			}
			return "PutObject"
		case http.MethodGet:
			if multipart {
				return "ListParts"
			}
			if op := pick(objectSubresources); op != "" {
				return op
			}
			return "GetObject"
		case http.MethodHead:
			return "HeadObject"
		case http.MethodDelete:
			if multipart {
				return "AbortMultipartUpload"
			}
			if op := pick(objectSubresources); op != "" {
				return op
			}
			return "DeleteObject"
		case http.MethodPost:
			switch {
			case has("uploads"):
				return "CreateMultipartUpload"
			case multipart:
				return "CompleteMultipartUpload"
			case has("restore"):
				return "RestoreObject"
			case has("select"):
				return "SelectObjectContent"
			}
		}
	}
	return method
}

// bucketAndKey reads the bucket and key from the host (virtual-host style)
// or the path (path style).
func bucketAndKey(r *http.Request, domains []string) (bucket, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if b := virtualHostBucket(r.Host, domains); b != "" {
		return b, path
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// virtualHostBucket returns the bucket named by a virtual-host-style host
// name: the part before one of domains, or before AWS's s3 endpoint names
// (s3.amazonaws.com, s3.REGION.amazonaws.com, s3-REGION.amazonaws.com).
func virtualHostBucket(host string, domains []string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil {
		return ""
	}
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if d != "" && strings.HasSuffix(host, "."+d) {
			return strings.TrimSuffix(host, "."+d)
		}
	}
	if !strings.HasSuffix(host, ".amazonaws.com") {
		return ""
	}
	labels := strings.Split(strings.TrimSuffix(host, ".amazonaws.com"), ".")
	for i, l := range labels {
		if i > 0 && (l == "s3" || strings.HasPrefix(l, "s3-")) {
			return strings.Join(labels[:i], ".")
		}
	}
	return ""
}
