package store

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Several Conveyors starting at once on a new NATS cluster create the same
// replicated streams, buckets and consumers at the same moment. JetStream
// then creates each of them, but the management requests racing for it may
// get no answer at all (nats-server answers one; the others wait until they
// time out). Every management call is therefore tried with a bound of its
// own, one second and a second more at each try up to five, and tried again
// when that bound passes (20 seconds in all): the calls are idempotent, and
// the retry finds what the first try made.
const provisionAttempts = 6

// provisioning is the store's JetStream: calls that manage streams, buckets
// and consumers are retried when they time out; the buckets it opens read
// from their leader on a replicated store (leaderKV: leader is set there);
// everything else is JetStream's own.
type provisioning struct {
	jetstream.JetStream
	leader nats.JetStreamContext
}

// retried runs f with a bound, again while it times out and ctx lasts, at
// most provisionAttempts times. retry is true from the second try on.
func retried[T any](ctx context.Context, f func(ctx context.Context, retry bool) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, time.Duration(min(attempt, 5))*time.Second)
		v, err := f(actx, attempt > 1)
		cancel()
		if err == nil || ctx.Err() != nil || attempt == provisionAttempts ||
			!(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)) {
			return v, err
		}
	}
}

func (p provisioning) CreateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return p.leaderStreamReads(retried(ctx, func(ctx context.Context, retry bool) (jetstream.Stream, error) {
		st, err := p.JetStream.CreateStream(ctx, cfg)
		if retry && errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return p.JetStream.Stream(ctx, cfg.Name) // made by the try that timed out
		}
		return st, err
	}))
}

func (p provisioning) UpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return p.leaderStreamReads(retried(ctx, func(ctx context.Context, _ bool) (jetstream.Stream, error) { return p.JetStream.UpdateStream(ctx, cfg) }))
}

func (p provisioning) CreateOrUpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return p.leaderStreamReads(retried(ctx, func(ctx context.Context, _ bool) (jetstream.Stream, error) {
		return p.JetStream.CreateOrUpdateStream(ctx, cfg)
	}))
}

func (p provisioning) Stream(ctx context.Context, name string) (jetstream.Stream, error) {
	return p.leaderStreamReads(retried(ctx, func(ctx context.Context, _ bool) (jetstream.Stream, error) { return p.JetStream.Stream(ctx, name) }))
}

func (p provisioning) CreateOrUpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return retried(ctx, func(ctx context.Context, _ bool) (jetstream.Consumer, error) {
		return p.JetStream.CreateOrUpdateConsumer(ctx, stream, cfg)
	})
}

func (p provisioning) CreateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return retried(ctx, func(ctx context.Context, _ bool) (jetstream.Consumer, error) {
		return p.JetStream.CreateConsumer(ctx, stream, cfg)
	})
}

func (p provisioning) UpdateConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return retried(ctx, func(ctx context.Context, _ bool) (jetstream.Consumer, error) {
		return p.JetStream.UpdateConsumer(ctx, stream, cfg)
	})
}

func (p provisioning) Consumer(ctx context.Context, stream, name string) (jetstream.Consumer, error) {
	return retried(ctx, func(ctx context.Context, _ bool) (jetstream.Consumer, error) {
		return p.JetStream.Consumer(ctx, stream, name)
	})
}

func (p provisioning) KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	return p.leaderReads(retried(ctx, func(ctx context.Context, _ bool) (jetstream.KeyValue, error) {
		return p.JetStream.KeyValue(ctx, bucket)
	}))
}

func (p provisioning) CreateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return p.leaderReads(retried(ctx, func(ctx context.Context, retry bool) (jetstream.KeyValue, error) {
		kv, err := p.JetStream.CreateKeyValue(ctx, cfg)
		if retry && errors.Is(err, jetstream.ErrBucketExists) {
			return p.JetStream.KeyValue(ctx, cfg.Bucket)
		}
		return kv, err
	}))
}

func (p provisioning) UpdateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return p.leaderReads(retried(ctx, func(ctx context.Context, _ bool) (jetstream.KeyValue, error) {
		return p.JetStream.UpdateKeyValue(ctx, cfg)
	}))
}

func (p provisioning) CreateOrUpdateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return p.leaderReads(retried(ctx, func(ctx context.Context, _ bool) (jetstream.KeyValue, error) {
		return p.JetStream.CreateOrUpdateKeyValue(ctx, cfg)
	}))
}

func (p provisioning) ObjectStore(ctx context.Context, bucket string) (jetstream.ObjectStore, error) {
	obj, err := retried(ctx, func(ctx context.Context, _ bool) (jetstream.ObjectStore, error) {
		return p.JetStream.ObjectStore(ctx, bucket)
	})
	return p.objectLeaderReads(ctx, bucket, obj, err)
}

func (p provisioning) CreateObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	obj, err := retried(ctx, func(ctx context.Context, retry bool) (jetstream.ObjectStore, error) {
		obj, err := p.JetStream.CreateObjectStore(ctx, cfg)
		if retry && errors.Is(err, jetstream.ErrBucketExists) {
			return p.JetStream.ObjectStore(ctx, cfg.Bucket)
		}
		return obj, err
	})
	return p.objectLeaderReads(ctx, cfg.Bucket, obj, err)
}

func (p provisioning) UpdateObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	obj, err := retried(ctx, func(ctx context.Context, _ bool) (jetstream.ObjectStore, error) {
		return p.JetStream.UpdateObjectStore(ctx, cfg)
	})
	return p.objectLeaderReads(ctx, cfg.Bucket, obj, err)
}

func (p provisioning) CreateOrUpdateObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	obj, err := retried(ctx, func(ctx context.Context, _ bool) (jetstream.ObjectStore, error) {
		return p.JetStream.CreateOrUpdateObjectStore(ctx, cfg)
	})
	return p.objectLeaderReads(ctx, cfg.Bucket, obj, err)
}

// OpenKeyValue opens the bucket cfg names, and creates it with cfg if there
// is none (another process creating it meanwhile is fine). An existing
// bucket keeps its configuration: CreateOrUpdateKeyValue would reset what
// its owner changed on its stream since (message TTLs, for instance).
func OpenKeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) { // another process won the race
			kv, err = js.KeyValue(ctx, cfg.Bucket)
		}
	}
	return kv, err
}
