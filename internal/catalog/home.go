package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/scope"
)

// Home is the catalog's home scope: the account and region Conveyor served
// before it served many (or, for a catalog made since, at its first start).
// Records written before accounts and regions existed belong to it, and the
// streams of its buses keep the names they had then.
func (c *Catalog) Home() scope.Scope { return c.home }

// moveToScopes reads (or, on the first start, records) the home scope, and
// moves records written before accounts and regions existed to it: each is
// written at its scoped key, then its old key deleted, so a start cut short
// finishes the move at the next one. It runs in Open, before anything
// watches the bucket.
func (c *Catalog) moveToScopes(ctx context.Context, def scope.Scope) error {
	if err := def.Validate(); err != nil {
		return fmt.Errorf("catalog: home scope: %w", err)
	}
	data, _ := json.Marshal(def)
	if _, err := c.kv.Create(ctx, homeKey, data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("catalog: record the home scope: %w", err)
	}
	e, err := c.kv.Get(ctx, homeKey)
	if err != nil {
		return fmt.Errorf("catalog: read the home scope: %w", err)
	}
	if err := json.Unmarshal(e.Value(), &c.home); err != nil {
		return fmt.Errorf("catalog: read the home scope: %w", err)
	}
	lister, err := c.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("catalog: list keys: %w", err)
	}
	var legacy []string
	for k := range lister.Keys() {
		if pk, err := parseKey(k); err == nil && pk.legacy {
			legacy = append(legacy, k)
		}
	}
	for _, k := range legacy {
		pk, _ := parseKey(k)
		e, err := c.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return fmt.Errorf("catalog: move %s: %w", k, err)
		}
		if _, err := c.kv.Create(ctx, pk.keyIn(c.home), e.Value()); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("catalog: move %s: %w", k, err)
		}
		if err := c.kv.Delete(ctx, k); err != nil {
			return fmt.Errorf("catalog: move %s: %w", k, err)
		}
	}
	if len(legacy) > 0 {
		c.log.Info("catalog: records moved to the home scope", "records", len(legacy), "account", c.home.Account, "region", c.home.Region)
	}
	return nil
}

// BusID is how Conveyor names a bus in streams, subjects, delivery jobs,
// logs and metrics: its name for a bus of the home scope (the names streams
// had before accounts and regions, kept so that their events stay), and
// "account:region:name" for a bus of any other scope (':' is never in a bus
// name).
func (c *Catalog) BusID(sc scope.Scope, name string) string { return c.ScopedName(sc, name) }

// ScopedName names a bus or rule across scopes (see BusID): its name in the
// home scope, "account:region:name" in any other.
func (c *Catalog) ScopedName(sc scope.Scope, name string) string {
	if sc == c.home {
		return name
	}
	return sc.Account + ":" + sc.Region + ":" + name
}

// ParseBusID is the scope and name of the bus BusID named id.
func (c *Catalog) ParseBusID(id string) (scope.Scope, string) {
	acct, rest, ok := strings.Cut(id, ":")
	if !ok {
		return c.home, id
	}
	region, name, _ := strings.Cut(rest, ":")
	return scope.Scope{Account: acct, Region: region}, name
}

// BusOf returns the bus BusID named id, or ErrNotFound.
func (c *Catalog) BusOf(ctx context.Context, id string) (*Bus, error) {
	sc, name := c.ParseBusID(id)
	return c.In(sc).Bus(ctx, name)
}
