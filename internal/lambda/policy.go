package lambda

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/policy"
	"github.com/conveyor/conveyor/internal/scope"
)

// A function's resource policy (AddPermission, RemovePermission, GetPolicy) is kept and shown
// as Lambda keeps it. Conveyor has no IAM: within an account a verified key may invoke any
// function, and a rule's target invokes its function without the policy's leave.

// AddPermissionInput is Lambda's AddPermissionRequest.
type AddPermissionInput struct {
	FunctionName     string  `json:"-" uri:"FunctionName"`
	Qualifier        *string `json:"-" query:"Qualifier"`
	StatementId      *string `json:"StatementId"`
	Action           *string `json:"Action"`
	Principal        *string `json:"Principal"`
	SourceArn        *string `json:"SourceArn"`
	SourceAccount    *string `json:"SourceAccount"`
	EventSourceToken *string `json:"EventSourceToken"`
	PrincipalOrgID   *string `json:"PrincipalOrgID"`
	RevisionId       *string `json:"RevisionId"`
}

// AddPermissionOutput is Lambda's AddPermissionResponse: the statement added, as JSON.
type AddPermissionOutput struct {
	Statement string `json:"Statement"`
}

var (
	statementIDRe = regexp.MustCompile(`^([a-zA-Z0-9-_.]+)$`)
	actionRe      = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
	accountIDRe   = regexp.MustCompile(`^\d{12}$`)
)

// AddPermission adds a statement to a function's policy.
func (s *Service) AddPermission(ctx context.Context, in *AddPermissionInput) (*AddPermissionOutput, error) {
	v := awsapi.NewValidator()
	v.Required("statementId", in.StatementId != nil)
	v.Required("action", in.Action != nil)
	v.Required("principal", in.Principal != nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !statementIDRe.MatchString(*in.StatementId) || len(*in.StatementId) > 100 {
		return nil, awsapi.Errorf("ValidationException", "1 validation error detected: Value '%s' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)", *in.StatementId)
	}
	if !actionRe.MatchString(*in.Action) {
		return nil, awsapi.Errorf("ValidationException", "1 validation error detected: Value '%s' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])", *in.Action)
	}
	st := policy.Statement{Sid: *in.StatementId, Effect: "Allow", Action: policy.Strings{*in.Action}, Principal: &policy.Principal{}}
	switch p := *in.Principal; {
	case p == "*":
		st.Principal.Any = true
	case accountIDRe.MatchString(p):
		st.Principal.AWS = policy.Strings{"arn:aws:iam::" + p + ":root"}
	case strings.HasPrefix(p, "arn:"):
		st.Principal.AWS = policy.Strings{p}
	case strings.Contains(p, "."):
		st.Principal.Service = policy.Strings{p}
	default:
		return nil, invalid("The provided principal was invalid. Please check the principal and try again.")
	}
	cond := map[string]map[string]policy.Strings{}
	if in.SourceArn != nil {
		cond["ArnLike"] = map[string]policy.Strings{"AWS:SourceArn": {*in.SourceArn}}
	}
	if in.SourceAccount != nil {
		cond["StringEquals"] = map[string]policy.Strings{"AWS:SourceAccount": {*in.SourceAccount}}
	}
	if in.PrincipalOrgID != nil {
		if cond["StringEquals"] == nil {
			cond["StringEquals"] = map[string]policy.Strings{}
		}
		cond["StringEquals"]["aws:PrincipalOrgID"] = policy.Strings{*in.PrincipalOrgID}
	}
	if len(cond) > 0 {
		st.Condition = cond
	}
	var added string
	_, err := s.change(ctx, in.FunctionName, in.RevisionId, policyChange, func(f *Function) error {
		d := &policy.Document{Version: "2012-10-17", ID: "default"}
		if f.Policy != "" {
			cur, err := policy.Parse(f.Policy)
			if err != nil {
				return fmt.Errorf("lambda: the stored policy of %s: %w", f.FunctionName, err)
			}
			d = cur
		}
		for _, have := range d.Statement {
			if have.Sid == st.Sid {
				return awsapi.Errorf("ResourceConflictException", "The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", st.Sid)
			}
		}
		st.Resource = policy.Strings{f.FunctionArn}
		d.Statement = append(d.Statement, st)
		doc := d.String()
		if len(doc) > 20480 {
			return awsapi.Errorf("PolicyLengthExceededException", "The final policy size (%d) is bigger than the limit (20480).", len(doc))
		}
		f.Policy = doc
		one := &policy.Document{Statement: []policy.Statement{st}}
		b := one.String()
		added = b[strings.Index(b, "[")+1 : strings.LastIndex(b, "]")]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &AddPermissionOutput{Statement: added}, nil
}

// RemovePermissionInput is Lambda's RemovePermissionRequest.
type RemovePermissionInput struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	StatementId  string  `json:"-" uri:"StatementId"`
	Qualifier    *string `json:"-" query:"Qualifier"`
	RevisionId   *string `json:"-" query:"RevisionId"`
}

// RemovePermission removes a statement from a function's policy.
func (s *Service) RemovePermission(ctx context.Context, in *RemovePermissionInput) (*struct{}, error) {
	_, err := s.change(ctx, in.FunctionName, in.RevisionId, policyChange, func(f *Function) error {
		notFound := awsapi.Errorf("ResourceNotFoundException", "The Statement %s is not found in resource policy.", in.StatementId)
		if f.Policy == "" {
			return notFound
		}
		d, err := policy.Parse(f.Policy)
		if err != nil {
			return fmt.Errorf("lambda: the stored policy of %s: %w", f.FunctionName, err)
		}
		if !d.Remove(in.StatementId) {
			return notFound
		}
		f.Policy = d.String()
		if len(d.Statement) == 0 {
			f.Policy = ""
		}
		return nil
	})
	return nil, err
}

// GetPolicyOutput is Lambda's GetPolicyResponse.
type GetPolicyOutput struct {
	Policy     string `json:"Policy"`
	RevisionId string `json:"RevisionId"`
}

// GetPolicy answers a function's policy.
func (s *Service) GetPolicy(ctx context.Context, in *FunctionRef) (*GetPolicyOutput, error) {
	f, err := s.function(ctx, *in)
	if err != nil {
		return nil, err
	}
	if f.Policy == "" {
		return nil, awsapi.Errorf("ResourceNotFoundException", "The resource you requested does not exist.")
	}
	return &GetPolicyOutput{Policy: f.Policy, RevisionId: f.RevisionId}, nil
}

// ---- tags ----

// TagsInput names a function by ARN, with tags.
type TagsInput struct {
	Resource string            `json:"-" uri:"ARN"`
	Tags     map[string]string `json:"Tags"`
	TagKeys  []string          `json:"-" query:"tagKeys"`
}

// TagsOutput is ListTags' answer.
type TagsOutput struct {
	Tags map[string]string `json:"Tags"`
}

// functionOfARN resolves a tagged resource's ARN to the caller's function.
func (s *Service) functionOfARN(ctx context.Context, arn string) (string, error) {
	a, ok := scope.ParseARN(arn)
	name, isFn := strings.CutPrefix(a.Resource, "function:")
	if !ok || a.Service != "lambda" || !isFn || a.Scope() != s.scopeOf(ctx) {
		return "", awsapi.Errorf("ValidationException", "1 validation error detected: Value '%s' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:[a-zA-Z0-9-_]+|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", arn)
	}
	return name, nil
}

// TagResource adds tags to a function.
func (s *Service) TagResource(ctx context.Context, in *TagsInput) (*struct{}, error) {
	name, err := s.functionOfARN(ctx, in.Resource)
	if err != nil {
		return nil, err
	}
	_, err = s.change(ctx, name, nil, tagsChange, func(f *Function) error {
		if f.Tags == nil {
			f.Tags = map[string]string{}
		}
		for k, v := range in.Tags {
			f.Tags[k] = v
		}
		if len(f.Tags) > 50 {
			return invalid("Number of tags exceeds resource tag limit.")
		}
		return nil
	})
	return nil, err
}

// UntagResource removes tags from a function.
func (s *Service) UntagResource(ctx context.Context, in *TagsInput) (*struct{}, error) {
	name, err := s.functionOfARN(ctx, in.Resource)
	if err != nil {
		return nil, err
	}
	_, err = s.change(ctx, name, nil, tagsChange, func(f *Function) error {
		for _, k := range in.TagKeys {
			delete(f.Tags, k)
		}
		return nil
	})
	return nil, err
}

// ListTags answers a function's tags.
func (s *Service) ListTags(ctx context.Context, in *TagsInput) (*TagsOutput, error) {
	name, err := s.functionOfARN(ctx, in.Resource)
	if err != nil {
		return nil, err
	}
	f, err := s.function(ctx, FunctionRef{FunctionName: name})
	if err != nil {
		return nil, err
	}
	tags := f.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return &TagsOutput{Tags: tags}, nil
}

func (s *Service) registerPolicies(svc *awsapi.Service) {
	awsapi.HandleREST(svc, "AddPermission", http.MethodPost, "/2015-03-31/functions/{FunctionName}/policy", http.StatusCreated, s.AddPermission)
	awsapi.HandleREST(svc, "RemovePermission", http.MethodDelete, "/2015-03-31/functions/{FunctionName}/policy/{StatementId}", http.StatusNoContent, s.RemovePermission)
	awsapi.HandleREST(svc, "GetPolicy", http.MethodGet, "/2015-03-31/functions/{FunctionName}/policy", 0, s.GetPolicy)
	awsapi.HandleREST(svc, "TagResource", http.MethodPost, "/2017-03-31/tags/{ARN}", http.StatusNoContent, s.TagResource)
	awsapi.HandleREST(svc, "UntagResource", http.MethodDelete, "/2017-03-31/tags/{ARN}", http.StatusNoContent, s.UntagResource)
	awsapi.HandleREST(svc, "ListTags", http.MethodGet, "/2017-03-31/tags/{ARN}", 0, s.ListTags)
}
