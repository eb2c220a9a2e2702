package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/conveyor/conveyor/internal/scope"
)

// Scoped is the catalog of one account and region: its buses, rules,
// connections and API destinations, invisible to every other scope.
type Scoped struct {
	c     *Catalog
	scope scope.Scope
}

// In returns the catalog of scope sc.
func (c *Catalog) In(sc scope.Scope) *Scoped { return &Scoped{c: c, scope: sc} }

// Scope is the account and region of s.
func (s *Scoped) Scope() scope.Scope { return s.scope }

// ---- buses ----

// EnsureDefault creates the scope's default bus if it does not exist yet and
// returns it.
func (s *Scoped) EnsureDefault(ctx context.Context) (*Bus, error) {
	return mutate(ctx, s.c, busKey(s.scope, DefaultBusName), func(cur *Bus) (*Bus, error) {
		if cur != nil {
			return nil, errKeep
		}
		now := s.c.stamp()
		return &Bus{Name: DefaultBusName, ARN: s.BusARN(DefaultBusName), CreationTime: now, LastModifiedTime: now}, nil
	})
}

// Bus returns the bus named name, or ErrNotFound.
func (s *Scoped) Bus(ctx context.Context, name string) (*Bus, error) {
	b, err := load[Bus](ctx, s.c, busKey(s.scope, name))
	if err == nil && b == nil {
		err = ErrNotFound
	}
	return b, err
}

// Buses returns every bus of the scope, by name. The records are shared:
// read them, do not change them.
func (s *Scoped) Buses(ctx context.Context) ([]*Bus, error) {
	bs, err := list[Bus](ctx, s.c, busesGroup(s.scope))
	sortByName(bs, func(b *Bus) string { return b.Name })
	return bs, err
}

// CreateBus stores a new bus; it fills in ARN and times. It returns
// ErrExists if the name is taken.
func (s *Scoped) CreateBus(ctx context.Context, b Bus) (*Bus, error) {
	return mutate(ctx, s.c, busKey(s.scope, b.Name), func(cur *Bus) (*Bus, error) {
		if cur != nil {
			return nil, ErrExists
		}
		nb := b
		nb.ARN = s.BusARN(b.Name)
		nb.CreationTime = s.c.stamp()
		nb.LastModifiedTime = nb.CreationTime
		return &nb, nil
	})
}

// UpdateBus changes the bus named name with fn (which may run several
// times, see mutate) and stamps LastModifiedTime. It returns ErrNotFound if
// there is no such bus, or fn's error.
func (s *Scoped) UpdateBus(ctx context.Context, name string, fn func(*Bus) error) (*Bus, error) {
	return mutate(ctx, s.c, busKey(s.scope, name), func(cur *Bus) (*Bus, error) {
		if cur == nil {
			return nil, ErrNotFound
		}
		if err := fn(cur); err != nil {
			return nil, err
		}
		cur.Name, cur.ARN = name, s.BusARN(name)
		cur.LastModifiedTime = s.c.stamp()
		return cur, nil
	})
}

// DeleteBus deletes the bus named name and then its rules. It reports
// whether the bus existed.
func (s *Scoped) DeleteBus(ctx context.Context, name string) (bool, error) {
	existed := false
	_, err := mutate(ctx, s.c, busKey(s.scope, name), func(cur *Bus) (*Bus, error) {
		existed = cur != nil
		return nil, nil
	})
	if err != nil {
		return false, err
	}
	// Sweep the rules even if the bus was already gone: a crash between
	// the two steps must not leave rules behind forever.
	rules, err := s.Rules(ctx, name)
	if err != nil {
		return existed, err
	}
	for _, r := range rules {
		if _, err := mutate(ctx, s.c, ruleKey(s.scope, name, r.Name), func(*Rule) (*Rule, error) { return nil, nil }); err != nil {
			return existed, err
		}
	}
	return existed, nil
}

// ---- rules ----

// Rule returns the rule name of bus, or ErrNotFound.
func (s *Scoped) Rule(ctx context.Context, bus, name string) (*Rule, error) {
	r, err := load[Rule](ctx, s.c, ruleKey(s.scope, bus, name))
	if err == nil && r == nil {
		err = ErrNotFound
	}
	return r, err
}

// Rules returns the rules of bus, by name. The records are shared: read
// them, do not change them.
func (s *Scoped) Rules(ctx context.Context, bus string) ([]*Rule, error) {
	rs, err := list[Rule](ctx, s.c, rulesOfBusGroup(s.scope, bus))
	sortByName(rs, func(r *Rule) string { return r.Name })
	return rs, err
}

// CountRules returns the number of rules of bus.
func (s *Scoped) CountRules(ctx context.Context, bus string) (int, error) {
	n, err := s.c.view.Count(ctx, rulesOfBusGroup(s.scope, bus))
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
func (s *Scoped) MutateRule(ctx context.Context, bus, name string, fn func(cur *Rule) (*Rule, error)) (*Rule, error) {
	return mutate(ctx, s.c, ruleKey(s.scope, bus, name), func(cur *Rule) (*Rule, error) {
		var created time.Time
		if cur != nil {
			created = cur.CreationTime
		}
		next, err := fn(cur)
		if err != nil || next == nil {
			return next, err
		}
		now := s.c.stamp()
		if created.IsZero() {
			created = now
		}
		next.Name, next.EventBusName, next.ARN = name, bus, s.RuleARN(bus, name)
		next.CreationTime, next.LastModifiedTime = created, now
		return next, nil
	})
}

// DeleteRuleAt deletes the rule name of bus if it is still as written at
// KV revision rev, and reports whether it did.
func (s *Scoped) DeleteRuleAt(ctx context.Context, bus, name string, rev uint64) (bool, error) {
	deleted := false
	_, err := mutate(ctx, s.c, ruleKey(s.scope, bus, name), func(cur *Rule) (*Rule, error) {
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
func (s *Scoped) Connection(ctx context.Context, name string) (*Connection, error) {
	r, err := load[Connection](ctx, s.c, connectionKey(s.scope, name))
	if err == nil && r == nil {
		err = ErrNotFound
	}
	return r, err
}

// Connections returns every connection of the scope, by name. The records
// are shared: read them, do not change them.
func (s *Scoped) Connections(ctx context.Context) ([]*Connection, error) {
	rs, err := list[Connection](ctx, s.c, connectionsGroup(s.scope))
	sortByName(rs, func(r *Connection) string { return r.Name })
	return rs, err
}

// MutateConnection changes the connection named name in a compare-and-set
// loop, like MutateRule. The caller sets every field.
func (s *Scoped) MutateConnection(ctx context.Context, name string, fn func(cur *Connection) (*Connection, error)) (*Connection, error) {
	return mutate(ctx, s.c, connectionKey(s.scope, name), fn)
}

// ---- API destinations ----

// APIDestination returns the API destination named name, or ErrNotFound.
func (s *Scoped) APIDestination(ctx context.Context, name string) (*APIDestination, error) {
	r, err := load[APIDestination](ctx, s.c, destinationKey(s.scope, name))
	if err == nil && r == nil {
		err = ErrNotFound
	}
	return r, err
}

// APIDestinations returns every API destination of the scope, by name. The
// records are shared: read them, do not change them.
func (s *Scoped) APIDestinations(ctx context.Context) ([]*APIDestination, error) {
	rs, err := list[APIDestination](ctx, s.c, destinationsGroup(s.scope))
	sortByName(rs, func(r *APIDestination) string { return r.Name })
	return rs, err
}

// MutateAPIDestination changes the API destination named name in a
// compare-and-set loop, like MutateRule. The caller sets every field.
func (s *Scoped) MutateAPIDestination(ctx context.Context, name string, fn func(cur *APIDestination) (*APIDestination, error)) (*APIDestination, error) {
	return mutate(ctx, s.c, destinationKey(s.scope, name), fn)
}

// ---- by ARN (any scope: the ARN names it) ----

// ConnectionByARN returns the connection with the given ARN (name and id
// must both match), or ErrNotFound.
func (c *Catalog) ConnectionByARN(ctx context.Context, arn string) (*Connection, error) {
	sc, ref, ok := ParseResourceARN(arn)
	if !ok || ref.Kind != KindConnection {
		return nil, ErrNotFound
	}
	conn, err := c.In(sc).Connection(ctx, ref.Name)
	if err == nil && conn.ARN != arn {
		return nil, ErrNotFound
	}
	return conn, err
}

// APIDestinationByARN returns the API destination with the given ARN, or
// ErrNotFound.
func (c *Catalog) APIDestinationByARN(ctx context.Context, arn string) (*APIDestination, error) {
	sc, ref, ok := ParseResourceARN(arn)
	if !ok || ref.Kind != KindAPIDestination {
		return nil, ErrNotFound
	}
	d, err := c.In(sc).APIDestination(ctx, ref.Name)
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

// Tags returns the tags of the resource of the scope with the given ARN (a
// bus, rule, connection or API destination), or ErrNotFound.
func (s *Scoped) Tags(ctx context.Context, arn string) (Tags, error) {
	var tags Tags
	err := s.UpdateTags(ctx, arn, func(t Tags) (bool, error) {
		tags = t
		return false, nil
	})
	return tags, err
}

// UpdateTags changes the tags of the resource of the scope with the given
// ARN in a compare-and-set loop: fn gets the current tags (never nil) to
// change in place, and reports whether it changed them (if not, nothing is
// written). fn may run several times. UpdateTags returns ErrNotFound if there
// is no such resource in the scope, or fn's error.
func (s *Scoped) UpdateTags(ctx context.Context, arn string, fn func(Tags) (bool, error)) error {
	ref, ok := s.ParseResourceARN(arn)
	if !ok {
		return ErrNotFound
	}
	switch ref.Kind {
	case KindBus:
		return updateTags[Bus](ctx, s.c, busKey(s.scope, ref.Name), arn, fn)
	case KindRule:
		return updateTags[Rule](ctx, s.c, ruleKey(s.scope, ref.Bus, ref.Name), arn, fn)
	case KindConnection:
		return updateTags[Connection](ctx, s.c, connectionKey(s.scope, ref.Name), arn, fn)
	default:
		return updateTags[APIDestination](ctx, s.c, destinationKey(s.scope, ref.Name), arn, fn)
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

// ConnectionByARN returns the connection of the scope with the given ARN, or
// ErrNotFound (for an ARN of another scope too).
func (s *Scoped) ConnectionByARN(ctx context.Context, arn string) (*Connection, error) {
	if sc, _, ok := ParseResourceARN(arn); !ok || sc != s.scope {
		return nil, ErrNotFound
	}
	return s.c.ConnectionByARN(ctx, arn)
}
