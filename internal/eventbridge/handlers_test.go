package eventbridge_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/eventbridge"
)

func str(s string) *string { return &s }

// TestManagedRules: a rule a service manages (as archives' rules will be)
// changes only through its service; DeleteRule and RemoveTargets need Force.
func TestManagedRules(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, eventbridge.Config{}, false)
	svc := srv.Service
	if _, err := srv.Catalog.In(srv.Catalog.Home()).MutateRule(ctx, "default", "m", func(*catalog.Rule) (*catalog.Rule, error) {
		return &catalog.Rule{EventPattern: `{"source":["a"]}`, State: catalog.StateEnabled, ManagedBy: "archive.events.amazonaws.com",
			Targets: []catalog.Target{{Id: "t", Arn: "arn:aws:events:us-east-1:123456789012:event-bus/default"}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	const msg = "Rule m is managed by archive.events.amazonaws.com. Managed rules can only be changed by their service, or deleted with Force."
	refused := []struct {
		name string
		call func() error
	}{
		{"PutRule", func() error {
			_, err := svc.PutRule(ctx, &eventbridge.PutRuleInput{Name: str("m"), EventPattern: str(`{"source":["b"]}`)})
			return err
		}},
		{"EnableRule", func() error { _, err := svc.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: str("m")}); return err }},
		{"DisableRule", func() error {
			_, err := svc.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: str("m")})
			return err
		}},
		{"PutTargets", func() error {
			_, err := svc.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: str("m"),
				Targets: []eventbridge.TargetInput{{Id: str("u"), Arn: str("arn:aws:sqs:us-east-1:123456789012:q")}}})
			return err
		}},
		{"RemoveTargets", func() error {
			_, err := svc.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: str("m"), Ids: []string{"t"}})
			return err
		}},
		{"DeleteRule", func() error { _, err := svc.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: str("m")}); return err }},
		{"TagResource", func() error {
			_, err := svc.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: str("arn:aws:events:us-east-1:123456789012:rule/m"),
				Tags: []eventbridge.Tag{{Key: str("k"), Value: str("v")}}})
			return err
		}},
		{"UntagResource", func() error {
			_, err := svc.UntagResource(ctx, &eventbridge.UntagResourceInput{ResourceARN: str("arn:aws:events:us-east-1:123456789012:rule/m"),
				TagKeys: []string{"k"}})
			return err
		}},
	}
	for _, tt := range refused {
		err := tt.call()
		var ae *awsapi.Error
		if !errors.As(err, &ae) || ae.Code != awsapi.CodeManagedRuleException || ae.Message != msg {
			t.Errorf("%s on a managed rule: %v, want ManagedRuleException %q", tt.name, err, msg)
		}
	}
	// With Force, the targets go, then the rule.
	out, err := svc.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: str("m"), Ids: []string{"t"}, Force: true})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("RemoveTargets with Force = %+v, %v", out, err)
	}
	if _, err := svc.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: str("m"), Force: true}); err != nil {
		t.Fatalf("DeleteRule with Force: %v", err)
	}
	if _, err := srv.Catalog.In(srv.Catalog.Home()).Rule(ctx, "default", "m"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("managed rule still there: %v", err)
	}
}

// TestConcurrentPutTargets: concurrent PutTargets calls on one rule keep
// every target, and the 5-target limit holds however they interleave.
func TestConcurrentPutTargets(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, eventbridge.Config{}, false)
	svc := srv.Service
	if _, err := svc.PutRule(ctx, &eventbridge.PutRuleInput{Name: str("r"), EventPattern: str(`{"source":["a"]}`)}); err != nil {
		t.Fatal(err)
	}
	const callers = 8
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			_, errs[i] = svc.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: str("r"),
				Targets: []eventbridge.TargetInput{{Id: str(fmt.Sprint("t", i)), Arn: str("arn:aws:sqs:us-east-1:123456789012:q")}}})
		})
	}
	wg.Wait()
	accepted, limited := 0, 0
	for _, err := range errs {
		var ae *awsapi.Error
		switch {
		case err == nil:
			accepted++
		case errors.As(err, &ae) && ae.Code == awsapi.CodeLimitExceededException:
			limited++
		default:
			t.Fatalf("PutTargets: %v", err)
		}
	}
	r, err := srv.Catalog.In(srv.Catalog.Home()).Rule(ctx, "default", "r")
	if err != nil {
		t.Fatal(err)
	}
	if accepted != eventbridge.MaxTargetsPerRule || limited != callers-accepted || len(r.Targets) != accepted {
		t.Fatalf("%d accepted, %d limited, %d stored; want %d accepted and stored", accepted, limited, len(r.Targets), eventbridge.MaxTargetsPerRule)
	}
}

// TestConcurrentPutRuleQuota: PutRule calls creating rules at the same time
// keep exactly the quota of rules per bus; the others are refused.
func TestConcurrentPutRuleQuota(t *testing.T) {
	ctx := context.Background()
	const quota, callers = 3, 16
	srv := startServer(t, eventbridge.Config{MaxRulesPerBus: quota}, false)
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, callers)
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				_, errs[i] = srv.Service.PutRule(ctx, &eventbridge.PutRuleInput{Name: str(fmt.Sprint("r", round, "-", i)),
					EventPattern: str(`{"source":["a"]}`)})
			})
		}
		close(start)
		wg.Wait()
		accepted := 0
		for _, err := range errs {
			var ae *awsapi.Error
			switch {
			case err == nil:
				accepted++
			case errors.As(err, &ae) && ae.Code == awsapi.CodeLimitExceededException:
			default:
				t.Fatalf("PutRule: %v", err)
			}
		}
		n, err := srv.Catalog.In(srv.Catalog.Home()).CountRules(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		if accepted != quota || n != quota {
			t.Fatalf("round %d: %d accepted, %d rules stored; want %d of each", round, accepted, n, quota)
		}
		// Make room for the next round.
		rules, err := srv.Catalog.In(srv.Catalog.Home()).Rules(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if _, err := srv.Service.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: str(r.Name)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestConcurrentPutRuleQuotaSharedStore: two services on one catalog (two
// Conveyors on one store) creating rules at the same time still keep
// exactly the quota: the rules created past it are undone.
func TestConcurrentPutRuleQuotaSharedStore(t *testing.T) {
	ctx := context.Background()
	const quota, callers = 3, 16
	srv := startServer(t, eventbridge.Config{MaxRulesPerBus: quota}, false)
	other, err := eventbridge.New(eventbridge.Config{Catalog: srv.Catalog, MaxRulesPerBus: quota, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	services := []*eventbridge.Service{srv.Service, other}
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, callers)
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				_, errs[i] = services[i%2].PutRule(ctx, &eventbridge.PutRuleInput{Name: str(fmt.Sprint("r", round, "-", i)),
					EventPattern: str(`{"source":["a"]}`)})
			})
		}
		close(start)
		wg.Wait()
		accepted := 0
		for _, err := range errs {
			var ae *awsapi.Error
			switch {
			case err == nil:
				accepted++
			case errors.As(err, &ae) && ae.Code == awsapi.CodeLimitExceededException:
			default:
				t.Fatalf("PutRule: %v", err)
			}
		}
		n, err := srv.Catalog.In(srv.Catalog.Home()).CountRules(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		if accepted != quota || n != quota {
			t.Fatalf("round %d: %d accepted, %d rules stored; want %d of each", round, accepted, n, quota)
		}
		rules, err := srv.Catalog.In(srv.Catalog.Home()).Rules(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if _, err := srv.Service.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: str(r.Name)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestNewRequiresCatalog(t *testing.T) {
	if _, err := eventbridge.New(eventbridge.Config{}); err == nil {
		t.Fatal("New without a catalog: no error")
	}
}

// TestHTTPEndpointsSetting: with AllowHTTPEndpoints, http endpoints on any
// host are accepted.
func TestHTTPEndpointsSetting(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, eventbridge.Config{AllowHTTPEndpoints: true}, false)
	c, err := srv.Service.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: str("c"), AuthorizationType: str("BASIC"),
		AuthParameters: &catalog.ConnectionAuth{BasicAuthParameters: &catalog.BasicAuth{Username: "u", Password: "p"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Service.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: str("d"),
		DestinationMembers: eventbridge.DestinationMembers{ConnectionArn: &c.ConnectionArn,
			InvocationEndpoint: str("http://webhook.internal:8080/x"), HttpMethod: str("POST")}}); err != nil {
		t.Fatalf("http endpoint with AllowHTTPEndpoints: %v", err)
	}
}

// TestAfterWrite: the hook runs after each change of a bus, rule or targets
// (not after reads or refused calls), when the change is in the catalog.
func TestAfterWrite(t *testing.T) {
	ctx := context.Background()
	var (
		mu    sync.Mutex
		calls int
		cat   *catalog.Catalog
		revs  []uint64
	)
	srv := startServer(t, eventbridge.Config{AfterWrite: func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		rev, err := cat.LastRevision(ctx, catalog.KindBus, catalog.KindRule)
		revs = append(revs, rev)
		return err
	}}, false)
	cat = srv.Catalog
	svc := srv.Service
	steps := []func() error{
		func() error {
			_, err := svc.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: str("b")})
			return err
		},
		func() error {
			_, err := svc.PutRule(ctx, &eventbridge.PutRuleInput{Name: str("r"), EventBusName: str("b"), EventPattern: str(`{"source":["a"]}`)})
			return err
		},
		func() error {
			_, err := svc.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: str("r"), EventBusName: str("b"),
				Targets: []eventbridge.TargetInput{{Id: str("t"), Arn: str("arn:aws:sqs:us-east-1:123456789012:q")}}})
			return err
		},
		func() error {
			_, err := svc.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: str("r"), EventBusName: str("b")})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	r, err := cat.In(cat.Home()).Rule(ctx, "b", "r")
	if err != nil {
		t.Fatal(err)
	}
	// Reads and refused calls do not run the hook.
	if _, err := svc.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: str("r"), EventBusName: str("b")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutRule(ctx, &eventbridge.PutRuleInput{Name: str("bad"), EventPattern: str(`{"source":"x"}`)}); err == nil {
		t.Fatal("bad pattern accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != len(steps) {
		t.Fatalf("AfterWrite ran %d times, want %d", calls, len(steps))
	}
	for i := 1; i < len(revs); i++ {
		if revs[i] <= revs[i-1] {
			t.Fatalf("revisions seen by the hook = %v, want increasing", revs)
		}
	}
	if revs[len(revs)-1] != r.Revision {
		t.Fatalf("last revision seen by the hook = %d, want the rule's %d", revs[len(revs)-1], r.Revision)
	}
}
