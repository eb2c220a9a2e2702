package peers

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Subject is where each process answers the others' roll call (core NATS,
// nothing stored).
const Subject = "conveyor.peers"

const (
	// every is how often a process counts its peers.
	every = 5 * time.Second
	// answers is how long a roll call waits for answers.
	answers = 250 * time.Millisecond
)

// Counter knows how many processes (itself included) answered the latest
// roll call. Start it with Start, stop it with Stop.
type Counter struct {
	nc  *nats.Conn
	log *slog.Logger
	n   atomic.Int32
	// again asks for a roll call now: a process started or stopped.
	again  chan struct{}
	sub    *nats.Subscription
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// Start answers the roll calls of the processes on nc and counts them now,
// every five seconds, and when a process starts or stops (its first roll
// call says hello, its Stop says goodbye, and the others count again).
func Start(ctx context.Context, nc *nats.Conn, log *slog.Logger) (*Counter, error) {
	c := &Counter{nc: nc, log: log, again: make(chan struct{}, 1)}
	c.n.Store(1)
	sub, err := nc.Subscribe(Subject, func(m *nats.Msg) {
		if m.Reply != "" {
			_ = m.Respond(nil)
		}
		if len(m.Data) > 0 { // hello or goodbye (its own hello too: one roll call more)
			select {
			case c.again <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("peers: subscribe: %w", err)
	}
	c.sub = sub
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("peers: subscribe: %w", err)
	}
	ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c.count(ctx, hello)
	c.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-c.again:
			}
			c.count(ctx, "")
		}
	})
	return c, nil
}

// Count is the number of processes that answered the latest roll call, at
// least 1 (this one).
func (c *Counter) Count() int {
	if c == nil {
		return 1
	}
	return int(c.n.Load())
}

// Stop ends the roll calls and the answers to them, and tells the others.
func (c *Counter) Stop() {
	c.cancel()
	c.done.Wait()
	_ = c.sub.Unsubscribe()
	_ = c.nc.Publish(Subject, []byte(goodbye))
	_ = c.nc.Flush()
}

const (
	hello   = "hello"
	goodbye = "goodbye"
)

// count holds a roll call (saying note: hello, or nothing): every answer
// within the wait counts.
func (c *Counter) count(ctx context.Context, note string) {
	inbox := c.nc.NewRespInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		c.log.Debug("peers: roll call", "err", err)
		return
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.nc.PublishRequest(Subject, inbox, []byte(note)); err != nil {
		c.log.Debug("peers: roll call", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, answers)
	defer cancel()
	n := 0
	for {
		if _, err := sub.NextMsgWithContext(ctx); err != nil {
			break
		}
		n++
	}
	if ctx.Err() != nil && n > 0 {
		if old := c.n.Swap(int32(n)); int(old) != n {
			c.log.Info("peers: Conveyor processes on this NATS", "count", n)
		}
	}
}
