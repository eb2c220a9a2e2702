package catalog

import (
	"github.com/conveyor/conveyor/internal/clock"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/secrets"
	"github.com/conveyor/conveyor/internal/store"
)

// Errors the catalog returns; test them with errors.Is.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("catalog: not found")
	// ErrExists: a record with that name exists already.
	ErrExists = errors.New("catalog: already exists")
	// ErrConflict: the record kept changing under a compare-and-set loop
	// for too long (see store.Mutate).
	ErrConflict = errors.New("catalog: too many concurrent changes")
)

// DefaultBucket is the name of the KV bucket the catalog lives in.
const DefaultBucket = "conveyor-catalog"

// Config configures Open.
type Config struct {
	// Bucket is the KV bucket name; DefaultBucket if empty.
	Bucket string
	// Replicas of the bucket's stream (1 if zero): 3 on a NATS cluster.
	Replicas int
	// Region and Account are the home scope of a new bucket (us-east-1 and
	// 000000000000 if empty; see Catalog.Home).
	Region, Account string
	// Clock stamps records (the system's if nil).
	Clock clock.Clock
	// Logger gets the catalog's log lines (slog.Default() if nil).
	Logger *slog.Logger
	// Secrets seals the secrets of connections before they are written
	// and opens them when they are read (see package secrets). Without it
	// they are stored as they are: for tests of other things only.
	Secrets *secrets.Box
}

// Catalog is the set of control-plane records of one account and region.
// Its methods are safe for concurrent use, and several Catalogs (in several
// processes) may share one bucket.
type Catalog struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	stream jetstream.Stream
	bucket string
	// home is the scope of the records written before accounts and regions
	// existed (see Home).
	home scope.Scope
	now  func() time.Time
	log  *slog.Logger
	box  *secrets.Box
	// view is the in-memory copy of the bucket that lists read.
	view *store.Mirror[any]
}

// Open creates the catalog's KV bucket if it does not exist and returns the
// catalog on it.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Catalog, error) {
	if cfg.Bucket == "" {
		cfg.Bucket = DefaultBucket
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	kvCfg := jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "Conveyor catalog: event buses, rules and targets, connections, API destinations",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	}
	kv, err := store.OpenKeyValue(ctx, js, kvCfg)
	if err != nil {
		return nil, fmt.Errorf("catalog: open bucket %s: %w", cfg.Bucket, err)
	}
	stream, err := js.Stream(ctx, store.KVStream(cfg.Bucket))
	if err != nil {
		return nil, fmt.Errorf("catalog: stream of bucket %s: %w", cfg.Bucket, err)
	}
	c := &Catalog{js: js, kv: kv, stream: stream, bucket: cfg.Bucket, now: clock.Or(cfg.Clock).Now, log: cfg.Logger, box: cfg.Secrets}
	if err := c.sealSecrets(ctx, kvCfg); err != nil {
		return nil, err
	}
	if err := c.moveToScopes(ctx, scope.Scope{Account: cfg.Account, Region: cfg.Region}); err != nil {
		return nil, err
	}
	c.view, err = store.NewMirror(ctx, js, kv, c.decodeRecord, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return c, nil
}

// Close stops the catalog's in-memory view; the lists answer an error
// afterwards. The view also stops when the NATS connection is closed.
func (c *Catalog) Close() { c.view.Close() }

// decodeRecord decodes a record of the bucket for the view: a *Bus, *Rule,
// *Connection or *APIDestination.
func (c *Catalog) decodeRecord(e jetstream.KeyValueEntry) (any, error) {
	pk, err := parseKey(e.Key())
	if err != nil {
		return nil, err
	}
	switch pk.kind {
	case KindBus:
		return decode[Bus](c, e)
	case KindRule:
		return decode[Rule](c, e)
	case KindConnection:
		return decode[Connection](c, e)
	case kindMeta:
		return nil, nil
	default:
		return decode[APIDestination](c, e)
	}
}

// record is a pointer to a catalog record type.
type record[T any] interface {
	*T
	setRevision(uint64)
	revision() uint64
}

func (b *Bus) setRevision(r uint64)            { b.Revision = r }
func (r *Rule) setRevision(v uint64)           { r.Revision = v }
func (c *Connection) setRevision(r uint64)     { c.Revision = r }
func (d *APIDestination) setRevision(r uint64) { d.Revision = r }
func (b *Bus) revision() uint64                { return b.Revision }
func (r *Rule) revision() uint64               { return r.Revision }
func (c *Connection) revision() uint64         { return c.Revision }
func (d *APIDestination) revision() uint64     { return d.Revision }

// load reads the record at key; it returns nil (and no error) if there is
// none.
func load[T any, P record[T]](ctx context.Context, c *Catalog, key string) (P, error) {
	e, err := c.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get %s: %w", key, err)
	}
	return decode[T, P](c, e)
}

func decode[T any, P record[T]](c *Catalog, e jetstream.KeyValueEntry) (P, error) {
	p := P(new(T))
	if err := json.Unmarshal(e.Value(), p); err != nil {
		return nil, fmt.Errorf("catalog: decode %s: %w", e.Key(), err)
	}
	if s, ok := any(p).(sealable); ok && c.box != nil {
		if err := s.openSecrets(c.box); err != nil {
			return nil, fmt.Errorf("catalog: decode %s: %w", e.Key(), err)
		}
	}
	p.setRevision(e.Revision())
	return p, nil
}

// encode is the stored form of a record: its secrets sealed.
func encode[T any, P record[T]](c *Catalog, p P) ([]byte, error) {
	s, ok := any(p).(sealable)
	if !ok || c.box == nil {
		return json.Marshal(p)
	}
	return json.Marshal(s.sealedCopy(c.box))
}

// errKeep, returned by a mutate fn, keeps the current record as it is:
// mutate writes nothing and returns the current record.
var errKeep = store.ErrKeep

// mutate applies fn to the record at key in a compare-and-set loop (see
// store.Mutate): fn gets the current record (nil if there is none) freshly
// decoded at each attempt, so it may change it in place; it returns the
// record to store, or nil to delete it, or an error that stops the loop and
// is returned as is. fn may run several times. mutate returns the record as
// stored (nil if deleted), with its revision.
func mutate[T any, P record[T]](ctx context.Context, c *Catalog, key string, fn func(cur P) (P, error)) (P, error) {
	codec := store.Codec[T]{
		Decode: func(e jetstream.KeyValueEntry) (*T, error) { return decode[T, P](c, e) },
		Encode: func(v *T) ([]byte, error) { return encode[T, P](c, P(v)) },
	}
	next, rev, err := store.Mutate(ctx, c.kv, key, codec, func(cur *T, _ uint64) (*T, error) {
		n, err := fn(P(cur))
		return (*T)(n), err
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("catalog: write %s: %w", key, ErrConflict)
		}
		return nil, err
	}
	p := P(next)
	if p != nil {
		p.setRevision(rev)
	}
	return p, nil
}

// list returns the records of a group of keys (see store.Mirror: "bus",
// "rule.<bus>", "connection", "destination") from the catalog's in-memory
// view, once the view holds every change made before the call. The records
// are the view's own: callers read them and must not change them.
func list[T any, P record[T]](ctx context.Context, c *Catalog, group string) ([]P, error) {
	vs, err := c.view.List(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("catalog: list %s: %w", group, err)
	}
	out := make([]P, 0, len(vs))
	for _, v := range vs {
		if p, ok := v.(P); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func (c *Catalog) stamp() time.Time { return c.now().UTC() }

// Now returns the catalog clock's time, in UTC: the time records are
// stamped with.
func (c *Catalog) Now() time.Time { return c.stamp() }

// LastRevision returns the revision of the latest change (put or delete) of
// a record of the given kinds (all kinds if none is given), 0 if there was
// none. A Watch of the same kinds that has delivered a Change of this
// revision has seen every change made before LastRevision was called: a
// consumer of Watch can wait for it to read its own writes.
func (c *Catalog) LastRevision(ctx context.Context, kinds ...Kind) (uint64, error) {
	filters, err := kindFilters(kinds)
	if err != nil {
		return 0, err
	}
	if len(filters) == 0 {
		filters = []string{">"}
	}
	var last uint64
	for _, f := range filters {
		m, err := c.stream.GetLastMsgForSubject(ctx, store.KVSubject(c.bucket, f))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("catalog: last revision of %s: %w", f, err)
		}
		last = max(last, m.Sequence)
	}
	return last, nil
}

func sortByName[P any](s []P, name func(P) string) {
	slices.SortFunc(s, func(a, b P) int { return strings.Compare(name(a), name(b)) })
}
