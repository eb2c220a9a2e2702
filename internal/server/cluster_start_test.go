package server_test

import (
	"context"
	"sync"
	"testing"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// TestNodesStartTogether: three Conveyors started at the same moment on a
// new 3-server NATS cluster all start (they create the same replicated
// streams and buckets at once, and JetStream leaves some of those racing
// requests unanswered: the store tries them again), and each serves calls.
func TestNodesStartTogether(t *testing.T) {
	nc := storetest.StartCluster(t, 3)
	key := servertest.SecretsKey(t)
	ins := make([]*servertest.Instance, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range ins {
		cfg := server.Defaults()
		cfg.DataDir = t.TempDir()
		cfg.NATSURL, cfg.Replicas, cfg.SecretsKeyFile = nc.URLs(), 3, key
		wg.Go(func() { ins[i], errs[i] = servertest.StartConfig(cfg) })
	}
	wg.Wait()
	for i, in := range ins {
		if errs[i] != nil {
			t.Errorf("node %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { _ = in.Stop() })
		if _, err := in.Events.ListEventBuses(context.Background(), nil); err != nil {
			t.Errorf("node %d: ListEventBuses: %v", i, err)
		}
	}
}
