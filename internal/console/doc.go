// Package console serves Conveyor's web console at /console/: pages that act through the same
// API handlers as the AWS CLI, as the logged-in user.
package console
