package eventbridge

import (
	"github.com/conveyor/conveyor/internal/scope"

	"github.com/conveyor/conveyor/internal/catalog"
)

// validate checks in, the decoded input of operation op, against the
// constraints of AWS's API model (required members, lengths, ranges,
// patterns, enums) and returns AWS's ValidationException for the
// violations. The awsapi server may run the same check before the handler
// (awsapi.Service.SetModel); the handlers do not rely on it.
func (s *Service) validate(op string, in any) error {
	return s.model.Validate(op, in)
}

// Tag is AWS's Tag shape.
type Tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

// OutTag is AWS's Tag shape in responses.
type OutTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// tagList renders tags as AWS lists them, by key.
func tagList(t catalog.Tags) []OutTag {
	out := make([]OutTag, 0, len(t))
	for _, k := range t.Keys() {
		out = append(out, OutTag{Key: k, Value: t[k]})
	}
	return out
}

// applyTags sets tags on t (which must be non-nil) and reports whether the
// result exceeds MaxTagsPerResource.
func applyTags(t catalog.Tags, tags []Tag) (tooMany bool) {
	for _, tag := range tags {
		t[deref(tag.Key)] = deref(tag.Value)
	}
	return len(t) > MaxTagsPerResource
}

// isSQSArn reports whether arn is an SQS queue ARN.
func isSQSArn(arn string) bool {
	a, ok := scope.ParseARN(arn)
	return ok && a.Service == "sqs" && a.Region != "" && a.Account != "" && a.Resource != ""
}
