package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrMirrorClosed is returned by the reads of a Mirror that was closed (or
// whose connection was).
var ErrMirrorClosed = errors.New("store: mirror closed")

// mirrorSyncTimeout bounds how long a read waits for its mirror to catch
// up: a mirror that cannot watch its bucket answers an error, not a hang.
const mirrorSyncTimeout = 10 * time.Second

// Mirror is an in-memory copy of a JetStream key-value bucket's records,
// decoded, kept by one watch of the bucket. API calls that list records
// read it: a list costs no JetStream consumer (a KV ListKeys or Watch per
// call creates one, and a stream allows 1,000 at a time, so a burst of list
// calls failed) and decodes nothing.
//
// Reads see their writes: every read first waits until the mirror holds
// each change made to the bucket (by any process) before the read began.
//
// Records are grouped by their key up to its last '.' ("rule.b1" holds
// "rule.b1.r1", "rule.b1.r2"); a read returns one group. The values a read
// returns are the mirror's own: callers must not change them.
type Mirror[V any] struct {
	kv     jetstream.KeyValue
	stream jetstream.Stream
	decode func(jetstream.KeyValueEntry) (V, error)
	log    *slog.Logger

	mu      sync.RWMutex
	groups  map[string]map[string]V // group → key → value
	applied uint64                  // the bucket's revision the mirror holds
	changed chan struct{}           // closed and replaced when applied grows
	stopped error                   // why the mirror stopped for good

	// revMu guards the requests of the bucket's last revision that reads
	// share (see lastRevision): sent is the one in flight, open the one
	// that reads join until it is sent.
	revMu      sync.Mutex
	sent, open *revFlight

	cancel context.CancelFunc
	done   chan struct{}
}

// revFlight is one request of a bucket's last revision, and its answer once
// done is closed.
type revFlight struct {
	done chan struct{}
	rev  uint64
	err  error
}

// NewMirror starts mirroring kv: decode turns an entry into the value kept
// (an error skips the entry, logged). The mirror follows the bucket until
// Close, or until the connection is closed.
func NewMirror[V any](ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, decode func(jetstream.KeyValueEntry) (V, error), log *slog.Logger) (*Mirror[V], error) {
	if log == nil {
		log = slog.Default()
	}
	stream, err := js.Stream(ctx, KVStream(kv.Bucket()))
	if err != nil {
		return nil, fmt.Errorf("store: mirror of bucket %s: %w", kv.Bucket(), err)
	}
	run, cancel := context.WithCancel(context.Background())
	m := &Mirror[V]{
		kv: kv, stream: stream, decode: decode,
		log:     log.With("component", "mirror", "bucket", kv.Bucket()),
		groups:  map[string]map[string]V{},
		changed: make(chan struct{}),
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	go m.run(run, js.Conn())
	return m, nil
}

// Close stops the mirror; its reads answer ErrMirrorClosed afterwards.
func (m *Mirror[V]) Close() {
	m.cancel()
	<-m.done
}

// List returns the values of group, in no particular order, once the
// mirror holds every change made before the call.
func (m *Mirror[V]) List(ctx context.Context, group string) ([]V, error) {
	if err := m.Sync(ctx); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	g := m.groups[group]
	out := make([]V, 0, len(g))
	for _, v := range g {
		out = append(out, v)
	}
	return out, nil
}

// Count returns the number of values in group, once the mirror holds every
// change made before the call.
func (m *Mirror[V]) Count(ctx context.Context, group string) (int, error) {
	if err := m.Sync(ctx); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.groups[group]), nil
}

// Sync waits until the mirror holds every change made to the bucket before
// Sync was called (at most mirrorSyncTimeout).
func (m *Mirror[V]) Sync(ctx context.Context) error {
	rev, err := m.lastRevision(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, mirrorSyncTimeout)
	defer cancel()
	for {
		m.mu.RLock()
		applied, changed, stopped := m.applied, m.changed, m.stopped
		m.mu.RUnlock()
		switch {
		case applied >= rev:
			return nil
		case stopped != nil:
			return stopped
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("store: mirror of bucket %s at revision %d, waiting for %d: %w", m.kv.Bucket(), applied, rev, ctx.Err())
		}
	}
}

// lastRevision returns the bucket's latest revision (0 for an empty bucket):
// its stream's last sequence, from the stream's leader. (The last message
// of a wildcard subject, a direct get, costs a scan of the bucket's keys:
// 1 ms at 20,000.) Concurrent reads share the request: a read joins the
// request not sent yet (which is sent after the read began, so its answer
// is late enough), or starts one, sent once the one in flight has answered.
// A burst of a thousand list calls is then a few requests, not a thousand
// (JetStream answered some of those too late).
func (m *Mirror[V]) lastRevision(ctx context.Context) (uint64, error) {
	m.revMu.Lock()
	f := m.open
	if f == nil {
		f = &revFlight{done: make(chan struct{})}
		m.open = f
		prev := m.sent
		go m.askRevision(f, prev)
	}
	m.revMu.Unlock()
	select {
	case <-f.done:
		return f.rev, f.err
	case <-ctx.Done():
		return 0, fmt.Errorf("store: last revision of bucket %s: %w", m.kv.Bucket(), ctx.Err())
	}
}

// askRevision sends request f once prev (nil: none) has answered.
func (m *Mirror[V]) askRevision(f, prev *revFlight) {
	if prev != nil {
		<-prev.done
	}
	m.revMu.Lock()
	m.open, m.sent = nil, f
	m.revMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), mirrorSyncTimeout)
	info, err := m.stream.Info(ctx)
	cancel()
	if err != nil {
		f.err = fmt.Errorf("store: last revision of bucket %s: %w", m.kv.Bucket(), err)
	} else {
		f.rev = info.State.LastSeq
	}
	m.revMu.Lock()
	if m.sent == f {
		m.sent = nil
	}
	m.revMu.Unlock()
	close(f.done)
}

// run follows the bucket, watching it again from a fresh snapshot when a
// watch fails, until ctx ends or the connection is closed.
func (m *Mirror[V]) run(ctx context.Context, nc *nats.Conn) {
	defer close(m.done)
	wait := 100 * time.Millisecond
	for {
		err := m.follow(ctx, nc)
		if ctx.Err() != nil || nc.IsClosed() || nc.IsDraining() {
			m.stop()
			return
		}
		m.log.Warn("mirror watch ended; watching again", "err", err)
		select {
		case <-ctx.Done():
			m.stop()
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (m *Mirror[V]) stop() {
	m.mu.Lock()
	m.stopped = ErrMirrorClosed
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
}

// follow loads a snapshot of the bucket into a fresh copy, swaps it in, and
// applies the later changes, until the watch ends or nc is closed (a watch
// made just before its connection closed may not end by itself).
func (m *Mirror[V]) follow(ctx context.Context, nc *nats.Conn) error {
	before, err := m.lastRevision(ctx)
	if err != nil {
		return err
	}
	w, err := m.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("store: watch bucket %s: %w", m.kv.Bucket(), err)
	}
	defer w.Stop() //nolint:errcheck // nothing to do about a failed unsubscribe
	closed := time.NewTicker(time.Second)
	defer closed.Stop()
	fresh := map[string]map[string]V{}
	for {
		var e jetstream.KeyValueEntry
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-closed.C:
			if nc.IsClosed() || nc.IsDraining() {
				return fmt.Errorf("store: watch of bucket %s: %w", m.kv.Bucket(), nats.ErrConnectionClosed)
			}
			continue
		case e, ok = <-w.Updates():
		}
		if !ok {
			return fmt.Errorf("store: watch of bucket %s closed", m.kv.Bucket())
		}
		if e == nil { // the snapshot is complete: serve it
			m.mu.Lock()
			m.groups, fresh = fresh, nil
			m.advanceLocked(before)
			m.mu.Unlock()
			continue
		}
		if fresh != nil {
			m.apply(fresh, e)
			before = max(before, e.Revision())
			continue
		}
		m.mu.Lock()
		m.apply(m.groups, e)
		m.advanceLocked(e.Revision())
		m.mu.Unlock()
	}
}

// apply puts entry e into groups.
func (m *Mirror[V]) apply(groups map[string]map[string]V, e jetstream.KeyValueEntry) {
	key := e.Key()
	group := key[:max(strings.LastIndexByte(key, '.'), 0)]
	if e.Operation() != jetstream.KeyValuePut {
		delete(groups[group], key)
		return
	}
	v, err := m.decode(e)
	if err != nil {
		m.log.Error("mirror: skipping an undecodable record", "key", key, "err", err)
		delete(groups[group], key)
		return
	}
	g := groups[group]
	if g == nil {
		g = map[string]V{}
		groups[group] = g
	}
	g[key] = v
}

// advanceLocked records that the mirror holds the bucket up to rev. The
// caller holds m.mu.
func (m *Mirror[V]) advanceLocked(rev uint64) {
	if rev <= m.applied {
		return
	}
	m.applied = rev
	close(m.changed)
	m.changed = make(chan struct{})
}
