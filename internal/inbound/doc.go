// Package inbound lets events from outside onto Conveyor's buses, over HTTP
// on the API port:
//
//	POST /inbound/<bus>      one EventBridge event, as an EventBridge API destination sends it
//	POST /inbound/s3/<bus>   an S3 event notification (AWS S3, MinIO, Ceph RGW), made into S3's EventBridge events
//
// # Authentication
//
// Both endpoints take the credentials an EventBridge connection sends: an
// API key header (`--inbound-key x-api-key=SECRET`, a connection of type
// API_KEY with ApiKeyName x-api-key) or basic auth (`--inbound-basic
// user:password`, a connection of type BASIC). Several may be configured;
// a "BUS/" prefix limits one to that bus. With none configured, inbound
// events are disabled: every request is answered 403. A request without
// credentials is answered 401, one with wrong credentials 403. Bad requests
// change nothing.
//
// # EventBridge events
//
// The body is the event as EventBridge delivers it (an API destination
// target with no input transformer): source, detail-type and detail (a JSON
// object; missing means {}) are required; id, time, account, region and
// resources are kept as they are, so the event on Conveyor's bus is the
// event of the AWS account (the same id, for correlation with AWS; rules
// matching on account see the real account). Missing ones are filled in: a
// new id, the time of arrival, Conveyor's account and region. Any source is
// accepted, including aws.* (the endpoint's credentials are what trusts
// the sender). The event is stored before the 200 answer
// ({"Entries":[{"EventId":…}],"FailedEntryCount":0}); the same event sent
// again within two minutes (an API destination's retry) is stored once.
//
// # S3 event notifications
//
// The body is {"Records":[…]} (also with MinIO's "EventName" and "Key"
// beside it). Each record becomes the event S3 sends to EventBridge:
// source aws.s3, detail-type "Object Created", "Object Deleted", "Object
// Restore Initiated|Completed|Expired", "Object Tags Added|Deleted",
// "Object ACL Updated", "Object Storage Class Changed" or "Object Access
// Tier Changed"; resources the bucket's ARN; time the record's eventTime;
// region the record's awsRegion (else Conveyor's); account Conveyor's; and
// AWS's detail: version, bucket.name, object (key URL-decoded, size, etag,
// version-id, sequencer), request-id, requester, source-ip-address, reason
// (PutObject, POST Object, CopyObject, CompleteMultipartUpload,
// DeleteObject, Lifecycle Expiration) and deletion-type (Permanently
// Deleted, Delete Marker Created). Records of events that S3 does not send
// to EventBridge (s3:ObjectAccessed:Get, replication, …) are ignored and
// counted in the answer's IgnoredRecords; S3's s3:TestEvent is answered
// 200. An event's id is derived from the bus and the record, so a
// notification sent again (MinIO retries) is stored once within two
// minutes. All records are checked before any is stored.
//
// # Errors
//
// Errors are JSON, {"__type": …, "message": …}: 401 UnauthorizedException,
// 403 AccessDeniedException, 404 ResourceNotFoundException (no such bus),
// 400 ValidationException (not JSON, not an event, a bad field), 413
// RequestEntityTooLargeException (a body over 1 MiB, an event over 256 KB),
// 500 InternalException (the store failed; nothing was acknowledged).
package inbound
