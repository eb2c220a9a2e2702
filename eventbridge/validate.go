package eventbridge

import (
	"regexp"
	"strconv"

	"github.com/conveyor/conveyor/awsapi"
	"github.com/conveyor/conveyor/catalog"
)

// A shape constraint of AWS's model: the pattern as AWS prints it in
// messages and the anchored regexp that checks it.
type shapePattern struct {
	text string
	re   *regexp.Regexp
}

func newPattern(text string) shapePattern {
	return shapePattern{text: text, re: regexp.MustCompile(`^(?:` + text + `)$`)}
}

// newAnchoredPattern is newPattern for a model pattern that carries its
// own ^…$.
func newAnchoredPattern(text string) shapePattern {
	return shapePattern{text: text, re: regexp.MustCompile(text)}
}

// Patterns of AWS's events model (service-2.json), by shape.
var (
	patEventBusName      = newPattern(`[/\.\-_A-Za-z0-9]+`)
	patEventBusNameOrArn = newPattern(`(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+`)
	patEventSourceName   = newPattern(`aws\.partner(/[\.\-_A-Za-z0-9]+){2,}`)
	patRuleName          = newPattern(`[\.\-_A-Za-z0-9]+`)
	patTargetID          = patRuleName
	patName64            = patRuleName // ConnectionName, ApiDestinationName
	patKmsKeyIdentifier  = newAnchoredPattern(`^[a-zA-Z0-9_\-/:]*$`)
	patConnectionArn     = newAnchoredPattern(`^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$`)
	patHTTPSEndpoint     = newAnchoredPattern(`^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$`)
	patAuthHeader        = newAnchoredPattern(`^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$`)
	patHeaderKey         = newAnchoredPattern("^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$")
	patHeaderValue       = newAnchoredPattern(`^[ \t]*[\x20-\x7E]+([ \t]+[\x20-\x7E]+)*[ \t]*$`)
	patQueryKey          = newPattern(`[^\x00-\x1F\x7F]+`)
	patQueryValue        = newPattern(`[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F]+`)
)

// v wraps awsapi.Validator with the helpers the shapes here need.
type v struct{ awsapi.Validator }

// str checks an optional string member: length and, if given, pattern.
func (x *v) str(field string, s *string, min, max int, pat *shapePattern) {
	if s == nil {
		return
	}
	x.Length(field, *s, min, max)
	if pat != nil {
		x.Pattern(field, *s, pat.re, pat.text)
	}
}

// req checks a required string member.
func (x *v) req(field string, s *string, min, max int, pat *shapePattern) {
	if x.Required(field, s != nil) {
		x.str(field, s, min, max, pat)
	}
}

// secret checks a sensitive string member without echoing its value.
func (x *v) secret(field string, s *string, min, max int, pat *shapePattern) {
	if s == nil {
		return
	}
	redacted := "***"
	n := awsapi.Len(*s)
	if n < min {
		x.Violation(field, &redacted, "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
	if max >= 0 && n > max {
		x.Violation(field, &redacted, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
	if pat != nil && !pat.re.MatchString(*s) {
		x.Violation(field, &redacted, "Member must satisfy regular expression pattern: "+pat.text)
	}
}

// enum checks an optional enum member.
func (x *v) enum(field string, s *string, values ...string) {
	if s != nil {
		x.Enum(field, *s, values...)
	}
}

// intRange checks an optional integer member.
func (x *v) intRange(field string, n *int, min, max int64) {
	if n != nil {
		x.Range(field, int64(*n), min, max)
	}
}

// limit checks the Limit member of List operations (LimitMax100).
func (x *v) limit(n *int) { x.intRange("limit", n, 1, 100) }

// nextToken checks the NextToken member's length.
func (x *v) nextToken(s *string) { x.str("nextToken", s, 1, 2048, nil) }

// busNameOrArn checks an EventBusNameOrArn member.
func (x *v) busNameOrArn(field string, s *string) {
	x.str(field, s, 1, 1600, &patEventBusNameOrArn)
}

// tags checks a TagList member.
func (x *v) tags(field string, tags []Tag) {
	for i, t := range tags {
		p := field + "." + strconv.Itoa(i+1) + ".member"
		x.req(p+".key", t.Key, 1, 128, nil)
		if x.Required(p+".value", t.Value != nil) {
			x.Length(p+".value", *t.Value, 0, 256)
		}
	}
}

// deadLetter checks a DeadLetterConfig member.
func (x *v) deadLetter(field string, d *catalog.DeadLetterConfig) {
	if d != nil && d.Arn != "" {
		x.Length(field+".arn", d.Arn, 1, 1600)
	}
}

// Tag is AWS's Tag shape.
type Tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

// tagList renders tags as AWS lists them, by key.
func tagList(t catalog.Tags) []OutTag {
	out := make([]OutTag, 0, len(t))
	for _, k := range t.Keys() {
		out = append(out, OutTag{Key: k, Value: t[k]})
	}
	return out
}

// OutTag is AWS's Tag shape in responses.
type OutTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
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
	a, ok := catalog.ParseARN(arn)
	return ok && a.Service == "sqs" && a.Region != "" && a.Account != "" && a.Resource != ""
}
