package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

var (
	// ErrKeep, returned by a Mutate function, leaves the record as it is:
	// Mutate writes nothing and returns the current record.
	ErrKeep = errors.New("store: keep the record")
	// ErrConflict: the record kept changing under Mutate for longer than
	// mutateAttempts tries.
	ErrConflict = errors.New("store: too many concurrent changes")
)

// mutateAttempts bounds a compare-and-set loop.
const mutateAttempts = 100

// Codec turns a bucket's records into values and back.
type Codec[T any] struct {
	Decode func(e jetstream.KeyValueEntry) (*T, error)
	Encode func(v *T) ([]byte, error)
}

// Mutate applies fn to the record at key of kv in a compare-and-set loop on
// the key's revision (Create for a new key, Update with the last revision,
// Delete with the last revision), so that concurrent writers, in one process
// or several, never lose each other's changes. fn gets the current record
// (nil if there is none) freshly decoded at each attempt, so it may change
// it in place, and its revision; it returns the record to store, nil to
// delete it, ErrKeep to leave it, or an error that stops the loop and is
// returned as is. fn may run several times. Mutate returns the record as
// stored (nil if deleted) and its revision.
func Mutate[T any](ctx context.Context, kv jetstream.KeyValue, key string, c Codec[T], fn func(cur *T, rev uint64) (*T, error)) (*T, uint64, error) {
	wait := time.Millisecond
	for range mutateAttempts {
		var (
			cur *T
			rev uint64
		)
		e, err := kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		case err != nil:
			return nil, 0, fmt.Errorf("store: get %s: %w", key, err)
		default:
			if cur, err = c.Decode(e); err != nil {
				return nil, 0, err
			}
			rev = e.Revision()
		}
		next, err := fn(cur, rev)
		if errors.Is(err, ErrKeep) {
			return cur, rev, nil
		}
		if err != nil {
			return nil, 0, err
		}
		var newRev uint64
		switch {
		case next == nil && cur == nil:
			return nil, 0, nil
		case next == nil:
			err = kv.Delete(ctx, key, jetstream.LastRevision(rev))
		default:
			data, merr := c.Encode(next)
			if merr != nil {
				return nil, 0, fmt.Errorf("store: encode %s: %w", key, merr)
			}
			if cur == nil {
				newRev, err = kv.Create(ctx, key, data)
			} else {
				newRev, err = kv.Update(ctx, key, data, rev)
			}
		}
		if err == nil {
			return next, newRev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return nil, 0, fmt.Errorf("store: write %s: %w", key, err)
		}
		// Someone else wrote the key between our read and our write: read
		// again and retry after a short, jittered pause.
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(wait/2 + rand.N(wait)):
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
	return nil, 0, fmt.Errorf("store: write %s: %w", key, ErrConflict)
}
