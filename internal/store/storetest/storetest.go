// Package storetest opens throwaway stores for tests: an embedded JetStream
// in t.TempDir(), closed when the test ends.
//
// It also runs the NATS servers an operator would: [StartNATS] one,
// [StartCluster] a JetStream cluster in this process, whose servers a test
// can shut down and restart one by one.
package storetest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/conveyor/conveyor/internal/store"
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

// StartNATS runs a separate nats-server with JetStream (file store in dir,
// or a fresh t.TempDir() when dir is ""), listening on a random loopback
// port, as an operator's server would be; it is shut down when the test
// ends. Connect with its ClientURL().
func StartNATS(t testing.TB, dir string) *natsserver.Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatalf("storetest: nats-server: %v", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) { // generous: see Cluster.start
		t.Fatal("storetest: nats-server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}
