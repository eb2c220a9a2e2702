package tail_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/tail"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// A tail sees the bus's events with the enabled rules they matched, and the outcomes of the
// bus's deliveries, which are published only while some tail watches the bus.
func TestWatch(t *testing.T) {
	st := storetest.Open(t)
	hub, err := tail.New(st.Conn(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	hub.Outcome(delivery.Outcome{Bus: "b1", EventID: "before", Result: delivery.OutcomeDelivered}) // nobody watches: not published
	rules := func(context.Context) ([]tail.Rule, error) {
		return []tail.Rule{{Name: "ec2", EventPattern: `{"source":["aws.ec2"]}`, Enabled: true},
			{Name: "off", EventPattern: `{"source":["aws.ec2"]}`}}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	items := make(chan tail.Item, 16)
	done := make(chan error, 1)
	go func() {
		done <- hub.Watch(ctx, "b1", []byte(`{"detail":{"n":[{"numeric":[">",1]}]}}`), rules, func(it tail.Item) error {
			items <- it
			return nil
		})
	}()
	if it := <-items; it.Event != nil || it.Outcome != nil {
		t.Fatalf("first item %+v, want the ready mark", it)
	}
	nc := st.Conn()
	for _, ev := range []string{`{"id":"1","source":"aws.ec2","detail":{"n":1}}`, `{"id":"2","source":"aws.ec2","detail":{"n":2}}`} {
		if err := nc.Publish(store.BusSubject("b1"), []byte(ev)); err != nil {
			t.Fatal(err)
		}
	}
	it := <-items // the first event does not pass the filter
	if string(it.Event) != `{"id":"2","source":"aws.ec2","detail":{"n":2}}` || len(it.Rules) != 1 || it.Rules[0] != "ec2" {
		t.Fatalf("event item %+v", it)
	}
	// The hub has heard of the tail once its interest arrives; outcomes follow.
	waitfor.True(t, "an outcome at the tail", func() bool {
		hub.Outcome(delivery.Outcome{Bus: "b1", EventID: "2", Rule: "ec2", Result: delivery.OutcomeDelivered})
		select {
		case it = <-items:
			return true
		case <-time.After(50 * time.Millisecond):
			return false
		}
	})
	if it.Outcome == nil || it.Outcome.EventID != "2" {
		t.Fatalf("outcome item %+v (the one published before the tail must not come)", it)
	}
	// A PutEvents call's events, stored as one message, come one by one.
	if _, err := st.EnsureBus(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	batch := []store.Message{{Data: []byte(`{"id":"3","detail":{"n":5}}`)}, {Data: []byte(`{"id":"4","detail":{"n":0}}`)},
		{Data: []byte(`{"id":"5","detail":{"n":7}}`)}}
	if _, err := st.PublishEvents(ctx, "b1", batch); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		if it := <-items; it.Event != nil {
			got = append(got, string(it.Event))
		}
	}
	if want := []string{string(batch[0].Data), string(batch[2].Data)}; !slices.Equal(got, want) {
		t.Errorf("batch at the tail: %q, want %q", got, want)
	}
	cancel()
	<-done
}
