package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/policy"
	"github.com/conveyor/conveyor/internal/scope"
)

// permit decides a delivery from a rule of one account to a bus or queue of
// another by the target's resource policy, as EventBridge asks it: the events
// service, for the rule's account, with the rule as aws:SourceArn.
func (s *Server) permit(ctx context.Context, job *delivery.Job) error {
	rule, _ := scope.ParseARN(job.RuleARN)
	target, _ := scope.ParseARN(job.TargetARN)
	req := policy.Request{Account: rule.Account, PrincipalARN: "arn:aws:iam::" + rule.Account + ":root",
		Service: "events.amazonaws.com", Resource: job.TargetARN,
		Context: map[string]string{"aws:SourceArn": job.RuleARN, "aws:SourceAccount": rule.Account}}
	var doc string
	switch target.Service {
	case "events":
		sc, ref, ok := catalog.ParseResourceARN(job.TargetARN)
		if !ok || ref.Kind != catalog.KindBus {
			return errors.New("not an event bus")
		}
		b, err := s.catalog.In(sc).Bus(ctx, ref.Name)
		if err != nil {
			return fmt.Errorf("event bus %s: %w", job.TargetARN, err)
		}
		req.Action, doc = "events:PutEvents", b.Policy
	case "sqs":
		p, ok := s.queues.Policy(job.TargetARN)
		if !ok {
			return fmt.Errorf("queue %s does not exist", job.TargetARN)
		}
		req.Action, doc = "sqs:SendMessage", p
	default:
		return fmt.Errorf("%s targets of another account are not supported", target.Service)
	}
	if doc == "" {
		return fmt.Errorf("%s has no resource policy that lets account %s (rule %s) send to it", job.TargetARN, rule.Account, job.RuleARN)
	}
	d, err := policy.Parse(doc)
	if err != nil || !d.Allows(req) {
		return fmt.Errorf("the resource policy of %s does not let account %s (rule %s) send to it", job.TargetARN, rule.Account, job.RuleARN)
	}
	return nil
}
