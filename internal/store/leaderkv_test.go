package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// On a replicated store a bucket's keys are read from its stream's leader:
// a process connected to a follower (which would answer direct gets itself,
// and may be behind its leader) reads every write it has just made, deletes
// and purges included, and sends no direct get at all.
func TestReplicatedBucketReadsItsWrites(t *testing.T) {
	c := storetest.StartCluster(t, 3)
	ctx := ctxT(t)
	first := storetest.OpenConfig(t, store.Config{NATSURL: c.URLs(), Replicas: 3})
	if _, err := first.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "reads", Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	st := onFollower(t, c, "KV_reads")
	_, directGets := spyDirectGets(t, c, "KV_reads")

	for _, open := range []func() (jetstream.KeyValue, error){
		func() (jetstream.KeyValue, error) { return st.JetStream().KeyValue(ctx, "reads") },
		func() (jetstream.KeyValue, error) {
			return st.JetStream().CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "reads", Replicas: 3})
		},
	} {
		kv, err := open()
		if err != nil {
			t.Fatal(err)
		}
		for i := range 200 {
			key, val := fmt.Sprintf("k.%d", i%20), fmt.Sprintf("v%d", i)
			rev, err := kv.Put(ctx, key, []byte(val))
			if err != nil {
				t.Fatal(err)
			}
			e, err := kv.Get(ctx, key)
			if err != nil {
				t.Fatalf("Get %s just put: %v", key, err)
			}
			if string(e.Value()) != val || e.Revision() != rev || e.Key() != key || e.Bucket() != "reads" || e.Operation() != jetstream.KeyValuePut {
				t.Fatalf("Get %s = %q rev %d key %q op %v, want %q rev %d", key, e.Value(), e.Revision(), e.Key(), e.Operation(), val, rev)
			}
			switch i % 3 {
			case 1:
				err = kv.Delete(ctx, key)
			case 2:
				err = kv.Purge(ctx, key)
			default:
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kv.Get(ctx, key); !errors.Is(err, jetstream.ErrKeyNotFound) {
				t.Fatalf("Get %s just removed: %v, want ErrKeyNotFound", key, err)
			}
		}
		if _, err := kv.Get(ctx, "never"); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("Get of a key never put: %v", err)
		}
		for _, bad := range []string{"k.*", "k.>", ".k", "k.", "", "a b"} {
			if _, err := kv.Get(ctx, bad); !errors.Is(err, jetstream.ErrInvalidKey) {
				t.Errorf("Get %q: %v, want ErrInvalidKey", bad, err)
			}
		}
	}
	// The bucket's stream, as a catalog reads its last revisions.
	kv, err := st.JetStream().KeyValue(ctx, "reads")
	if err != nil {
		t.Fatal(err)
	}
	stream, err := st.JetStream().Stream(ctx, "KV_reads")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		rev, err := kv.Put(ctx, "last", fmt.Appendf(nil, "%d", i))
		if err != nil {
			t.Fatal(err)
		}
		m, err := stream.GetLastMsgForSubject(ctx, "$KV.reads.last")
		if err != nil || m.Sequence != rev {
			t.Fatalf("GetLastMsgForSubject just put: %v %v, want sequence %d", m, err, rev)
		}
		if m, err = stream.GetMsg(ctx, rev); err != nil || string(m.Data) != fmt.Sprint(i) {
			t.Fatalf("GetMsg %d: %v %v", rev, m, err)
		}
	}
	if _, err := stream.GetLastMsgForSubject(ctx, "$KV.reads.nothing"); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("GetLastMsgForSubject of nothing: %v", err)
	}
	if n := directGets(); n != 0 {
		t.Errorf("%d direct gets sent on a replicated store", n)
	}
}

// An object store of a replicated store reads from its stream's leader too:
// every object just put reads back, from a process connected to a follower,
// without a direct get, also after nats.go opened the store again (which
// turns direct gets on).
func TestReplicatedObjectStoreReadsItsWrites(t *testing.T) {
	c := storetest.StartCluster(t, 3)
	ctx := ctxT(t)
	cfg := jetstream.ObjectStoreConfig{Bucket: "code", Replicas: 3}
	first := storetest.OpenConfig(t, store.Config{NATSURL: c.URLs(), Replicas: 3})
	if _, err := first.JetStream().CreateOrUpdateObjectStore(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	st := onFollower(t, c, "OBJ_code")
	spy, directGets := spyDirectGets(t, c, "OBJ_code")
	raw, err := jetstream.New(spy)
	if err != nil {
		t.Fatal(err)
	}
	for round, open := range []func() (jetstream.ObjectStore, error){
		func() (jetstream.ObjectStore, error) { return st.JetStream().CreateOrUpdateObjectStore(ctx, cfg) },
		func() (jetstream.ObjectStore, error) { return st.JetStream().ObjectStore(ctx, "code") },
	} {
		obj, err := open()
		if err != nil {
			t.Fatal(err)
		}
		// nats.go creating the store again turns direct gets on; this
		// process's store is bound already.
		if _, err := raw.CreateOrUpdateObjectStore(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			name, val := fmt.Sprintf("o%d-%d", round, i), bytes.Repeat([]byte{byte(i)}, 1000+i)
			if _, err := obj.PutBytes(ctx, name, val); err != nil {
				t.Fatal(err)
			}
			got, err := obj.GetBytes(ctx, name)
			if err != nil || !bytes.Equal(got, val) {
				t.Fatalf("GetBytes %s just put: %d bytes, %v", name, len(got), err)
			}
		}
	}
	if n := directGets(); n != 0 {
		t.Errorf("%d direct gets sent on a replicated store", n)
	}
}

// onFollower opens a replicated store connected to a follower of stream:
// the server that would answer its direct gets itself.
func onFollower(t *testing.T, c *storetest.Cluster, stream string) *store.Store {
	t.Helper()
	follower := (c.StreamLeader(t, stream) + 1) % 3
	return storetest.OpenConfig(t, store.Config{NATSURL: c.Server(follower).ClientURL(), Replicas: 3})
}

// spyDirectGets subscribes to the direct gets of stream, by key and by
// sequence, on a connection of its own (returned), and returns how many
// were sent so far.
func spyDirectGets(t *testing.T, c *storetest.Cluster, stream string) (*nats.Conn, func() int64) {
	t.Helper()
	spy, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(spy.Close)
	var n atomic.Int64
	for _, subj := range []string{"$JS.API.DIRECT.GET." + stream, "$JS.API.DIRECT.GET." + stream + ".>"} {
		if _, err := spy.Subscribe(subj, func(*nats.Msg) { n.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	return spy, func() int64 {
		if err := spy.Flush(); err != nil {
			t.Fatal(err)
		}
		return n.Load()
	}
}

// A leader read that gets no answer (its stream has no leader yet: just
// created, or electing one) is tried again, as management calls are,
// instead of waiting for its context to end.
func TestLeaderReadsRetryUnanswered(t *testing.T) {
	ctx := ctxT(t)
	s := storetest.Open(t)
	plain, err := s.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "unanswered"})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := plain.Put(ctx, "k", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	plainStream, err := s.JetStream().Stream(ctx, store.KVStream("unanswered"))
	if err != nil {
		t.Fatal(err)
	}
	// A JetStream API in front of the server's that leaves every other
	// request unanswered and passes the rest on.
	nc := s.Conn()
	var requests atomic.Int64
	sub, err := nc.Subscribe("proxy.api.>", func(m *nats.Msg) {
		if requests.Add(1)%2 == 1 {
			return
		}
		if resp, err := nc.Request("$JS.API."+m.Subject[len("proxy.api."):], m.Data, 5*time.Second); err == nil {
			_ = m.Respond(resp.Data)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	legacy, err := nc.JetStream(nats.APIPrefix("proxy.api"))
	if err != nil {
		t.Fatal(err)
	}
	kv, st := store.LeaderReads(plain, plainStream, legacy)
	e, err := kv.Get(ctx, "k")
	if err != nil || string(e.Value()) != "v" || e.Revision() != rev {
		t.Fatalf("Get: %v %v", e, err)
	}
	m, err := st.GetLastMsgForSubject(ctx, store.KVSubject("unanswered", "k"))
	if err != nil || string(m.Data) != "v" {
		t.Fatalf("GetLastMsgForSubject: %v %v", m, err)
	}
	if m, err = st.GetMsg(ctx, rev); err != nil || string(m.Data) != "v" {
		t.Fatalf("GetMsg: %v %v", m, err)
	}
	if n := requests.Load(); n != 6 {
		t.Errorf("%d requests for three reads, want 6 (each tried again once)", n)
	}
}
