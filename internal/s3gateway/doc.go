// Package s3gateway is an audit gateway for S3-compatible storage: a reverse
// proxy that records each request as a CloudTrail record.
//
// It serves MinIO, Ceph, Garage or AWS S3 behind it, forwarding every request
// unchanged (Host header, path, query and body as the client sent them, so
// SigV4 signatures stay valid; bodies are streamed, not buffered). Records
// (eventSource s3.amazonaws.com) go through the audit package: bucket calls
// as management events, journaled before they are forwarded and stored before
// the answer goes back to the client; object calls as data events, recorded
// only when data-event logging is on.
package s3gateway
