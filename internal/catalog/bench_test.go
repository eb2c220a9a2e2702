package catalog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/conveyor/conveyor/internal/catalog"
)

func BenchmarkMutateRule(b *testing.B) {
	ctx := context.Background()
	c := openCatalog(b)
	i := 0
	for b.Loop() {
		i++
		if _, err := c.In(c.Home()).MutateRule(ctx, "default", "r", func(cur *catalog.Rule) (*catalog.Rule, error) {
			return &catalog.Rule{State: catalog.StateEnabled, EventPattern: fmt.Sprintf(`{"source":["s%d"]}`, i)}, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRule(b *testing.B) {
	ctx := context.Background()
	c := openCatalog(b)
	if _, err := c.In(c.Home()).MutateRule(ctx, "default", "r", func(*catalog.Rule) (*catalog.Rule, error) {
		return &catalog.Rule{State: catalog.StateEnabled, EventPattern: `{"source":["a"]}`}, nil
	}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.In(c.Home()).Rule(ctx, "default", "r"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRules(b *testing.B) {
	for _, n := range []int{10, 300} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			ctx := context.Background()
			c := openCatalog(b)
			for i := range n {
				if _, err := c.In(c.Home()).MutateRule(ctx, "default", fmt.Sprintf("r%03d", i), func(*catalog.Rule) (*catalog.Rule, error) {
					return &catalog.Rule{State: catalog.StateEnabled, EventPattern: `{"source":["a"]}`,
						Targets: []catalog.Target{{Id: "t", Arn: "arn:aws:sqs:us-east-1:000000000000:q"}}}, nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				rs, err := c.In(c.Home()).Rules(ctx, "default")
				if err != nil || len(rs) != n {
					b.Fatalf("Rules = %d, %v", len(rs), err)
				}
			}
		})
	}
}

// BenchmarkListsParallel: the lists that ListEventBuses and PutRule (its
// quota check) run, called from many goroutines at once.
func BenchmarkListsParallel(b *testing.B) {
	ctx := context.Background()
	c := openCatalog(b)
	for i := range 10 {
		if _, err := c.In(c.Home()).CreateBus(ctx, catalog.Bus{Name: fmt.Sprintf("b%02d", i)}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.In(c.Home()).MutateRule(ctx, "b00", fmt.Sprintf("r%02d", i), func(*catalog.Rule) (*catalog.Rule, error) {
			return &catalog.Rule{State: catalog.StateEnabled, EventPattern: `{"source":["a"]}`}, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Buses", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if bs, err := c.In(c.Home()).Buses(ctx); err != nil || len(bs) != 10 {
					b.Errorf("Buses = %d, %v", len(bs), err)
					return
				}
			}
		})
	})
	b.Run("CountRules", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if n, err := c.In(c.Home()).CountRules(ctx, "b00"); err != nil || n != 10 {
					b.Errorf("CountRules = %d, %v", n, err)
					return
				}
			}
		})
	})
}
