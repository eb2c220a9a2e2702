package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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
	// for longer than maxAttempts tries.
	ErrConflict = errors.New("catalog: too many concurrent changes")
)

// DefaultBucket is the name of the KV bucket the catalog lives in.
const DefaultBucket = "conveyor-catalog"

// maxAttempts bounds a compare-and-set loop.
const maxAttempts = 100

// Config configures Open.
type Config struct {
	// Bucket is the KV bucket name; DefaultBucket if empty.
	Bucket string
	// Replicas of the bucket's stream (1 if zero): 3 on a NATS cluster.
	Replicas int
	// Region and Account go into every ARN (us-east-1 and 000000000000 if
	// empty).
	Region, Account string
	// Now is the clock (time.Now if nil).
	Now func() time.Time
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
	js      jetstream.JetStream
	kv      jetstream.KeyValue
	stream  jetstream.Stream
	bucket  string
	region  string
	account string
	now     func() time.Time
	log     *slog.Logger
	box     *secrets.Box
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
	if cfg.Now == nil {
		cfg.Now = time.Now
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
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, kvCfg)
		if errors.Is(err, jetstream.ErrBucketExists) { // another process won the race
			kv, err = js.KeyValue(ctx, cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: open bucket %s: %w", cfg.Bucket, err)
	}
	stream, err := js.Stream(ctx, "KV_"+cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("catalog: stream of bucket %s: %w", cfg.Bucket, err)
	}
	c := &Catalog{js: js, kv: kv, stream: stream, bucket: cfg.Bucket, region: cfg.Region, account: cfg.Account, now: cfg.Now, log: cfg.Logger, box: cfg.Secrets}
	if err := c.sealSecrets(ctx, kvCfg); err != nil {
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
var errKeep = errors.New("catalog: keep")

// mutate applies fn to the record at key in a compare-and-set loop. fn gets
// the current record (nil if there is none) freshly decoded at each attempt,
// so it may change it in place; it returns the record to store, or nil to
// delete it, or an error that stops the loop and is returned as is. fn may
// run several times. mutate returns the record as stored (nil if deleted).
func mutate[T any, P record[T]](ctx context.Context, c *Catalog, key string, fn func(cur P) (P, error)) (P, error) {
	wait := time.Millisecond
	for range maxAttempts {
		cur, err := load[T, P](ctx, c, key)
		if err != nil {
			return nil, err
		}
		var rev uint64
		if cur != nil {
			rev = cur.revision()
		}
		next, err := fn(cur)
		if errors.Is(err, errKeep) {
			return cur, nil
		}
		if err != nil {
			return nil, err
		}
		var werr error
		switch {
		case next == nil && cur == nil:
			return nil, nil
		case next == nil:
			werr = c.kv.Delete(ctx, key, jetstream.LastRevision(rev))
		default:
			data, err := encode[T, P](c, next)
			if err != nil {
				return nil, fmt.Errorf("catalog: encode %s: %w", key, err)
			}
			var newRev uint64
			if cur == nil {
				newRev, werr = c.kv.Create(ctx, key, data)
			} else {
				newRev, werr = c.kv.Update(ctx, key, data, rev)
			}
			if werr == nil {
				next.setRevision(newRev)
			}
		}
		if werr == nil {
			return next, nil
		}
		if !errors.Is(werr, jetstream.ErrKeyExists) && !errors.Is(werr, jetstream.ErrKeyRevisionMismatch) {
			return nil, fmt.Errorf("catalog: write %s: %w", key, werr)
		}
		// Someone else wrote the key between our read and our write:
		// read again and retry after a short, jittered pause.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait/2 + rand.N(wait)):
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
	return nil, fmt.Errorf("catalog: write %s: %w", key, ErrConflict)
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
		m, err := c.stream.GetLastMsgForSubject(ctx, "$KV."+c.bucket+"."+f)
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

// ---- buses ----

// EnsureDefault creates the default bus if it does not exist yet and returns
// it. Call it at startup.
func (c *Catalog) EnsureDefault(ctx context.Context) (*Bus, error) {
	return mutate(ctx, c, busKey(DefaultBusName), func(cur *Bus) (*Bus, error) {
		if cur != nil {
			return nil, errKeep
		}
		now := c.stamp()
		return &Bus{Name: DefaultBusName, ARN: c.BusARN(DefaultBusName), CreationTime: now, LastModifiedTime: now}, nil
	})
}

// Bus returns the bus named name, or ErrNotFound.
func (c *Catalog) Bus(ctx context.Context, name string) (*Bus, error) {
	b, err := load[Bus](ctx, c, busKey(name))
	if err == nil && b == nil {
		err = ErrNotFound
	}
	return b, err
}

// Buses returns every bus, by name. The records are shared: read them, do
// not change them.
func (c *Catalog) Buses(ctx context.Context) ([]*Bus, error) {
	bs, err := list[Bus](ctx, c, prefixBus)
	sortByName(bs, func(b *Bus) string { return b.Name })
	return bs, err
}

// CreateBus stores a new bus; it fills in ARN and times. It returns
// ErrExists if the name is taken.
func (c *Catalog) CreateBus(ctx context.Context, b Bus) (*Bus, error) {
	return mutate(ctx, c, busKey(b.Name), func(cur *Bus) (*Bus, error) {
		if cur != nil {
			return nil, ErrExists
		}
		nb := b
		nb.ARN = c.BusARN(b.Name)
		nb.CreationTime = c.stamp()
		nb.LastModifiedTime = nb.CreationTime
		return &nb, nil
	})
}

// UpdateBus changes the bus named name with fn (which may run several
// times, see mutate) and stamps LastModifiedTime. It returns ErrNotFound if
// there is no such bus, or fn's error.
func (c *Catalog) UpdateBus(ctx context.Context, name string, fn func(*Bus) error) (*Bus, error) {
	return mutate(ctx, c, busKey(name), func(cur *Bus) (*Bus, error) {
		if cur == nil {
			return nil, ErrNotFound
		}
		if err := fn(cur); err != nil {
			return nil, err
		}
		cur.Name, cur.ARN = name, c.BusARN(name)
		cur.LastModifiedTime = c.stamp()
		return cur, nil
	})
}

// DeleteBus deletes the bus named name and then its rules. It reports
// whether the bus existed.
func (c *Catalog) DeleteBus(ctx context.Context, name string) (bool, error) {
	existed := false
	_, err := mutate(ctx, c, busKey(name), func(cur *Bus) (*Bus, error) {
		existed = cur != nil
		return nil, nil
	})
	if err != nil {
		return false, err
	}
	// Sweep the rules even if the bus was already gone: a crash between
	// the two steps must not leave rules behind forever.
	rules, err := c.Rules(ctx, name)
	if err != nil {
		return existed, err
	}
	for _, r := range rules {
		if _, err := mutate(ctx, c, ruleKey(name, r.Name), func(*Rule) (*Rule, error) { return nil, nil }); err != nil {
			return existed, err
		}
	}
	return existed, nil
}

// ---- rules ----

// Rule returns the rule name of bus, or ErrNotFound.
func (c *Catalog) Rule(ctx context.Context, bus, name string) (*Rule, error) {
	r, err := load[Rule](ctx, c, ruleKey(bus, name))
	if err == nil && r == nil {
		err = ErrNotFound
	}
	return r, err
}

// Rules returns the rules of bus, by name. The records are shared: read
// them, do not change them.
func (c *Catalog) Rules(ctx context.Context, bus string) ([]*Rule, error) {
	rs, err := list[Rule](ctx, c, rulesOfBusGroup(bus))
	sortByName(rs, func(r *Rule) string { return r.Name })
	return rs, err
}

// CountRules returns the number of rules of bus.
func (c *Catalog) CountRules(ctx context.Context, bus string) (int, error) {
	n, err := c.view.Count(ctx, rulesOfBusGroup(bus))
	if err != nil {
		return 0, fmt.Errorf("catalog: count rules of %s: %w", bus, err)
	}
	return n, nil
}

// MutateRule changes the rule name of bus in a compare-and-set loop: fn
// gets the current rule (nil if there is none) and returns the rule to store,
// nil to delete it, or an error that is returned as is. fn may run several
// times. The catalog sets Name, EventBusName, ARN, CreationTime (on
// creation) and LastModifiedTime. A rule's targets are part of the record, so
// a change of targets is one atomic write.
func (c *Catalog) MutateRule(ctx context.Context, bus, name string, fn func(cur *Rule) (*Rule, error)) (*Rule, error) {
	return mutate(ctx, c, ruleKey(bus, name), func(cur *Rule) (*Rule, error) {
		var created time.Time
		if cur != nil {
			created = cur.CreationTime
		}
		next, err := fn(cur)
		if err != nil || next == nil {
			return next, err
		}
		now := c.stamp()
		if created.IsZero() {
			created = now
		}
		next.Name, next.EventBusName, next.ARN = name, bus, c.RuleARN(bus, name)
		next.CreationTime, next.LastModifiedTime = created, now
		return next, nil
	})
}

// DeleteRuleAt deletes the rule name of bus if it is still as written at
// KV revision rev, and reports whether it did.
func (c *Catalog) DeleteRuleAt(ctx context.Context, bus, name string, rev uint64) (bool, error) {
	deleted := false
	_, err := mutate(ctx, c, ruleKey(bus, name), func(cur *Rule) (*Rule, error) {
		deleted = cur != nil && cur.Revision == rev
		if !deleted {
			return nil, errKeep
		}
		return nil, nil
	})
	return deleted, err
}

// ---- connections ----

// Connection returns the connection named name, or ErrNotFound.
func (c *Catalog) Connection(ctx context.Context, name string) (*Connection, error) {
	r, err := load[Connection](ctx, c, connectionKey(name))
	if err == nil && r == nil {
		err = ErrNotFound
	}
	return r, err
}

// Connections returns every connection, by name. The records are shared:
// read them, do not change them.
func (c *Catalog) Connections(ctx context.Context) ([]*Connection, error) {
	rs, err := list[Connection](ctx, c, prefixConnection)
	sortByName(rs, func(r *Connection) string { return r.Name })
	return rs, err
}

// ConnectionByARN returns the connection with the given ARN (name and id
// must both match), or ErrNotFound.
func (c *Catalog) ConnectionByARN(ctx context.Context, arn string) (*Connection, error) {
	ref, ok := c.ParseResourceARN(arn)
	if !ok || ref.Kind != KindConnection {
		return nil, ErrNotFound
	}
	conn, err := c.Connection(ctx, ref.Name)
	if err == nil && conn.ARN != arn {
		return nil, ErrNotFound
	}
	return conn, err
}

// MutateConnection changes the connection named name in a compare-and-set
// loop, like MutateRule. The caller sets every field.
func (c *Catalog) MutateConnection(ctx context.Context, name string, fn func(cur *Connection) (*Connection, error)) (*Connection, error) {
	return mutate(ctx, c, connectionKey(name), fn)
}

// ---- API destinations ----

// APIDestination returns the API destination named name, or ErrNotFound.
func (c *Catalog) APIDestination(ctx context.Context, name string) (*APIDestination, error) {
	r, err := load[APIDestination](ctx, c, destinationKey(name))
	if err == nil && r == nil {
		err = ErrNotFound
	}
	return r, err
}

// APIDestinations returns every API destination, by name. The records are
// shared: read them, do not change them.
func (c *Catalog) APIDestinations(ctx context.Context) ([]*APIDestination, error) {
	rs, err := list[APIDestination](ctx, c, prefixDestination)
	sortByName(rs, func(r *APIDestination) string { return r.Name })
	return rs, err
}

// APIDestinationByARN returns the API destination with the given ARN, or
// ErrNotFound.
func (c *Catalog) APIDestinationByARN(ctx context.Context, arn string) (*APIDestination, error) {
	ref, ok := c.ParseResourceARN(arn)
	if !ok || ref.Kind != KindAPIDestination {
		return nil, ErrNotFound
	}
	d, err := c.APIDestination(ctx, ref.Name)
	if err == nil && d.ARN != arn {
		return nil, ErrNotFound
	}
	return d, err
}

// ResolveAPIDestination returns the API destination with the given ARN and
// its connection (secrets included): what an HTTP target needs to send a
// request. The error wraps ErrNotFound if either is missing.
func (c *Catalog) ResolveAPIDestination(ctx context.Context, arn string) (*APIDestination, *Connection, error) {
	d, err := c.APIDestinationByARN(ctx, arn)
	if err != nil {
		return nil, nil, fmt.Errorf("api destination %s: %w", arn, err)
	}
	conn, err := c.ConnectionByARN(ctx, d.ConnectionArn)
	if err != nil {
		return d, nil, fmt.Errorf("connection %s of api destination %s: %w", d.ConnectionArn, arn, err)
	}
	return d, conn, nil
}

// MutateAPIDestination changes the API destination named name in a
// compare-and-set loop, like MutateRule. The caller sets every field.
func (c *Catalog) MutateAPIDestination(ctx context.Context, name string, fn func(cur *APIDestination) (*APIDestination, error)) (*APIDestination, error) {
	return mutate(ctx, c, destinationKey(name), fn)
}

// ---- tags ----

// tagged is a record type that carries tags.
type tagged[T any] interface {
	record[T]
	tagsRef() *Tags
	arnOf() string
}

func (b *Bus) tagsRef() *Tags            { return &b.Tags }
func (r *Rule) tagsRef() *Tags           { return &r.Tags }
func (c *Connection) tagsRef() *Tags     { return &c.Tags }
func (d *APIDestination) tagsRef() *Tags { return &d.Tags }
func (b *Bus) arnOf() string             { return b.ARN }
func (r *Rule) arnOf() string            { return r.ARN }
func (c *Connection) arnOf() string      { return c.ARN }
func (d *APIDestination) arnOf() string  { return d.ARN }

// Tags returns the tags of the resource with the given ARN (a bus, rule,
// connection or API destination), or ErrNotFound.
func (c *Catalog) Tags(ctx context.Context, arn string) (Tags, error) {
	var tags Tags
	err := c.UpdateTags(ctx, arn, func(t Tags) (bool, error) {
		tags = t
		return false, nil
	})
	return tags, err
}

// UpdateTags changes the tags of the resource with the given ARN in a
// compare-and-set loop: fn gets the current tags (never nil) to change in
// place, and reports whether it changed them (if not, nothing is written).
// fn may run several times. UpdateTags returns ErrNotFound if there is no
// such resource, or fn's error.
func (c *Catalog) UpdateTags(ctx context.Context, arn string, fn func(Tags) (bool, error)) error {
	ref, ok := c.ParseResourceARN(arn)
	if !ok {
		return ErrNotFound
	}
	switch ref.Kind {
	case KindBus:
		return updateTags[Bus](ctx, c, busKey(ref.Name), arn, fn)
	case KindRule:
		return updateTags[Rule](ctx, c, ruleKey(ref.Bus, ref.Name), arn, fn)
	case KindConnection:
		return updateTags[Connection](ctx, c, connectionKey(ref.Name), arn, fn)
	default:
		return updateTags[APIDestination](ctx, c, destinationKey(ref.Name), arn, fn)
	}
}

func updateTags[T any, P tagged[T]](ctx context.Context, c *Catalog, key, arn string, fn func(Tags) (bool, error)) error {
	_, err := mutate(ctx, c, key, func(cur P) (P, error) {
		if cur == nil || cur.arnOf() != arn {
			return nil, ErrNotFound
		}
		t := cur.tagsRef()
		if *t == nil {
			*t = Tags{}
		}
		changed, err := fn(*t)
		if err != nil {
			return nil, err
		}
		if !changed {
			return nil, errKeep
		}
		return cur, nil
	})
	return err
}

func sortByName[P any](s []P, name func(P) string) {
	slices.SortFunc(s, func(a, b P) int { return strings.Compare(name(a), name(b)) })
}
