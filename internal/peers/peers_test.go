package peers_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/conveyor/conveyor/internal/peers"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// Three processes on one NATS server count three, the first started too
// (the others said hello); one stopped, the others count two (it said
// goodbye).
func TestCount(t *testing.T) {
	url := storetest.StartNATS(t, "").ClientURL()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var cs []*peers.Counter
	for range 3 {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		c, err := peers.Start(context.Background(), nc, quiet)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	t.Cleanup(func() {
		for _, c := range cs[:2] {
			c.Stop()
		}
	})
	if n := cs[2].Count(); n != 3 {
		t.Errorf("the last one started counts %d, want 3", n)
	}
	waitfor.Within(t, 2*time.Second, "the first one to count three", func() bool { return cs[0].Count() == 3 })
	cs[2].Stop()
	waitfor.Within(t, 2*time.Second, "the others to count two", func() bool {
		return cs[0].Count() == 2 && cs[1].Count() == 2
	})
	var none *peers.Counter
	if none.Count() != 1 {
		t.Error("a nil counter counts this process only")
	}
}
