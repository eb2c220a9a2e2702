package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
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

func TestParseAck(t *testing.T) {
	for _, c := range []struct {
		data string
		seq  uint64
		err  bool
	}{
		{`{"stream":"S","seq":42}`, 42, false},
		{`{"stream":"S","domain":"d","seq":7,"duplicate":true}`, 7, false},
		{`{"stream":"S","seq":18446744073709551615}`, 18446744073709551615, false},
		{`{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 5"},"stream":"S","seq":1}`, 0, true},
		{`{"stream":"S"}`, 0, true},
		{`{"seq":3}`, 0, true},
		{`not json`, 0, true},
	} {
		seq, err := store.ParseAck(&nats.Msg{Data: []byte(c.data)})
		if seq != c.seq || (err != nil) != c.err {
			t.Errorf("parseAck(%s) = %d, %v", c.data, seq, err)
		}
	}
}

// A publish nobody acknowledges fails after the store's request timeout.
func TestPublishAsyncTimeout(t *testing.T) {
	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir(), RequestTimeout: 100 * time.Millisecond})
	// A subscriber that never answers: no "no responders" status either.
	sub, err := st.Conn().SubscribeSync("silent")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	f, err := st.PublishAsync(&nats.Msg{Subject: "silent", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Wait(context.Background()); !errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		t.Fatalf("an unanswered publish: %v, want ErrAsyncPublishTimeout", err)
	}
}

// PublishWithin gives up at its own deadline when it is shorter than the
// store's request timeout, within expirePrecision.
func TestPublishWithin(t *testing.T) {
	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir(), RequestTimeout: time.Minute})
	sub, err := st.Conn().SubscribeSync("silent")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	start := time.Now()
	_, err = st.PublishWithin(context.Background(), &nats.Msg{Subject: "silent", Data: []byte("x")}, 200*time.Millisecond)
	if !errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		t.Fatalf("an unanswered publish: %v, want ErrAsyncPublishTimeout", err)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 5*time.Second {
		t.Fatalf("gave up after %v, want 200ms and up to a sweep more", took)
	}
}

// A message already gone, deleted again or read, is MsgGone.
func TestMsgGone(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	s, err := st.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "G", Subjects: []string{"g"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.JetStream().Publish(ctx, "g", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(ctx, 1); !store.MsgGone(err) {
		t.Errorf("deleting a deleted message: %v, want MsgGone", err)
	}
	if _, err := s.GetMsg(ctx, 1); !store.MsgGone(err) {
		t.Errorf("reading a deleted message: %v, want MsgGone", err)
	}
	if store.MsgGone(errors.New("other")) {
		t.Error("any error is MsgGone")
	}
}
