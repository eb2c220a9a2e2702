package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
)

// Options configures the whole audit trail (see New).
type Options struct {
	// Config says how records are built (account, region, identities, data
	// events).
	Config Config
	// Store holds the audit log; records and intents go through its
	// publisher.
	Store *store.Store
	// Replicas of the audit stream and the forwarding consumer (default 1).
	Replicas int
	// IndexPath is this process's event-history index file (SQLite),
	// for example <data-dir>/cloudtrail-index.db.
	IndexPath string
	// Retention is how long records are kept, in the stream (MaxAge) and in
	// the index (default DefaultRetention, 90 days).
	Retention time.Duration
	// QueueSize bounds the calls waiting for the audit log (default
	// DefaultQueueSize).
	QueueSize int
	// Exclusive says no other process shares the store (the embedded one):
	// every intent found at start is then a dead call's and is recorded at
	// once; otherwise only intents older than IntentGrace are (see Journal).
	Exclusive bool
	// IntentGrace is how old another process's intent must be before it is
	// taken for a dead call's (default DefaultIntentGrace).
	IntentGrace time.Duration
	Logger      *slog.Logger
}

// Audit is Conveyor's CloudTrail, assembled: a Recorder appending to the
// audit log, this process's Index following it, retention applied to both,
// and (after StartForwarding) management records put on the bus.
type Audit struct {
	opts     Options
	log      *slog.Logger
	recorder *Recorder
	index    *Index
	journal  *Journal

	cancel context.CancelFunc
	wg     sync.WaitGroup
	ctx    context.Context

	fwdOnce sync.Once

	// dict compresses an import's messages (see importDictionary).
	dict *importDictionary
}

// New creates or updates the audit stream, opens the index, and starts
// recording, indexing and expiring. Close it to flush.
func New(ctx context.Context, opts Options) (*Audit, error) {
	if opts.Store == nil {
		return nil, errors.New("audit: no store")
	}
	js := opts.Store.JetStream()
	if opts.IndexPath == "" {
		return nil, errors.New("audit: no index path")
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b, err := NewBuilder(opts.Config)
	if err != nil {
		return nil, err
	}
	if _, err := EnsureStream(ctx, js, opts.Retention, opts.Replicas); err != nil {
		return nil, err
	}
	kv, err := ensureDictionaries(ctx, js, opts.Replicas)
	if err != nil {
		return nil, err
	}
	dict := openImportDictionary(ctx, kv, opts.Retention, opts.Logger)
	ix, err := OpenIndex(ctx, opts.IndexPath, opts.Logger)
	if err != nil {
		dict.close()
		return nil, err
	}
	if opts.IntentGrace <= 0 {
		opts.IntentGrace = DefaultIntentGrace
	}
	rec := NewRecorder(b, opts.Store, RecorderConfig{QueueSize: opts.QueueSize, Logger: opts.Logger})
	j, err := openJournal(ctx, opts.Store, opts.Replicas, rec, ix, opts.Logger)
	if err != nil {
		_ = rec.Close(ctx)
		_ = ix.Close()
		return nil, err
	}
	rec.journal = j
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a := &Audit{
		opts:     opts,
		log:      opts.Logger,
		recorder: rec,
		index:    ix,
		journal:  j,
		cancel:   cancel,
		ctx:      runCtx,
		dict:     dict,
	}
	a.wg.Add(3)
	opened := time.Now() // before any call of this process is intended
	go func() {
		defer a.wg.Done()
		j.run(runCtx, opened, opts.Exclusive, opts.IntentGrace)
	}()
	go func() {
		defer a.wg.Done()
		_ = ix.Follow(runCtx, js)
	}()
	go func() {
		defer a.wg.Done()
		a.runRetention(runCtx, kv, time.Hour)
	}()
	return a, nil
}

// Recorder returns the recorder; register Recorder().Observe with the
// awsapi server.
func (a *Audit) Recorder() *Recorder { return a.recorder }

// Journal returns the intent journal; register Journal().Intend with the
// awsapi server's BeforeInvoke.
func (a *Audit) Journal() *Journal { return a.journal }

// Index returns this process's event-history index (for LookupEvents).
func (a *Audit) Index() *Index { return a.index }

// NextSeq is the audit-log sequence the next record stored will have, or a
// later one: every record stored before the call has a lower one.
func (a *Audit) NextSeq(ctx context.Context) (uint64, error) {
	st, err := a.opts.Store.JetStream().Stream(ctx, StreamName)
	if err != nil {
		return 0, fmt.Errorf("audit: audit log: %w", err)
	}
	return st.CachedInfo().State.LastSeq + 1, nil
}

// StartForwarding starts putting management records on the bus through f
// (see Forward); it runs until Close. Calling it again does nothing.
func (a *Audit) StartForwarding(f Forwarder) {
	a.fwdOnce.Do(func() {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			_ = Forward(a.ctx, a.opts.Store.JetStream(), f, ForwardConfig{Replicas: a.opts.Replicas, Logger: a.log})
		}()
	})
}

// Close flushes the queued records to the audit log (until ctx ends), then
// stops indexing and forwarding and closes the index.
func (a *Audit) Close(ctx context.Context) error {
	err := a.recorder.Close(ctx)
	a.cancel()
	a.wg.Wait()
	if cerr := a.index.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("audit: close index: %w", cerr))
	}
	a.dict.close()
	return err
}

// runRetention removes what is older than the retention now and then every
// interval, until ctx ends: the index's records, and the dictionaries of
// imported records gone (see dictionaryGone) from the index and from kv.
// (The stream removes its own records, by MaxAge.)
func (a *Audit) runRetention(ctx context.Context, kv jetstream.KeyValue, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	ix, retention := a.index, a.opts.Retention
	for {
		n, err := ix.Expire(ctx, time.Now().Add(-retention))
		if err != nil && ctx.Err() == nil {
			a.log.Error("audit index: expiring old records failed", "err", err)
		} else if n > 0 {
			a.log.Info("audit index: expired old records", "count", n)
		}
		if err := ix.dropDictionaries(ctx, retention, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Error("audit index: dropping old dictionaries failed", "err", err)
		}
		if n, err := expireDictionaries(ctx, kv, retention, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Error("audit: deleting old dictionaries of imported records failed", "err", err)
		} else if n > 0 {
			a.log.Info("audit: deleted old dictionaries of imported records", "count", n)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}
