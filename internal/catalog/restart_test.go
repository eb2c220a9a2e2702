package catalog_test

import (
	"context"
	"testing"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// TestRestart: the catalog survives a restart of the store on the same data
// directory.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := storetest.OpenDir(t, dir)
	c, err := catalog.Open(ctx, st.JetStream(), catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.In(c.Home()).EnsureDefault(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.In(c.Home()).MutateRule(ctx, "default", "r.1", func(*catalog.Rule) (*catalog.Rule, error) {
		return &catalog.Rule{State: catalog.StateEnabled, EventPattern: `{"source":["a"]}`,
			Targets: []catalog.Target{{Id: "t", Arn: "arn:aws:events:us-east-1:000000000000:event-bus/default"}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}

	st = storetest.OpenDir(t, dir)
	c, err = catalog.Open(ctx, st.JetStream(), catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.In(c.Home()).Rule(ctx, "default", "r.1")
	if err != nil || len(r.Targets) != 1 || r.EventPattern != `{"source":["a"]}` {
		t.Fatalf("rule after restart = %+v, %v", r, err)
	}
	if _, err := c.In(c.Home()).Bus(ctx, "default"); err != nil {
		t.Fatalf("default bus after restart: %v", err)
	}
}
