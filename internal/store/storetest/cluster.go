package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/waitfor"
)

// Cluster is a NATS cluster with JetStream, every server in this process on
// loopback ports, as an operator's three machines would be. Its servers can
// be shut down and restarted one at a time: a restarted server keeps its
// store directory, its client port and its route port, so the clients and
// the other servers find it again where it was.
type Cluster struct {
	t     testing.TB
	mu    sync.Mutex
	nodes []*clusterNode
}

type clusterNode struct {
	opts natsserver.Options // what every start of the server uses
	srv  *natsserver.Server // nil while it is shut down
}

// StartCluster starts n nats-servers with JetStream, routed to each other
// in one cluster, each with a store of its own under t.TempDir(), and
// waits until JetStream has a meta leader. Everything is shut down when
// the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("storetest: a cluster of %d servers", n)
	}
	// Route ports are fixed before the first start: every server names all
	// the others' in its routes, and a restarted server must be found
	// where it was. A port the kernel gave out and that was closed again
	// is free unless another process takes it in between; the listeners
	// stay open until all are taken, so that they differ.
	routePorts := make([]int, n)
	listeners := make([]net.Listener, n)
	for i := range routePorts {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("storetest: reserve a route port: %v", err)
		}
		listeners[i] = ln
		routePorts[i] = ln.Addr().(*net.TCPAddr).Port
	}
	// A cluster name of its own: a route that reaches another test's
	// cluster (a port taken in between) is refused, not merged.
	var id [4]byte
	_, _ = rand.Read(id[:])
	name := "conveyor-test-" + hex.EncodeToString(id[:])
	root := t.TempDir()
	c := &Cluster{t: t}
	for i := range n {
		var routes []*url.URL
		for j, p := range routePorts {
			if j != i {
				routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
			}
		}
		if n == 1 {
			// JetStream clusters only with a configured route; a route to
			// itself is recognised as such and dropped.
			routes = []*url.URL{{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", routePorts[0])}}
		}
		c.nodes = append(c.nodes, &clusterNode{opts: natsserver.Options{
			ServerName: fmt.Sprintf("n%d", i),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   filepath.Join(root, fmt.Sprintf("n%d", i)),
			Cluster:    natsserver.ClusterOpts{Name: name, Host: "127.0.0.1", Port: routePorts[i]},
			Routes:     routes,
			NoSigs:     true,
			NoLog:      true,
		}})
	}
	for _, ln := range listeners {
		if err := ln.Close(); err != nil {
			t.Fatalf("storetest: free a route port: %v", err)
		}
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.Shutdown(i)
		}
	})
	for i := range c.nodes {
		c.start(i)
	}
	c.WaitLeader()
	return c
}

// start starts server i; the first start takes a random client port and
// every later one the same.
func (c *Cluster) start(i int) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	nd := c.nodes[i]
	if nd.srv != nil {
		return
	}
	opts := nd.opts // NewServer keeps and changes the Options it is given
	srv, err := natsserver.NewServer(&opts)
	if err != nil {
		c.t.Fatalf("storetest: nats-server %d: %v", i, err)
	}
	srv.Start()
	// Generous: a JetStream server under -race on a loaded machine can take seconds.
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		c.t.Fatalf("storetest: nats-server %d not ready (port %d taken?)", i, nd.opts.Port)
	}
	if nd.opts.Port <= 0 {
		nd.opts.Port = srv.Addr().(*net.TCPAddr).Port
	}
	nd.srv = srv
}

// URLs is the cluster's client URLs, comma-separated, as a user gives them
// to `conveyor serve --nats`. They stay valid across restarts.
func (c *Cluster) URLs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	urls := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", nd.opts.Port)
	}
	return strings.Join(urls, ",")
}

// Server returns server i, nil while it is shut down.
func (c *Cluster) Server(i int) *natsserver.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// Shutdown stops server i and waits until it has stopped. Stopping a server
// that is down does nothing. nats-server hands the Raft groups it leads to
// other servers as it stops: this is an orderly loss of a machine, not a
// crash.
func (c *Cluster) Shutdown(i int) {
	c.mu.Lock()
	srv := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Restart starts server i again after Shutdown, on the same store directory
// and ports, and waits until it serves clients. It does not wait for
// JetStream: WaitLeader does.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.start(i)
}

// WaitLeader waits until JetStream has a meta leader that every running
// server follows (each one is current), and that counts every running
// server as online: until it does, it places no replica there, and an R3
// stream cannot be created.
func (c *Cluster) WaitLeader() {
	c.t.Helper()
	waitfor.Err(c.t, waitfor.Timeout, "a JetStream meta leader that sees every server", func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		var leader *natsserver.Server
		var running []string
		for i, nd := range c.nodes {
			if nd.srv == nil {
				continue
			}
			running = append(running, nd.srv.Name())
			if !nd.srv.JetStreamIsCurrent() {
				return fmt.Errorf("server %d is not current with the meta group", i)
			}
			if nd.srv.JetStreamIsLeader() {
				if leader != nil {
					return errors.New("two meta leaders")
				}
				leader = nd.srv
			}
		}
		if leader == nil {
			return errors.New("no meta leader")
		}
		online := leader.JetStreamClusterPeers()
		for _, name := range running {
			if !slices.Contains(online, name) {
				return fmt.Errorf("the meta leader sees %v online, not %s", online, name)
			}
		}
		return nil
	})
}

// StreamLeader returns the index of the server that leads stream.
func (c *Cluster) StreamLeader(t testing.TB, stream string) int {
	t.Helper()
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.nodes {
		if srv := c.Server(i); srv != nil && srv.Name() == st.CachedInfo().Cluster.Leader {
			return i
		}
	}
	t.Fatalf("storetest: no server leads %s", stream)
	return -1
}
