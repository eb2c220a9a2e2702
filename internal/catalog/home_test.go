package catalog_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// A catalog written before accounts and regions (keys without a scope) is moved to the home
// scope, the account and region of the first start of this version, and stays there when
// Conveyor is later started with another default; its buses keep their IDs (and so their
// streams), while a bus of any other scope gets a scoped ID.
func TestMoveToHomeScope(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	js := st.JetStream()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: catalog.DefaultBucket, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]string{
		"bus.default":       `{"Name":"default","Arn":"arn:aws:events:eu-west-1:123456789012:event-bus/default"}`,
		"bus.orders":        `{"Name":"orders","Arn":"arn:aws:events:eu-west-1:123456789012:event-bus/orders"}`,
		"rule.orders.r=2E1": `{"Name":"r.1","Arn":"arn:aws:events:eu-west-1:123456789012:rule/orders/r.1","EventBusName":"orders","State":"ENABLED","EventPattern":"{\"source\":[\"a\"]}"}`,
		"connection.c":      `{"Name":"c","Arn":"arn:aws:events:eu-west-1:123456789012:connection/c/1","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`,
		"destination.d":     `{"Name":"d","Arn":"arn:aws:events:eu-west-1:123456789012:api-destination/d/1"}`,
	}
	for k, v := range old {
		if _, err := kv.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	home := scope.Scope{Account: "123456789012", Region: "eu-west-1"}
	c, err := catalog.Open(ctx, js, catalog.Config{Account: home.Account, Region: home.Region})
	if err != nil {
		t.Fatal(err)
	}
	if c.Home() != home {
		t.Fatalf("home %v, want %v", c.Home(), home)
	}
	check := func(c *catalog.Catalog) {
		t.Helper()
		h := c.In(home)
		buses, err := h.Buses(ctx)
		if err != nil || len(buses) != 2 {
			t.Fatalf("buses of the home scope: %v %v", buses, err)
		}
		if r, err := h.Rule(ctx, "orders", "r.1"); err != nil || r.EventPattern != `{"source":["a"]}` {
			t.Errorf("rule: %+v %v", r, err)
		}
		if conn, err := h.Connection(ctx, "c"); err != nil || conn.Auth.BasicAuthParameters.Password != "p" {
			t.Errorf("connection: %+v %v", conn, err)
		}
		if _, err := h.APIDestination(ctx, "d"); err != nil {
			t.Errorf("destination: %v", err)
		}
		for k := range old {
			if _, err := kv.Get(ctx, k); err == nil {
				t.Errorf("old key %s is still there", k)
			}
		}
		if id := c.BusID(home, "orders"); id != "orders" {
			t.Errorf("home bus ID %q, want the old stream's name", id)
		}
		other := scope.Scope{Account: "999999999999", Region: "eu-west-1"}
		if id := c.BusID(other, "orders"); id != "999999999999:eu-west-1:orders" {
			t.Errorf("other scope's bus ID %q", id)
		}
		if sc, name := c.ParseBusID(c.BusID(other, "a/b.c")); sc != other || name != "a/b.c" {
			t.Errorf("ParseBusID: %v %q", sc, name)
		}
		if buses, _ := c.In(other).Buses(ctx); len(buses) != 0 {
			t.Errorf("another scope sees %d buses", len(buses))
		}
	}
	check(c)
	c.Close()
	// Started again with another default account: the home stays.
	c, err = catalog.Open(ctx, js, catalog.Config{Account: "555555555555", Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Home() != home {
		t.Errorf("home after a start with another default: %v", c.Home())
	}
	check(c)
}
