// Package jsonscan finds the ends of JSON strings, and the runs a JSON
// string writer copies whole, a word (8 bytes) at a time: the loops the
// pattern matcher, the audit trail's record scanner and writer, and the
// CloudTrail log-file reader share.
package jsonscan
