// Package jsonscan finds the ends of JSON strings a word (8 bytes) at a
// time: the one loop the pattern matcher, the audit trail's record scanner
// and the CloudTrail log-file reader share.
package jsonscan
