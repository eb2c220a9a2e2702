package eventbridge

import (
	"context"
	"errors"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/policy"
)

// PutPermissionInput is AWS's PutPermissionRequest.
type PutPermissionInput struct {
	EventBusName *string    `json:"EventBusName"`
	Action       *string    `json:"Action"`
	Principal    *string    `json:"Principal"`
	StatementId  *string    `json:"StatementId"`
	Condition    *Condition `json:"Condition"`
	Policy       *string    `json:"Policy"`
}

// Condition is AWS's Condition shape: the one condition PutPermission can put on a statement.
type Condition struct {
	Type  *string `json:"Type"`
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

// RemovePermissionInput is AWS's RemovePermissionRequest.
type RemovePermissionInput struct {
	StatementId          *string `json:"StatementId"`
	RemoveAllPermissions *bool   `json:"RemoveAllPermissions"`
	EventBusName         *string `json:"EventBusName"`
}

// PutPermission lets other accounts (or everyone, or an organization) put events on a bus: it
// adds a statement to the bus's resource policy (replacing the one with the same StatementId),
// or, with Policy, replaces the whole policy.
func (s *Service) PutPermission(ctx context.Context, in *PutPermissionInput) (*struct{}, error) {
	if err := s.validate("PutPermission", in); err != nil {
		return nil, err
	}
	var whole *policy.Document
	var st policy.Statement
	if in.Policy != nil {
		if in.Action != nil || in.Principal != nil || in.StatementId != nil || in.Condition != nil {
			return nil, awsapi.ValidationError("Policy cannot be specified with Action, Principal, StatementId or Condition.")
		}
		d, err := policy.Parse(*in.Policy)
		if err != nil {
			if len(*in.Policy) > policy.MaxLength {
				return nil, errPolicyTooLong()
			}
			return nil, awsapi.ValidationError("Policy is not a valid resource policy: " + err.Error())
		}
		whole = d
	} else {
		v := awsapi.NewValidator()
		v.Required("action", in.Action != nil)
		v.Required("principal", in.Principal != nil)
		v.Required("statementId", in.StatementId != nil)
		if err := v.Err(); err != nil {
			return nil, err
		}
		st = policy.Statement{Sid: *in.StatementId, Effect: "Allow", Action: policy.Strings{*in.Action}}
		if *in.Principal == "*" {
			st.Principal = &policy.Principal{Any: true}
		} else {
			st.Principal = &policy.Principal{AWS: policy.Strings{"arn:aws:iam::" + *in.Principal + ":root"}}
		}
		if c := in.Condition; c != nil {
			if c.Type == nil || c.Key == nil || c.Value == nil || *c.Type != "StringEquals" || *c.Key != "aws:PrincipalOrgID" {
				return nil, awsapi.ValidationError("Condition must have Type StringEquals, Key aws:PrincipalOrgID and a Value.")
			}
			st.Condition = map[string]map[string]policy.Strings{"StringEquals": {"aws:PrincipalOrgID": {*c.Value}}}
		}
	}
	name := s.busName(ctx, in.EventBusName)
	_, err := s.in(ctx).UpdateBus(ctx, name, func(b *catalog.Bus) error {
		d := whole
		if d == nil {
			d = &policy.Document{Version: "2012-10-17"}
			if b.Policy != "" {
				cur, err := policy.Parse(b.Policy)
				if err != nil {
					return err
				}
				d = cur
			}
			st.Resource = policy.Strings{b.ARN}
			d.Put(st)
		}
		doc := d.String()
		if len(doc) > policy.MaxLength {
			return errPolicyTooLong()
		}
		b.Policy = doc
		return nil
	})
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return nil, errBusNotFound(name)
	case err != nil:
		return nil, internal("PutPermission", err)
	}
	return nil, nil
}

// RemovePermission removes one statement (StatementId) or the whole policy
// (RemoveAllPermissions) of a bus.
func (s *Service) RemovePermission(ctx context.Context, in *RemovePermissionInput) (*struct{}, error) {
	if err := s.validate("RemovePermission", in); err != nil {
		return nil, err
	}
	all := in.RemoveAllPermissions != nil && *in.RemoveAllPermissions
	if all == (in.StatementId != nil) {
		return nil, awsapi.ValidationError("Either StatementId or RemoveAllPermissions must be specified, not both.")
	}
	name := s.busName(ctx, in.EventBusName)
	_, err := s.in(ctx).UpdateBus(ctx, name, func(b *catalog.Bus) error {
		if b.Policy == "" {
			return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "EventBus does not have a policy.")
		}
		if all {
			b.Policy = ""
			return nil
		}
		d, err := policy.Parse(b.Policy)
		if err != nil {
			return err
		}
		if !d.Remove(*in.StatementId) {
			return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Statement with the provided id does not exist.")
		}
		b.Policy = d.String()
		if len(d.Statement) == 0 {
			b.Policy = ""
		}
		return nil
	})
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return nil, errBusNotFound(name)
	case err != nil:
		return nil, internal("RemovePermission", err)
	}
	return nil, nil
}

func errPolicyTooLong() *awsapi.Error {
	return awsapi.Errorf(awsapi.CodePolicyLengthExceededException, "The policy of the event bus would be longer than %d characters.", policy.MaxLength)
}
