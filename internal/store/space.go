package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The embedded server's store limit. JetStream left to itself takes three
// quarters of the disk's free space at start as its limit and keeps it: when
// the disk fills, writes fail ("insufficient resources"), but space freed or
// added later is never used until a restart. So Conveyor sets the limit
// itself, by the same rule, and raises it as space comes back (JetStream
// allows a limit to grow while it runs, not to shrink). The quarter kept free
// is what lets JetStream fail a write cleanly instead of meeting a full disk
// in the middle of one, which breaks the stream until a restart.

// spaceEvery is how often the free space is looked at.
const spaceEvery = 2 * time.Second

// initialMaxStore is the limit to start with for the store in dir: what it
// holds already plus three quarters of the free space; 0 when the free space
// cannot be known (JetStream's own rule then applies).
func initialMaxStore(dir string) int64 {
	free, err := freeBytes(dir)
	if err != nil || free <= 0 {
		return 0
	}
	return DirBytes(filepath.Join(dir, server.JetStreamStoreDir)) + free*3/4
}

// DirBytes is the size of the files under dir (those it can read).
func DirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// watchSpace raises the embedded server's store limit as free space grows,
// until the store closes. base is the server's options as it started.
func (s *Store) watchSpace(base server.Options, dir string) {
	current := base.JetStreamMaxStore
	tick := time.NewTicker(spaceEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-tick.C:
		}
		free, err := freeBytes(dir)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := s.js.AccountInfo(ctx)
		cancel()
		if err != nil {
			continue
		}
		limit := int64(info.Store) + free*3/4
		if limit <= current+current/64 {
			continue
		}
		next := base
		next.JetStreamMaxStore = limit
		if err := s.srv.ReloadOptions(&next); err != nil {
			s.log.Warn("store: raising the store limit", "limit", limit, "err", err)
			continue
		}
		s.log.Info("store: free space grew; store limit raised", "from", current, "to", limit)
		current = limit
	}
}

// healthStream is a one-message stream that Health writes to.
const healthStream = "CONVEYOR_HEALTH"

// healthEvery is how long a probe's result stands.
const healthEvery = time.Second

// health caches the last probe of the store.
type health struct {
	mu   sync.Mutex
	at   time.Time
	err  error
	made bool
}

// Health reports whether the store takes writes now: nil, or why not. It
// writes a few bytes to a stream of its own (at most once a second; the
// result is kept in between), so a full or unreachable store is seen as
// such, not only a store whose server answers.
func (s *Store) Health(ctx context.Context) error {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if time.Since(s.health.at) < healthEvery {
		return s.health.err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	s.health.err = s.probe(ctx)
	s.health.at = time.Now()
	return s.health.err
}

func (s *Store) probe(ctx context.Context) error {
	if s.nc == nil || !s.nc.IsConnected() {
		return errors.New("store: not connected to NATS")
	}
	if !s.health.made {
		_, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: healthStream, Subjects: []string{"conveyor.health"}, MaxMsgs: 1, Discard: jetstream.DiscardOld,
			Storage: jetstream.FileStorage, Replicas: max(s.cfg.Replicas, 1),
		})
		if err != nil {
			return fmt.Errorf("store: health stream: %w", err)
		}
		s.health.made = true
	}
	if _, err := s.Publish(ctx, &nats.Msg{Subject: "conveyor.health", Data: []byte("ok")}); err != nil {
		return fmt.Errorf("store: a write failed: %w", err)
	}
	// A small write may still fit in a store too full for an event.
	info, err := s.js.AccountInfo(ctx)
	if err != nil {
		return fmt.Errorf("store: account info: %w", err)
	}
	limit := info.Limits.MaxStore
	if s.srv != nil {
		if c := s.srv.JetStreamConfig(); c != nil && (limit <= 0 || c.MaxStore < limit) {
			limit = c.MaxStore
		}
	}
	if limit > 0 && limit-int64(info.Store) < healthHeadroom {
		return fmt.Errorf("store: full: %d of %d bytes used", info.Store, limit)
	}
	return nil
}

// healthHeadroom is the room a healthy store has left: a few of the largest
// messages (1 MiB each).
const healthHeadroom = 4 << 20
