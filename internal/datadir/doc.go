// Package datadir locks a Conveyor data directory, so that one process at a
// time uses it.
//
// Two processes on one embedded JetStream store corrupt it: both write the
// same files, and acknowledged events are lost. Lock takes an exclusive
// flock(2) on the file LOCK in the directory before anything else opens it;
// a second process gets ErrLocked at once, with the pid of the holder, and
// touches nothing. The kernel releases the lock when its process ends, also
// by kill -9, so a lock is never stale.
package datadir
