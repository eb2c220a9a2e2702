package store_test

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// OpenKeyValue creates a bucket once, however many open it at once, and an
// existing bucket keeps its configuration.
func TestOpenKeyValue(t *testing.T) {
	ctx := ctxT(t)
	js := storetest.Open(t).JetStream()
	cfg := jetstream.KeyValueConfig{Bucket: "opened", History: 3}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			kv, err := store.OpenKeyValue(ctx, js, cfg)
			if err == nil {
				_, err = kv.Put(ctx, "k", []byte("v"))
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	kv, err := store.OpenKeyValue(ctx, js, jetstream.KeyValueConfig{Bucket: "opened", History: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.History() != 3 || st.Values() != 3 {
		t.Errorf("reopened bucket: history %d, %d values; want the first configuration: history 3, and the last 3 of the 4 values put", st.History(), st.Values())
	}
}

// KVStream and KVSubject name a bucket's stream and a key's subject as
// nats.go makes them.
func TestKVNames(t *testing.T) {
	ctx := ctxT(t)
	js := storetest.Open(t).JetStream()
	kv, err := store.OpenKeyValue(ctx, js, jetstream.KeyValueConfig{Bucket: "named"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "a.b", []byte("v")); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, store.KVStream("named"))
	if err != nil {
		t.Fatalf("the bucket's stream %s: %v", store.KVStream("named"), err)
	}
	m, err := st.GetLastMsgForSubject(ctx, store.KVSubject("named", "a.b"))
	if err != nil || string(m.Data) != "v" {
		t.Fatalf("the key's subject %s: %v %v", store.KVSubject("named", "a.b"), m, err)
	}
	if m.Subject != store.KVSubject("named", "a.b") {
		t.Errorf("stored on %s, want %s", m.Subject, store.KVSubject("named", "a.b"))
	}
}
