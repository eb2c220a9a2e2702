// Package s3gateway is an audit gateway for S3-compatible storage (MinIO,
// Ceph, Garage, AWS S3): a reverse proxy that forwards every request to the
// backend unchanged — Host header, path, query and body as the client sent
// them, so SigV4 signatures stay valid; bodies are streamed, not buffered —
// and records each request as a CloudTrail record (eventSource
// s3.amazonaws.com) through the audit package: bucket calls as management
// events, stored before the answer goes back to the client; object calls as
// data events, recorded only when data-event logging is on.
package s3gateway
