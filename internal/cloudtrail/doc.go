// Package cloudtrail serves the CloudTrail API on awsapi: LookupEvents, the
// event history, answered from the audit package's index.
//
// It holds the wire shapes, AWS's validation and errors, and the opaque
// NextToken; records, the audit log and the index itself live in package
// audit.
package cloudtrail
