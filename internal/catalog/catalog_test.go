package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/catalog"
)

func openCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Open(context.Background(), openJetStream(t), catalog.Config{Region: "eu-west-1", Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestBuses(t *testing.T) {
	ctx := context.Background()
	c := openCatalog(t)
	def, err := c.In(c.Home()).EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if def.ARN != "arn:aws:events:eu-west-1:123456789012:event-bus/default" || def.CreationTime.IsZero() {
		t.Fatalf("default bus = %+v", def)
	}
	again, err := c.In(c.Home()).EnsureDefault(ctx)
	if err != nil || again.Revision != def.Revision || !again.CreationTime.Equal(def.CreationTime) {
		t.Fatalf("EnsureDefault again = %+v, %v; want the same record", again, err)
	}

	for _, name := range []string{"b.2", "a/1", "..", "b"} {
		if _, err := c.In(c.Home()).CreateBus(ctx, catalog.Bus{Name: name, Description: "d " + name}); err != nil {
			t.Fatalf("CreateBus(%q): %v", name, err)
		}
	}
	if _, err := c.In(c.Home()).CreateBus(ctx, catalog.Bus{Name: "b.2"}); !errors.Is(err, catalog.ErrExists) {
		t.Fatalf("CreateBus(b.2) twice: %v, want ErrExists", err)
	}
	buses, err := c.In(c.Home()).Buses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range buses {
		names = append(names, b.Name)
	}
	if want := []string{"..", "a/1", "b", "b.2", "default"}; !slices.Equal(names, want) {
		t.Fatalf("Buses = %q, want %q", names, want)
	}

	got, err := c.In(c.Home()).Bus(ctx, "b.2")
	if err != nil || got.Description != "d b.2" || got.ARN != "arn:aws:events:eu-west-1:123456789012:event-bus/b.2" {
		t.Fatalf("Bus(b.2) = %+v, %v", got, err)
	}
	if _, err := c.In(c.Home()).Bus(ctx, "b.3"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("Bus(b.3): %v, want ErrNotFound", err)
	}

	upd, err := c.In(c.Home()).UpdateBus(ctx, "b.2", func(b *catalog.Bus) error { b.Description = "new"; return nil })
	if err != nil || upd.Description != "new" || upd.Revision <= got.Revision {
		t.Fatalf("UpdateBus = %+v, %v", upd, err)
	}
	if _, err := c.In(c.Home()).UpdateBus(ctx, "nope", func(*catalog.Bus) error { return nil }); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("UpdateBus(nope): %v, want ErrNotFound", err)
	}
	boom := errors.New("boom")
	if _, err := c.In(c.Home()).UpdateBus(ctx, "b.2", func(*catalog.Bus) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("UpdateBus with failing fn: %v, want boom", err)
	}

	// Deleting a bus deletes its rules, and only its rules.
	for _, bus := range []string{"b", "b.2"} {
		if _, err := c.In(c.Home()).MutateRule(ctx, bus, "r", func(*catalog.Rule) (*catalog.Rule, error) {
			return &catalog.Rule{State: catalog.StateEnabled}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	existed, err := c.In(c.Home()).DeleteBus(ctx, "b")
	if err != nil || !existed {
		t.Fatalf("DeleteBus(b) = %v, %v", existed, err)
	}
	if _, err := c.In(c.Home()).Rule(ctx, "b", "r"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("rule of deleted bus: %v, want ErrNotFound", err)
	}
	if _, err := c.In(c.Home()).Rule(ctx, "b.2", "r"); err != nil {
		t.Fatalf("rule of other bus: %v", err)
	}
	existed, err = c.In(c.Home()).DeleteBus(ctx, "b")
	if err != nil || existed {
		t.Fatalf("DeleteBus(b) again = %v, %v; want false, nil", existed, err)
	}
	// A deleted name can be created again.
	if _, err := c.In(c.Home()).CreateBus(ctx, catalog.Bus{Name: "b"}); err != nil {
		t.Fatalf("CreateBus(b) after delete: %v", err)
	}
}

func TestRules(t *testing.T) {
	ctx := context.Background()
	c := openCatalog(t)
	put := func(bus, name, pattern string) *catalog.Rule {
		t.Helper()
		r, err := c.In(c.Home()).MutateRule(ctx, bus, name, func(cur *catalog.Rule) (*catalog.Rule, error) {
			next := &catalog.Rule{EventPattern: pattern, State: catalog.StateEnabled}
			if cur != nil {
				next.Targets = cur.Targets
			}
			return next, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := put("default", "r.1", `{"source":["a"]}`)
	if r.ARN != "arn:aws:events:eu-west-1:123456789012:rule/r.1" || r.EventBusName != "default" || r.Name != "r.1" {
		t.Fatalf("rule = %+v", r)
	}
	r2 := put("aws.partner/x.com/y", "r", `{}`)
	if r2.ARN != "arn:aws:events:eu-west-1:123456789012:rule/aws.partner/x.com/y/r" {
		t.Fatalf("rule ARN on custom bus = %s", r2.ARN)
	}
	put("default", "r.0", `{}`)
	put("default", "r", `{}`)

	rules, err := c.In(c.Home()).Rules(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	if want := []string{"r", "r.0", "r.1"}; !slices.Equal(names, want) {
		t.Fatalf("Rules(default) = %q, want %q", names, want)
	}
	if n, err := c.In(c.Home()).CountRules(ctx, "default"); n != 3 || err != nil {
		t.Fatalf("CountRules = %d, %v", n, err)
	}
	if n, err := c.In(c.Home()).CountRules(ctx, "empty"); n != 0 || err != nil {
		t.Fatalf("CountRules(empty) = %d, %v", n, err)
	}
	if rs, err := c.In(c.Home()).Rules(ctx, "empty"); len(rs) != 0 || err != nil {
		t.Fatalf("Rules(empty) = %v, %v", rs, err)
	}

	// Targets survive a replacement that keeps them; CreationTime is kept.
	withTargets, err := c.In(c.Home()).MutateRule(ctx, "default", "r.1", func(cur *catalog.Rule) (*catalog.Rule, error) {
		cur.Targets = append(cur.Targets, catalog.Target{Id: "t", Arn: "arn:aws:events:eu-west-1:123456789012:event-bus/x"})
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	replaced := put("default", "r.1", `{"source":["b"]}`)
	if len(replaced.Targets) != 1 || !replaced.CreationTime.Equal(withTargets.CreationTime) || replaced.EventPattern != `{"source":["b"]}` {
		t.Fatalf("replaced rule = %+v", replaced)
	}

	// Deleting through MutateRule.
	if _, err := c.In(c.Home()).MutateRule(ctx, "default", "r", func(*catalog.Rule) (*catalog.Rule, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.In(c.Home()).Rule(ctx, "default", "r"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("deleted rule: %v", err)
	}
}

// TestConcurrentTargets has many writers add targets to one rule at once:
// the compare-and-set loop must keep every one of them.
func TestConcurrentTargets(t *testing.T) {
	ctx := context.Background()
	c := openCatalog(t)
	if _, err := c.In(c.Home()).MutateRule(ctx, "default", "r", func(*catalog.Rule) (*catalog.Rule, error) {
		return &catalog.Rule{State: catalog.StateEnabled}, nil
	}); err != nil {
		t.Fatal(err)
	}
	const writers = 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			_, err := c.In(c.Home()).MutateRule(ctx, "default", "r", func(cur *catalog.Rule) (*catalog.Rule, error) {
				cur.Targets = append(cur.Targets, catalog.Target{Id: fmt.Sprint(i), Arn: "arn:aws:sqs:eu-west-1:123456789012:q"})
				return cur, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.In(c.Home()).Rule(ctx, "default", "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Targets) != writers {
		t.Fatalf("rule has %d targets after %d concurrent adds, want %d", len(r.Targets), writers, writers)
	}
}

func TestCreateBusRace(t *testing.T) {
	ctx := context.Background()
	c := openCatalog(t)
	var wg sync.WaitGroup
	results := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, err := c.In(c.Home()).CreateBus(ctx, catalog.Bus{Name: "x"})
			results <- err
		})
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, catalog.ErrExists):
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent CreateBus calls succeeded, want 1", won)
	}
}

func TestTags(t *testing.T) {
	ctx := context.Background()
	c := openCatalog(t)
	b, err := c.In(c.Home()).CreateBus(ctx, catalog.Bus{Name: "b", Tags: catalog.Tags{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.In(c.Home()).MutateRule(ctx, "b", "r", func(*catalog.Rule) (*catalog.Rule, error) { return &catalog.Rule{State: "ENABLED"}, nil })
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.In(c.Home()).MutateConnection(ctx, "c", func(*catalog.Connection) (*catalog.Connection, error) {
		return &catalog.Connection{Name: "c", ARN: c.In(c.Home()).ConnectionARN("c", "1111")}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, arn := range []string{b.ARN, r.ARN, conn.ARN} {
		if err := c.In(c.Home()).UpdateTags(ctx, arn, func(t catalog.Tags) (bool, error) { t["a"] = "1"; return true, nil }); err != nil {
			t.Fatalf("UpdateTags(%s): %v", arn, err)
		}
		tags, err := c.In(c.Home()).Tags(ctx, arn)
		if err != nil || tags["a"] != "1" {
			t.Fatalf("Tags(%s) = %v, %v", arn, tags, err)
		}
	}
	if tags, _ := c.In(c.Home()).Tags(ctx, b.ARN); !slices.Equal(tags.Keys(), []string{"a", "k"}) {
		t.Fatalf("bus tags = %v", tags)
	}
	for _, arn := range []string{
		"arn:aws:events:eu-west-1:123456789012:event-bus/nope",
		"arn:aws:events:eu-west-1:123456789012:rule/b/nope",
		"arn:aws:events:eu-west-1:123456789012:rule/r", // r is on bus b, not default
		"arn:aws:events:us-east-1:123456789012:event-bus/b",
		"arn:aws:events:eu-west-1:000000000000:event-bus/b",
		c.In(c.Home()).ConnectionARN("c", "2222"), // same name, other id
		"arn:aws:sqs:eu-west-1:123456789012:q",
		"not an arn",
	} {
		if _, err := c.In(c.Home()).Tags(ctx, arn); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("Tags(%s): %v, want ErrNotFound", arn, err)
		}
	}
	// An unchanged update writes nothing.
	before, _ := c.In(c.Home()).Bus(ctx, "b")
	if err := c.In(c.Home()).UpdateTags(ctx, b.ARN, func(catalog.Tags) (bool, error) { return false, nil }); err != nil {
		t.Fatal(err)
	}
	after, _ := c.In(c.Home()).Bus(ctx, "b")
	if after.Revision != before.Revision {
		t.Fatalf("unchanged tag update wrote a revision")
	}
}

func TestResolveAPIDestination(t *testing.T) {
	ctx := context.Background()
	c := openCatalog(t)
	conn, err := c.In(c.Home()).MutateConnection(ctx, "c", func(*catalog.Connection) (*catalog.Connection, error) {
		return &catalog.Connection{Name: "c", ARN: c.In(c.Home()).ConnectionARN("c", "u1"), AuthorizationType: catalog.AuthAPIKey,
			Auth: catalog.ConnectionAuth{ApiKeyAuthParameters: &catalog.APIKeyAuth{ApiKeyName: "x-key", ApiKeyValue: "secret"}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.In(c.Home()).MutateAPIDestination(ctx, "d", func(*catalog.APIDestination) (*catalog.APIDestination, error) {
		return &catalog.APIDestination{Name: "d", ARN: c.In(c.Home()).APIDestinationARN("d", "u2"), ConnectionArn: conn.ARN,
			InvocationEndpoint: "https://example.com/x", HttpMethod: "POST"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gotD, gotC, err := c.ResolveAPIDestination(ctx, d.ARN)
	if err != nil || gotD.InvocationEndpoint != "https://example.com/x" || gotC.Auth.ApiKeyAuthParameters.ApiKeyValue != "secret" {
		t.Fatalf("ResolveAPIDestination = %+v, %+v, %v", gotD, gotC, err)
	}
	if _, _, err := c.ResolveAPIDestination(ctx, c.In(c.Home()).APIDestinationARN("d", "other")); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("wrong id: %v", err)
	}
	if _, err := c.In(c.Home()).MutateConnection(ctx, "c", func(*catalog.Connection) (*catalog.Connection, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ResolveAPIDestination(ctx, d.ARN); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("missing connection: %v", err)
	}
	ds, err := c.In(c.Home()).APIDestinations(ctx)
	if err != nil || len(ds) != 1 {
		t.Fatalf("APIDestinations = %v, %v", ds, err)
	}
}

func TestWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := openCatalog(t)
	if _, err := c.In(c.Home()).EnsureDefault(ctx); err != nil {
		t.Fatal(err)
	}
	mkRule := func(bus, name string) {
		t.Helper()
		if _, err := c.In(c.Home()).MutateRule(ctx, bus, name, func(*catalog.Rule) (*catalog.Rule, error) {
			return &catalog.Rule{State: catalog.StateEnabled, EventPattern: `{"source":["` + name + `"]}`}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	mkRule("default", "gone")
	mkRule("default", "kept")
	if _, err := c.In(c.Home()).MutateRule(ctx, "default", "gone", func(*catalog.Rule) (*catalog.Rule, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}

	changes, err := c.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func() catalog.Change {
		t.Helper()
		select {
		case ch, ok := <-changes:
			if !ok {
				t.Fatal("watch channel closed")
			}
			return ch
		case <-ctx.Done():
			t.Fatal("timed out waiting for a change")
		}
		return catalog.Change{}
	}
	describe := func(ch catalog.Change) string {
		return fmt.Sprintf("%s %s %s/%s", ch.Op, ch.Kind, ch.BusName, ch.Name)
	}

	// Snapshot: the default bus and the kept rule (not the deleted one), then synced.
	var snapshot []string
	for {
		ch := next()
		if ch.Op == catalog.OpSynced {
			break
		}
		snapshot = append(snapshot, describe(ch))
		if ch.Kind == catalog.KindRule && (ch.Rule == nil || ch.Rule.EventPattern != `{"source":["kept"]}` || ch.Rule.Revision != ch.Revision) {
			t.Fatalf("snapshot rule change = %+v", ch)
		}
	}
	slices.Sort(snapshot)
	if want := []string{"put bus default/default", "put rule default/kept"}; !slices.Equal(snapshot, want) {
		t.Fatalf("snapshot = %q, want %q", snapshot, want)
	}

	// Live changes, in order.
	if _, err := c.In(c.Home()).CreateBus(ctx, catalog.Bus{Name: "b.x"}); err != nil {
		t.Fatal(err)
	}
	mkRule("b.x", "r")
	withTargets, err := c.In(c.Home()).MutateRule(ctx, "b.x", "r", func(cur *catalog.Rule) (*catalog.Rule, error) {
		cur.Targets = []catalog.Target{{Id: "1", Arn: "arn:aws:events:eu-west-1:123456789012:event-bus/default"}}
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.In(c.Home()).DeleteBus(ctx, "b.x"); err != nil {
		t.Fatal(err)
	}
	// The catalog keeps one revision per key: a change superseded before the
	// watch delivered it may be skipped, the last change of each key never.
	// So the live changes are a subsequence of all changes, in order, ending
	// with the two deletions.
	all := []string{"put bus b.x/b.x", "put rule b.x/r", "put rule b.x/r", "delete bus b.x/b.x", "delete rule b.x/r"}
	var live []string
	var last uint64
	for len(live) == 0 || live[len(live)-1] != "delete rule b.x/r" {
		ch := next()
		if ch.Revision <= last {
			t.Fatalf("revision %d after %d", ch.Revision, last)
		}
		last = ch.Revision
		live = append(live, describe(ch))
		if ch.Op == catalog.OpPut && ch.Kind == catalog.KindRule && ch.Rule.Revision == withTargets.Revision && len(ch.Rule.Targets) != 1 {
			t.Fatalf("targets change = %+v", ch)
		}
	}
	if !isSubsequence(live, all) || !slices.Contains(live, "delete bus b.x/b.x") {
		t.Fatalf("live changes = %q, want a subsequence of %q with both deletions", live, all)
	}

	// Watching only buses skips rules.
	busChanges, err := c.Watch(ctx, catalog.KindBus)
	if err != nil {
		t.Fatal(err)
	}
	for ch := range busChanges {
		if ch.Op == catalog.OpSynced {
			break
		}
		if ch.Kind != catalog.KindBus {
			t.Fatalf("bus watch delivered %s", describe(ch))
		}
	}
	cancel()
	for range changes { // closed once ctx is done
	}
}

func TestLastRevision(t *testing.T) {
	ctx := context.Background()
	c := openCatalog(t)
	if rev, err := c.LastRevision(ctx, catalog.KindRule); rev != 0 || err != nil {
		t.Fatalf("LastRevision of an empty catalog = %d, %v", rev, err)
	}
	b, err := c.In(c.Home()).CreateBus(ctx, catalog.Bus{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.In(c.Home()).MutateRule(ctx, "b", "r", func(*catalog.Rule) (*catalog.Rule, error) { return &catalog.Rule{State: "ENABLED"}, nil })
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.In(c.Home()).MutateConnection(ctx, "c", func(*catalog.Connection) (*catalog.Connection, error) {
		return &catalog.Connection{Name: "c", ARN: c.In(c.Home()).ConnectionARN("c", "1")}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(want uint64, kinds ...catalog.Kind) {
		t.Helper()
		if rev, err := c.LastRevision(ctx, kinds...); rev != want || err != nil {
			t.Errorf("LastRevision(%v) = %d, %v; want %d", kinds, rev, err, want)
		}
	}
	check(b.Revision, catalog.KindBus)
	check(r.Revision, catalog.KindRule)
	check(r.Revision, catalog.KindBus, catalog.KindRule)
	check(conn.Revision)
	// A delete is a change too.
	if _, err := c.In(c.Home()).DeleteBus(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	rev, err := c.LastRevision(ctx, catalog.KindBus, catalog.KindRule)
	if err != nil || rev <= conn.Revision {
		t.Errorf("LastRevision after deleting = %d, %v; want > %d", rev, err, conn.Revision)
	}
	if _, err := c.LastRevision(ctx, "nonsense"); err == nil {
		t.Error("LastRevision of an unknown kind: no error")
	}
}

// isSubsequence reports whether sub is seq with some items left out.
func isSubsequence(sub, seq []string) bool {
	i := 0
	for _, s := range seq {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}
