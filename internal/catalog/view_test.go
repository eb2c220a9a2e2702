package catalog_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/conveyor/conveyor/internal/catalog"
)

// TestConcurrentLists: thousands of lists at once all answer. They read the
// catalog's in-memory view; a list that opened a consumer of the bucket's
// stream per call failed past JetStream's 1,000 consumers per stream.
func TestConcurrentLists(t *testing.T) {
	ctx := context.Background()
	c := openCatalog(t)
	if _, err := c.In(c.Home()).EnsureDefault(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.In(c.Home()).MutateRule(ctx, "default", "r", func(*catalog.Rule) (*catalog.Rule, error) {
		return &catalog.Rule{State: catalog.StateEnabled, EventPattern: `{"source":["a"]}`}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.In(c.Home()).MutateConnection(ctx, "c", func(*catalog.Connection) (*catalog.Connection, error) {
		return &catalog.Connection{Name: "c", ARN: c.In(c.Home()).ConnectionARN("c", "1")}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.In(c.Home()).MutateAPIDestination(ctx, "d", func(*catalog.APIDestination) (*catalog.APIDestination, error) {
		return &catalog.APIDestination{Name: "d", ARN: c.In(c.Home()).APIDestinationARN("d", "1")}, nil
	}); err != nil {
		t.Fatal(err)
	}
	lists := []func() (int, error){
		func() (int, error) { bs, err := c.In(c.Home()).Buses(ctx); return len(bs), err },
		func() (int, error) { rs, err := c.In(c.Home()).Rules(ctx, "default"); return len(rs), err },
		func() (int, error) { return c.In(c.Home()).CountRules(ctx, "default") },
		func() (int, error) { cs, err := c.In(c.Home()).Connections(ctx); return len(cs), err },
		func() (int, error) { ds, err := c.In(c.Home()).APIDestinations(ctx); return len(ds), err },
	}
	const n = 2500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			got, err := lists[i%len(lists)]()
			if err == nil && got != 1 {
				err = fmt.Errorf("list %d: %d records, want 1", i%len(lists), got)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed == 0 {
			t.Error(err)
		}
		failed++
	}
	if failed > 0 {
		t.Fatalf("%d of %d lists failed", failed, n)
	}
}

// TestListsReadOtherWrites: a list sees every write answered before it,
// also a write through another Catalog on the same bucket (another
// Conveyor process sharing the store).
func TestListsReadOtherWrites(t *testing.T) {
	ctx := context.Background()
	js := openJetStream(t)
	open := func() *catalog.Catalog {
		c, err := catalog.Open(ctx, js, catalog.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	a, b := open(), open()
	var want []string
	for i := range 30 {
		name := fmt.Sprintf("bus%02d", i)
		writer, reader := a, b
		if i%2 == 1 {
			writer, reader = b, a
		}
		if _, err := writer.In(writer.Home()).CreateBus(ctx, catalog.Bus{Name: name}); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
		if i%3 == 2 {
			if _, err := writer.In(writer.Home()).DeleteBus(ctx, want[0]); err != nil {
				t.Fatal(err)
			}
			want = want[1:]
		}
		buses, err := reader.In(reader.Home()).Buses(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, bus := range buses {
			got = append(got, bus.Name)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("after write %d, the other catalog lists %q, want %q", i, got, want)
		}
	}
}
