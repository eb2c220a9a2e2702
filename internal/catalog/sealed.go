package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"

	"github.com/conveyor/conveyor/internal/secrets"
)

// sealable is a record with secrets: they are sealed in the bucket and open in memory.
type sealable interface {
	openSecrets(box *secrets.Box) error
	sealedCopy(box *secrets.Box) any
}

var _ sealable = (*Connection)(nil)

// secretFields calls f with a name and a pointer for every secret the connection holds: the
// basic password, the API key value, the OAuth client secret, and the values of parameters
// marked IsValueSecret.
func (c *Connection) secretFields(f func(name string, v *string)) {
	a := &c.Auth
	if b := a.BasicAuthParameters; b != nil {
		f("BasicAuthParameters.Password", &b.Password)
	}
	if k := a.ApiKeyAuthParameters; k != nil {
		f("ApiKeyAuthParameters.ApiKeyValue", &k.ApiKeyValue)
	}
	params := func(name string, p *ConnectionHttpParameters) {
		if p == nil {
			return
		}
		for _, list := range []struct {
			name string
			ps   []ConnectionParameter
		}{{"HeaderParameters", p.HeaderParameters}, {"QueryStringParameters", p.QueryStringParameters}, {"BodyParameters", p.BodyParameters}} {
			for i := range list.ps {
				if list.ps[i].IsValueSecret {
					f(fmt.Sprintf("%s.%s.%s", name, list.name, list.ps[i].Key), &list.ps[i].Value)
				}
			}
		}
	}
	if o := a.OAuthParameters; o != nil {
		if o.ClientParameters != nil {
			f("OAuthParameters.ClientParameters.ClientSecret", &o.ClientParameters.ClientSecret)
		}
		params("OAuthParameters.OAuthHttpParameters", o.OAuthHttpParameters)
	}
	params("InvocationHttpParameters", a.InvocationHttpParameters)
}

// sealContext binds a sealed value to its connection and field.
func (c *Connection) sealContext(field string) string { return c.ARN + "#" + field }

func (c *Connection) openSecrets(box *secrets.Box) error {
	var err error
	c.secretFields(func(name string, v *string) {
		if err != nil {
			return
		}
		var plain string
		if plain, err = box.Open(*v, c.sealContext(name)); err == nil {
			*v = plain
		}
	})
	if err != nil {
		return fmt.Errorf("secrets of connection %s: %w", c.Name, err)
	}
	return nil
}

func (c *Connection) sealedCopy(box *secrets.Box) any {
	cp := c.clone()
	cp.secretFields(func(name string, v *string) {
		if !secrets.Sealed(*v) {
			*v = box.Seal(*v, cp.sealContext(name))
		}
	})
	return cp
}

// clone is a deep copy of the connection (its parameters are slices behind pointers).
func (c *Connection) clone() *Connection {
	cp := *c
	a := &cp.Auth
	if a.BasicAuthParameters != nil {
		b := *a.BasicAuthParameters
		a.BasicAuthParameters = &b
	}
	if a.ApiKeyAuthParameters != nil {
		k := *a.ApiKeyAuthParameters
		a.ApiKeyAuthParameters = &k
	}
	params := func(p *ConnectionHttpParameters) *ConnectionHttpParameters {
		if p == nil {
			return nil
		}
		return &ConnectionHttpParameters{
			HeaderParameters:      append([]ConnectionParameter(nil), p.HeaderParameters...),
			QueryStringParameters: append([]ConnectionParameter(nil), p.QueryStringParameters...),
			BodyParameters:        append([]ConnectionParameter(nil), p.BodyParameters...),
		}
	}
	if a.OAuthParameters != nil {
		o := *a.OAuthParameters
		if o.ClientParameters != nil {
			cl := *o.ClientParameters
			o.ClientParameters = &cl
		}
		o.OAuthHttpParameters = params(o.OAuthHttpParameters)
		a.OAuthParameters = &o
	}
	a.InvocationHttpParameters = params(a.InvocationHttpParameters)
	return &cp
}

// sealSecrets checks that the catalog's key opens every sealed secret (a data directory
// started with another key is refused here rather than failing deliveries later), and seals
// the secrets of connections written before sealing existed. Their clear-text revisions would
// stay in the bucket's files (a bucket's stream denies erasing a message), so the bucket is
// written anew: its records are copied to a backup bucket, the bucket's stream (and its files)
// deleted and made again with the records sealed, and the backup deleted. A crash in between
// is finished at the next start from the backup. It runs in Open, before anything watches
// the bucket.
func (c *Catalog) sealSecrets(ctx context.Context, cfg jetstream.KeyValueConfig) error {
	if c.box == nil {
		return nil
	}
	backup := cfg.Bucket + "-reseal"
	if err := c.finishReseal(ctx, cfg, backup); err != nil {
		return err
	}
	records, clear, err := c.readAll(ctx)
	if err != nil {
		return err
	}
	if len(clear) == 0 {
		return nil
	}
	bk, err := c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: backup, History: 1,
		Storage: jetstream.FileStorage, Replicas: cfg.Replicas, Description: "Conveyor catalog, while its secrets are sealed"})
	if err != nil {
		return fmt.Errorf("catalog: create backup bucket: %w", err)
	}
	for _, r := range records {
		if _, err := bk.Put(ctx, r.key, r.value); err != nil {
			return fmt.Errorf("catalog: back up %s: %w", r.key, err)
		}
	}
	if _, err := bk.Put(ctx, resealComplete, nil); err != nil {
		return fmt.Errorf("catalog: back up: %w", err)
	}
	if err := c.finishReseal(ctx, cfg, backup); err != nil {
		return err
	}
	c.log.Info("catalog: sealed the secrets of connections written in clear", "connections", clear)
	return nil
}

// resealComplete is the backup bucket's last key: the backup holds every record.
const resealComplete = "complete"

type rawRecord struct {
	key   string
	value []byte
}

// readAll reads every record of the bucket, connections sealed, and names the connections
// that held a secret in clear. A sealed secret the key does not open is an error.
func (c *Catalog) readAll(ctx context.Context) ([]rawRecord, []string, error) {
	lister, err := c.kv.ListKeys(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: list keys: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var (
		out   []rawRecord
		clear []string
	)
	for _, key := range keys {
		e, err := c.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("catalog: get %s: %w", key, err)
		}
		value := e.Value()
		if pk, err := parseKey(key); err == nil && pk.kind == KindConnection {
			var conn Connection
			if err := json.Unmarshal(value, &conn); err != nil {
				return nil, nil, fmt.Errorf("catalog: decode %s: %w", key, err)
			}
			sealed := true
			conn.secretFields(func(_ string, v *string) { sealed = sealed && secrets.Sealed(*v) })
			if err := conn.openSecrets(c.box); err != nil {
				return nil, nil, fmt.Errorf("catalog: %w (was the catalog sealed with another secrets key?)", err)
			}
			if !sealed {
				clear = append(clear, conn.Name)
				if value, err = encode(c, &conn); err != nil {
					return nil, nil, fmt.Errorf("catalog: encode %s: %w", key, err)
				}
			}
		}
		out = append(out, rawRecord{key, value})
	}
	return out, clear, nil
}

// finishReseal writes the bucket anew from a complete backup, if there is one, and deletes
// the backup.
func (c *Catalog) finishReseal(ctx context.Context, cfg jetstream.KeyValueConfig, backup string) error {
	bk, err := c.js.KeyValue(ctx, backup)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("catalog: backup bucket: %w", err)
	}
	if _, err := bk.Get(ctx, resealComplete); err != nil {
		// Cut short before the backup was whole: the bucket was not touched yet.
		return c.deleteBucket(ctx, backup)
	}
	lister, err := bk.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("catalog: list backup: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		if k != resealComplete {
			keys = append(keys, k)
		}
	}
	if err := c.deleteBucket(ctx, cfg.Bucket); err != nil {
		return err
	}
	if c.kv, err = c.js.CreateKeyValue(ctx, cfg); err != nil {
		return fmt.Errorf("catalog: make bucket %s again: %w", cfg.Bucket, err)
	}
	if c.stream, err = c.js.Stream(ctx, store.KVStream(cfg.Bucket)); err != nil {
		return fmt.Errorf("catalog: stream of bucket %s: %w", cfg.Bucket, err)
	}
	for _, k := range keys {
		e, err := bk.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("catalog: read backup %s: %w", k, err)
		}
		if _, err := c.kv.Put(ctx, k, e.Value()); err != nil {
			return fmt.Errorf("catalog: restore %s: %w", k, err)
		}
	}
	return c.deleteBucket(ctx, backup)
}

func (c *Catalog) deleteBucket(ctx context.Context, bucket string) error {
	if err := c.js.DeleteKeyValue(ctx, bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("catalog: delete bucket %s: %w", bucket, err)
	}
	return nil
}
