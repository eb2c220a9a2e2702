// Package policy reads AWS resource policies (an event bus's, a queue's) and decides whether
// one lets a principal of another account do an action on the resource: an Allow statement
// must match and no Deny statement may.
package policy
