package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A bucket's stream answers "direct gets" (the way nats.go reads a key) from
// any of its servers, followers included, and a follower may not yet hold a
// write its leader has acknowledged: the key just put reads as missing, or
// as its older value. So on a replicated store (Config.Replicas > 1) every
// bucket the store's JetStream opens reads keys from its stream's leader,
// through the JetStream API's message get: a process reads its own writes,
// as a catalog or a queue must (a connection just created must be there for
// the API destination created next). Watches and writes are unchanged; with
// one replica there is no follower, and direct gets stay. A leader read
// goes unanswered while the stream has no leader (one just created, or
// electing one), so it is tried again as management calls are (retried).
type leaderKV struct {
	jetstream.KeyValue
	js     nats.JetStreamContext
	stream string // KV_<bucket>
	prefix string // $KV.<bucket>.
}

// leaderReads returns kv reading from its stream's leader on a replicated
// store, kv itself otherwise.
func (p provisioning) leaderReads(kv jetstream.KeyValue, err error) (jetstream.KeyValue, error) {
	if err != nil || p.leader == nil {
		return kv, err
	}
	return leaderKV{KeyValue: kv, js: p.leader, stream: KVStream(kv.Bucket()), prefix: KVSubject(kv.Bucket(), "")}, nil
}

// Get returns the key's latest value, as jetstream.KeyValue.Get does:
// ErrKeyNotFound for a key never put, deleted or purged.
func (k leaderKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	if !validKey(key) {
		return nil, jetstream.ErrInvalidKey
	}
	m, err := rawMsg(retried(ctx, func(ctx context.Context, _ bool) (*nats.RawStreamMsg, error) {
		return k.js.GetLastMsg(k.stream, k.prefix+key, nats.Context(ctx))
	}))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, jetstream.ErrKeyNotFound
	}
	if err != nil {
		return nil, err
	}
	e := &entry{bucket: k.Bucket(), key: key, value: m.Data, revision: m.Sequence, created: m.Time, op: jetstream.KeyValuePut}
	switch m.Header.Get("KV-Operation") {
	case "DEL":
		e.op = jetstream.KeyValueDelete
	case "PURGE":
		e.op = jetstream.KeyValuePurge
	}
	switch m.Header.Get(jetstream.MarkerReasonHeader) {
	case "MaxAge", "Purge":
		e.op = jetstream.KeyValuePurge
	case "Remove":
		e.op = jetstream.KeyValueDelete
	}
	if e.op != jetstream.KeyValuePut {
		return nil, jetstream.ErrKeyNotFound
	}
	return e, nil
}

// leaderStream is a stream that answers direct gets (a bucket's) on a
// replicated store: its gets go to its leader, like leaderKV's.
type leaderStream struct {
	jetstream.Stream
	js nats.JetStreamContext
}

// leaderStreamReads returns st reading from its leader on a replicated store
// when its servers answer direct gets, st itself otherwise.
func (p provisioning) leaderStreamReads(st jetstream.Stream, err error) (jetstream.Stream, error) {
	if err != nil || p.leader == nil || !st.CachedInfo().Config.AllowDirect {
		return st, err
	}
	return leaderStream{Stream: st, js: p.leader}, nil
}

// GetLastMsgForSubject returns the stream's last message on subject.
func (s leaderStream) GetLastMsgForSubject(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	return rawMsg(retried(ctx, func(ctx context.Context, _ bool) (*nats.RawStreamMsg, error) {
		return s.js.GetLastMsg(s.CachedInfo().Config.Name, subject, nats.Context(ctx))
	}))
}

// GetMsg returns the stream's message seq. Options (a subject filter) are
// not supported: nats.go's request carrying them is its own, and they would
// otherwise be dropped.
func (s leaderStream) GetMsg(ctx context.Context, seq uint64, opts ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error) {
	if len(opts) > 0 {
		return nil, errors.New("store: GetMsg with options on a replicated bucket's stream")
	}
	return rawMsg(retried(ctx, func(ctx context.Context, _ bool) (*nats.RawStreamMsg, error) {
		return s.js.GetMsg(s.CachedInfo().Config.Name, seq, nats.Context(ctx))
	}))
}

func rawMsg(m *nats.RawStreamMsg, err error) (*jetstream.RawStreamMsg, error) {
	if errors.Is(err, nats.ErrMsgNotFound) {
		return nil, jetstream.ErrMsgNotFound
	}
	if err != nil {
		return nil, err
	}
	return &jetstream.RawStreamMsg{Subject: m.Subject, Sequence: m.Sequence, Header: m.Header, Data: m.Data, Time: m.Time}, nil
}

// objectLeaderReads makes the stream of an object store (obj, bucket, opened
// on a replicated store) answer no direct gets, and binds the store again,
// so that its reads go to the leader too: nats.go reads an object's metadata
// with a direct get when the stream allows them when the store is bound, and
// turns them on whenever it creates or updates a store. Another process
// starting may do that at any moment, so the stream is checked before and
// after binding; only two changes within that check would escape it. With
// one replica, obj is returned as it is.
func (p provisioning) objectLeaderReads(ctx context.Context, bucket string, obj jetstream.ObjectStore, err error) (jetstream.ObjectStore, error) {
	if err != nil || p.leader == nil {
		return obj, err
	}
	direct := func() (bool, error) {
		st, err := p.Stream(ctx, "OBJ_"+bucket)
		if err != nil {
			return false, fmt.Errorf("store: object store %s: %w", bucket, err)
		}
		cfg := st.CachedInfo().Config
		if !cfg.AllowDirect {
			return false, nil
		}
		cfg.AllowDirect = false
		if _, err := p.UpdateStream(ctx, cfg); err != nil {
			return true, fmt.Errorf("store: object store %s without direct gets: %w", bucket, err)
		}
		return true, nil
	}
	for range provisionAttempts {
		if again, err := direct(); err != nil || again {
			if err != nil {
				return nil, err
			}
			continue
		}
		obj, err := retried(ctx, func(ctx context.Context, _ bool) (jetstream.ObjectStore, error) {
			return p.JetStream.ObjectStore(ctx, bucket)
		})
		if err != nil {
			return nil, err
		}
		if again, err := direct(); err != nil || !again {
			return obj, err
		}
	}
	return nil, fmt.Errorf("store: object store %s: direct gets kept being turned on", bucket)
}

// validKey is nats.go's rule for keys: letters, digits and -/_=. only, not
// beginning or ending with a dot. It keeps wildcards out of the subject a
// get asks for.
func validKey(key string) bool {
	if key == "" || key[0] == '.' || key[len(key)-1] == '.' {
		return false
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '/' || c == '_' || c == '=' || c == '.':
		default:
			return false
		}
	}
	return true
}

// entry is a key's value read by leaderKV.
type entry struct {
	bucket, key string
	value       []byte
	revision    uint64
	created     time.Time
	op          jetstream.KeyValueOp
}

func (e *entry) Bucket() string                  { return e.bucket }
func (e *entry) Key() string                     { return e.key }
func (e *entry) Value() []byte                   { return e.value }
func (e *entry) Revision() uint64                { return e.revision }
func (e *entry) Created() time.Time              { return e.created }
func (e *entry) Delta() uint64                   { return 0 }
func (e *entry) Operation() jetstream.KeyValueOp { return e.op }
