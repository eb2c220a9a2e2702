// Package storetest opens throwaway stores for tests: an embedded JetStream
// in t.TempDir(), closed when the test ends.
package storetest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/conveyor/conveyor/store"
)

// Open returns a store with an embedded server whose data lives in a fresh
// t.TempDir(). It is closed when the test and its subtests end.
func Open(t testing.TB) *store.Store {
	t.Helper()
	return OpenDir(t, t.TempDir())
}

// OpenDir is [Open] on a given data directory, for tests that reopen a store
// on the same data (restart tests). The store is closed at test end unless
// the test closed it first (closing twice is harmless).
func OpenDir(t testing.TB, dir string) *store.Store {
	t.Helper()
	return OpenConfig(t, store.Config{DataDir: dir})
}

// OpenConfig opens a store with cfg (a nil Logger becomes a discarding one)
// and closes it at test end.
func OpenConfig(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("storetest: open store: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("storetest: close store: %v", err)
		}
	})
	return s
}
