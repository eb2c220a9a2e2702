package inbound

import (
	"github.com/conveyor/conveyor/internal/awsapi"

	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor/conveyor/internal/event"
)

// s3Notification is an S3 event notification as AWS, MinIO and Ceph RGW
// send it: {"Records": […]}, with MinIO's "EventName" and "Key" beside
// them; or AWS's test message {"Event": "s3:TestEvent", …}.
type s3Notification struct {
	Records   []json.RawMessage `json:"Records"`
	EventName string            `json:"EventName"`
	Event     string            `json:"Event"`
}

// s3Record is one record of a notification (event version 2.x).
type s3Record struct {
	EventName    string `json:"eventName"`
	EventTime    string `json:"eventTime"`
	AWSRegion    string `json:"awsRegion"`
	UserIdentity struct {
		PrincipalID string `json:"principalId"`
	} `json:"userIdentity"`
	RequestParameters struct {
		SourceIPAddress string `json:"sourceIPAddress"`
	} `json:"requestParameters"`
	ResponseElements map[string]any `json:"responseElements"`
	S3               struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string          `json:"key"`
			Size      json.RawMessage `json:"size"`
			ETag      string          `json:"eTag"`
			VersionID string          `json:"versionId"`
			Sequencer string          `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
	GlacierEventData *struct {
		RestoreEventData struct {
			LifecycleRestorationExpiryTime string `json:"lifecycleRestorationExpiryTime"`
			LifecycleRestoreStorageClass   string `json:"lifecycleRestoreStorageClass"`
		} `json:"restoreEventData"`
	} `json:"glacierEventData"`
}

// s3Kind is what an S3 notification event name becomes in EventBridge.
type s3Kind struct {
	detailType   string
	reason       string // detail.reason ("" for none)
	deletionType string // detail.deletion-type ("" for none)
}

// s3Kinds maps notification event names (without MinIO's "s3:" prefix) to
// the EventBridge events S3 sends. Names not here (ObjectAccessed:*,
// Replication:*, ReducedRedundancyLostObject, …) have no EventBridge event
// and are ignored.
var s3Kinds = map[string]s3Kind{
	"ObjectCreated:Put":                       {"Object Created", "PutObject", ""},
	"ObjectCreated:Post":                      {"Object Created", "POST Object", ""},
	"ObjectCreated:Copy":                      {"Object Created", "CopyObject", ""},
	"ObjectCreated:CompleteMultipartUpload":   {"Object Created", "CompleteMultipartUpload", ""},
	"ObjectRemoved:Delete":                    {"Object Deleted", "DeleteObject", "Permanently Deleted"},
	"ObjectRemoved:DeleteMarkerCreated":       {"Object Deleted", "DeleteObject", "Delete Marker Created"},
	"LifecycleExpiration:Delete":              {"Object Deleted", "Lifecycle Expiration", "Permanently Deleted"},
	"LifecycleExpiration:DeleteMarkerCreated": {"Object Deleted", "Lifecycle Expiration", "Delete Marker Created"},
	"ObjectRestore:Post":                      {"Object Restore Initiated", "", ""},
	"ObjectRestore:Completed":                 {"Object Restore Completed", "", ""},
	"ObjectRestore:Delete":                    {"Object Restore Expired", "", ""},
	"ObjectTagging:Put":                       {"Object Tags Added", "", ""},
	"ObjectTagging:Delete":                    {"Object Tags Deleted", "", ""},
	"ObjectAcl:Put":                           {"Object ACL Updated", "", ""},
	"LifecycleTransition":                     {"Object Storage Class Changed", "", ""},
	"IntelligentTiering":                      {"Object Access Tier Changed", "", ""},
	// MinIO's names for tagging.
	"ObjectCreated:PutTagging":    {"Object Tags Added", "", ""},
	"ObjectCreated:DeleteTagging": {"Object Tags Deleted", "", ""},
}

// s3Events turns an S3 event notification into the EventBridge events S3
// sends for its records (source aws.s3). Every record is checked before
// anything is stored. An event's id is derived from the bus and the
// record, so a notification sent again is stored once.
func (h *Handler) s3Events(bus string, body []byte) ([]stored, int, *awsapi.Error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return nil, 0, badRequest("The body is not an S3 event notification: want a JSON object with Records.")
	}
	var n s3Notification
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, 0, badRequest("The body is not an S3 event notification: %s", jsonProblem(err))
	}
	if n.Records == nil {
		if n.Event == "s3:TestEvent" {
			return nil, 0, nil
		}
		return nil, 0, badRequest("The body is not an S3 event notification: it has no Records.")
	}
	var out []stored
	ignored := 0
	for i, raw := range n.Records {
		var rec s3Record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, 0, badRequest("Record %d is not an S3 event record: %s", i, jsonProblem(err))
		}
		if rec.EventName == "" {
			return nil, 0, badRequest("Record %d has no eventName.", i)
		}
		kind, ok := s3Kinds[strings.TrimPrefix(rec.EventName, "s3:")]
		if !ok {
			ignored++
			continue
		}
		if rec.S3.Bucket.Name == "" {
			return nil, 0, badRequest("Record %d has no s3.bucket.name.", i)
		}
		if sz := rec.S3.Object.Size; len(sz) > 0 && string(sz) != "null" {
			if n, err := strconv.ParseInt(string(sz), 10, 64); err != nil || n < 0 {
				return nil, 0, badRequest("Record %d: s3.object.size %s is not a whole number.", i, sz)
			}
		} else {
			rec.S3.Object.Size = nil
		}
		t := h.cfg.Clock.Now().UTC()
		if rec.EventTime != "" {
			var err error
			if t, err = time.Parse(time.RFC3339Nano, rec.EventTime); err != nil {
				return nil, 0, badRequest("Record %d: eventTime %q is not an RFC 3339 timestamp.", i, rec.EventTime)
			}
		}
		region := rec.AWSRegion
		if region == "" {
			region = h.cfg.Region
		}
		ev := &event.Event{
			Version:    event.Version,
			ID:         derivedID([]byte(bus), raw),
			DetailType: kind.detailType,
			Source:     "aws.s3",
			Account:    h.cfg.Account,
			Time:       t,
			Region:     region,
			Resources:  []string{"arn:aws:s3:::" + rec.S3.Bucket.Name},
			Detail:     s3Detail(&rec, kind),
		}
		data := ev.AppendJSON(make([]byte, 0, ev.Size()))
		if len(data) > MaxEventSize {
			return nil, 0, &awsapi.Error{Code: errTooLarge.Code, Message: "Record " + strconv.Itoa(i) + " makes an event over " + strconv.Itoa(MaxEventSize) + " bytes."}
		}
		out = append(out, stored{id: ev.ID, data: data})
	}
	return out, ignored, nil
}

// s3Detail writes the detail of S3's EventBridge events, in AWS's field
// order: version, bucket, object (key, size, etag, version-id, sequencer),
// request-id, requester, source-ip-address, reason, deletion-type, and for
// restores restore-expiry-time and source-storage-class. Members the record
// lacks are left out.
func s3Detail(rec *s3Record, kind s3Kind) json.RawMessage {
	b := []byte(`{"version":"0","bucket":{"name":`)
	b = event.AppendString(b, rec.S3.Bucket.Name)
	b = append(b, `},"object":{"key":`...)
	b = event.AppendString(b, objectKey(rec.S3.Object.Key))
	o := rec.S3.Object
	if o.Size != nil && kind.detailType != "Object Deleted" {
		b = append(b, `,"size":`...)
		b = append(b, o.Size...)
	}
	field := func(name, v string) {
		if v != "" {
			b = append(b, ',', '"')
			b = append(b, name...)
			b = append(b, '"', ':')
			b = event.AppendString(b, v)
		}
	}
	field("etag", o.ETag)
	field("version-id", o.VersionID)
	field("sequencer", o.Sequencer)
	b = append(b, '}')
	reqID, _ := rec.ResponseElements["x-amz-request-id"].(string)
	field("request-id", reqID)
	field("requester", rec.UserIdentity.PrincipalID)
	field("source-ip-address", rec.RequestParameters.SourceIPAddress)
	field("reason", kind.reason)
	field("deletion-type", kind.deletionType)
	if g := rec.GlacierEventData; g != nil {
		field("restore-expiry-time", g.RestoreEventData.LifecycleRestorationExpiryTime)
		field("source-storage-class", g.RestoreEventData.LifecycleRestoreStorageClass)
	}
	return append(b, '}')
}

// objectKey decodes a notification's object key: S3 and MinIO send it
// URL-encoded (spaces as '+'); EventBridge events carry it as it is.
func objectKey(k string) string {
	if d, err := url.QueryUnescape(k); err == nil {
		return d
	}
	return k
}
