package catalog

import (
	"github.com/conveyor/conveyor/internal/scope"

	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Op says what a Change reports.
type Op int

const (
	// OpPut: the record was created or replaced; the Change carries it.
	OpPut Op = iota + 1
	// OpDelete: the record was deleted; the Change carries only its names.
	OpDelete
	// OpSynced: every record that existed when Watch was called has been
	// delivered; the Changes after this one are live.
	OpSynced
)

func (o Op) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpSynced:
		return "synced"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// A Change is one item of a Watch stream.
type Change struct {
	Op   Op
	Kind Kind
	// Scope is the account and region of the record.
	Scope scope.Scope
	// BusName is the bus of a KindRule change, and the bus itself for
	// KindBus.
	BusName string
	// Name is the name of the record (the bus name for KindBus).
	Name string
	// Revision is the KV revision of the change; revisions grow across the
	// whole catalog, so they order changes.
	Revision uint64

	// The record, for OpPut: the one field that matches Kind is set.
	Bus            *Bus
	Rule           *Rule
	Connection     *Connection
	APIDestination *APIDestination
}

// Watch streams the catalog's records of the given kinds (all kinds if none
// is given). It first delivers every existing record as an OpPut (in no
// particular order across keys, but each key once, at its latest revision),
// then one OpSynced, then the later changes as they happen: OpPut with the
// new record (a rule's OpPut carries all its targets, so a targets change is
// an OpPut of the rule), OpDelete with the names of a deleted record.
// Changes arrive in revision order. The bucket keeps only the latest
// revision of each key, so a change that a later change of the same key
// superseded before the watch delivered it may be skipped: the watch
// delivers the latest state of every key, not every intermediate one. A
// deleted bus is followed by OpDelete changes for each of its rules
// (DeleteBus deletes them after the bus).
//
// The channel is closed when ctx is done, or if the underlying watcher fails
// (the error is logged); a consumer whose ctx is still live when the channel
// closes should call Watch again and rebuild from the new snapshot. Records
// that cannot be decoded are logged and skipped. The consumer must keep
// reading: the stream applies back-pressure, it does not drop changes.
func (c *Catalog) Watch(ctx context.Context, kinds ...Kind) (<-chan Change, error) {
	filters, err := kindFilters(kinds)
	if err != nil {
		return nil, err
	}
	w, err := c.kv.WatchFiltered(ctx, filters)
	if err != nil {
		return nil, fmt.Errorf("catalog: watch: %w", err)
	}
	out := make(chan Change, 64)
	go func() {
		defer close(out)
		defer w.Stop() //nolint:errcheck // nothing to do about a failed unsubscribe
		synced := false
		for {
			var e jetstream.KeyValueEntry
			var ok bool
			select {
			case <-ctx.Done():
				return
			case e, ok = <-w.Updates():
			}
			if !ok {
				if ctx.Err() == nil {
					c.log.Error("catalog watch ended unexpectedly")
				}
				return
			}
			var ch Change
			if e == nil {
				synced = true
				ch = Change{Op: OpSynced}
			} else {
				var keep bool
				ch, keep = c.change(e, synced)
				if !keep {
					continue
				}
			}
			select {
			case <-ctx.Done():
				return
			case out <- ch:
			}
		}
	}()
	return out, nil
}

// kindFilters returns the KV key filters of the given kinds (none for none).
func kindFilters(kinds []Kind) ([]string, error) {
	var filters []string
	for _, k := range kinds {
		switch k {
		case KindBus:
			filters = append(filters, prefixBus+".*.*.*")
		case KindRule:
			filters = append(filters, prefixRule+".*.*.*.*")
		case KindConnection:
			filters = append(filters, prefixConnection+".*.*.*")
		case KindAPIDestination:
			filters = append(filters, prefixDestination+".*.*.*")
		default:
			return nil, fmt.Errorf("catalog: unknown kind %q", k)
		}
	}
	return filters, nil
}

// change turns a KV entry into a Change; it reports false for entries to
// skip (deletions inside the snapshot, undecodable records).
func (c *Catalog) change(e jetstream.KeyValueEntry, synced bool) (Change, bool) {
	pk, err := parseKey(e.Key())
	if err != nil {
		c.log.Warn("catalog watch: skipping key", "key", e.Key(), "err", err)
		return Change{}, false
	}
	if pk.kind == kindMeta {
		return Change{}, false
	}
	ch := Change{Op: OpPut, Kind: pk.kind, Scope: pk.scope, BusName: pk.bus, Name: pk.name, Revision: e.Revision()}
	if e.Operation() != jetstream.KeyValuePut {
		ch.Op = OpDelete
		return ch, synced // a delete marker in the snapshot is a record that is gone
	}
	rec, err := c.decodeRecord(e)
	if err != nil {
		c.log.Error("catalog watch: skipping undecodable record", "key", e.Key(), "err", err)
		return Change{}, false
	}
	switch r := rec.(type) {
	case *Bus:
		ch.Bus = r
	case *Rule:
		ch.Rule = r
	case *Connection:
		ch.Connection = r
	case *APIDestination:
		ch.APIDestination = r
	}
	return ch, true
}
