package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// A bus stream whose leader lost its quorum (both other servers of three
// down) never acknowledges a write: PublishEvents fails within the store's
// RequestTimeout, as unavailable, instead of waiting as long as its caller;
// once the servers are back, writes are stored again.
func TestPublishWithoutQuorum(t *testing.T) {
	c := storetest.StartCluster(t, 3)
	ctx := ctxT(t)
	st, err := storetest.OpenConfig(t, store.Config{NATSURL: c.URLs(), Replicas: 3}).EnsureBus(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The leader stays up, and the store talks to it: the others are shut
	// down, so it leads (for a while) a group that cannot store anything.
	var down []int
	url := ""
	for i := range 3 {
		if srv := c.Server(i); srv.Name() == info.Cluster.Leader {
			url = srv.ClientURL()
		} else {
			down = append(down, i)
		}
	}
	s := storetest.OpenConfig(t, store.Config{NATSURL: url, Replicas: 3, RequestTimeout: 300 * time.Millisecond})
	msgs := []store.Message{{Data: []byte("1")}, {Data: []byte("2")}}
	if _, err := s.PublishEvents(ctx, "b", msgs); err != nil {
		t.Fatal(err)
	}
	for _, i := range down {
		c.Shutdown(i)
	}
	began := time.Now()
	errs, err := s.PublishEvents(ctx, "b", msgs)
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("PublishEvents without a quorum answered after %v", d)
	}
	if err == nil || !store.Unavailable(err) {
		t.Errorf("PublishEvents without a quorum: %v, want an unavailable store", err)
	}
	for i, e := range errs {
		if e == nil {
			t.Errorf("message %d acknowledged without a quorum", i)
		}
	}
	for _, i := range down {
		c.Restart(i)
	}
	waitfor.Err(t, waitfor.Timeout, "a write once the servers are back", func() error {
		_, err := s.PublishEvents(ctx, "b", msgs)
		return err
	})
}

func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("store: publish: %w", jetstream.ErrAsyncPublishTimeout), true},
		{jetstream.ErrNoStreamResponse, true},
		{nats.ErrTimeout, true},
		{context.DeadlineExceeded, true},
		{nats.ErrConnectionClosed, true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}, false},
		{nats.ErrMaxPayload, false},
		{errors.New("other"), false},
	} {
		if got := store.Unavailable(tc.err); got != tc.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
