package storetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestCluster: an R3 stream on the cluster takes writes with one server
// down, and the server that comes back catches up with them.
func TestCluster(t *testing.T) {
	c := storetest.StartCluster(t, 3)
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	publish := func() error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := js.Publish(ctx, "s", []byte("x"))
		return err
	}
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	c.Shutdown(1)
	if c.Server(1) != nil {
		t.Fatal("a shut-down server is still listed")
	}
	waitfor.Err(t, waitfor.Timeout, "a write with one server down", publish)
	c.Restart(1)
	c.WaitLeader()
	srv := c.Server(1)
	waitfor.Err(t, waitfor.Timeout, "the restarted server to catch up", func() error {
		if !srv.JetStreamIsStreamCurrent("$G", "S") {
			return fmt.Errorf("stream not current on server 1")
		}
		return nil
	})
}
