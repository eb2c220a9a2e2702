package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store/storetest"
)

// The store's publisher: stored messages answer their sequence, refusals
// JetStream's API error, a subject no stream stores ErrNoStreamResponse, and
// a wait given up ends at once.
func TestPublishAsync(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	if _, err := st.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.>"}, MaxMsgsPerSubject: 5}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		f, err := st.PublishAsync(&nats.Msg{Subject: "p.a", Data: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		if seq, err := f.Wait(ctx); err != nil || seq != uint64(i+1) {
			t.Fatalf("publish %d: sequence %d, %v", i, seq, err)
		}
	}
	// A compare-and-set publish that loses: the API error, with its code.
	m := nats.NewMsg("p.a")
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "1")
	f, err := st.PublishAsync(m)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *jetstream.APIError
	if _, err := f.Wait(ctx); !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
		t.Fatalf("a publish expecting the wrong last sequence: %v, want JetStream's wrong-last-sequence error", err)
	}
	f, err = st.PublishAsync(&nats.Msg{Subject: "nowhere", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Wait(ctx); !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("a publish no stream stores: %v, want ErrNoStreamResponse", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	f, err = st.PublishAsync(&nats.Msg{Subject: "p.b", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	// (The acknowledgement may be in already: then it is the answer.)
	if _, err := f.Wait(cctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("a wait given up: %v", err)
	}
}
