// Package ctlogs makes CloudTrail log files shaped like AWS's, for
// measuring imports into the event history.
package ctlogs
