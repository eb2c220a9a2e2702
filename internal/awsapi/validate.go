package awsapi

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Validator collects constraint violations in the order they are checked and words them as
// AWS does:
//
//	1 validation error detected: Value 'x!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+
//	2 validation errors detected: …; …
//
// Field names are the wire members in AWS's camelCase form ('name', 'eventBusName',
// 'entries.1.member.source'). The zero Validator is ready to use.
type Validator struct {
	msgs []string
}

// NewValidator returns an empty Validator.
func NewValidator() *Validator { return &Validator{} }

// Violation records that value (already rendered, nil for null) at field failed constraint.
func (v *Validator) Violation(field string, value *string, constraint string) {
	var b strings.Builder
	b.WriteString("Value ")
	if value == nil {
		b.WriteString("null")
	} else {
		b.WriteString("'")
		b.WriteString(*value)
		b.WriteString("'")
	}
	b.WriteString(" at '")
	b.WriteString(field)
	b.WriteString("' failed to satisfy constraint: ")
	b.WriteString(constraint)
	v.msgs = append(v.msgs, b.String())
}

// Required records "Member must not be null" when present is false; it reports present.
func (v *Validator) Required(field string, present bool) bool {
	if !present {
		v.Violation(field, nil, "Member must not be null")
	}
	return present
}

// Length checks that s has at least min and at most max characters (as AWS counts them:
// UTF-16 code units); max < 0 means no upper bound.
func (v *Validator) Length(field, s string, min, max int) {
	n := Len(s)
	if n < min {
		v.Violation(field, &s, "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
	if max >= 0 && n > max {
		v.Violation(field, &s, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// OptionalLength is Length for an optional member: nil passes.
func (v *Validator) OptionalLength(field string, s *string, min, max int) {
	if s != nil {
		v.Length(field, *s, min, max)
	}
}

// Pattern checks that re matches the whole of s; reText is the pattern as AWS prints it
// (its model's text, e.g. `[\.\-_A-Za-z0-9]+`). re should be anchored (^…$) by the caller.
func (v *Validator) Pattern(field, s string, re *regexp.Regexp, reText string) {
	if !re.MatchString(s) {
		v.Violation(field, &s, "Member must satisfy regular expression pattern: "+reText)
	}
}

// OptionalPattern is Pattern for an optional member: nil passes.
func (v *Validator) OptionalPattern(field string, s *string, re *regexp.Regexp, reText string) {
	if s != nil {
		v.Pattern(field, *s, re, reText)
	}
}

// Enum checks that s is one of values: "Member must satisfy enum value set: [A, B]".
func (v *Validator) Enum(field, s string, values ...string) {
	for _, x := range values {
		if s == x {
			return
		}
	}
	v.Violation(field, &s, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// Range checks min ≤ n ≤ max ("Member must have value greater than or equal to 1").
func (v *Validator) Range(field string, n, min, max int64) {
	s := strconv.FormatInt(n, 10)
	if n < min {
		v.Violation(field, &s, "Member must have value greater than or equal to "+strconv.FormatInt(min, 10))
	}
	if n > max {
		v.Violation(field, &s, "Member must have value less than or equal to "+strconv.FormatInt(max, 10))
	}
}

// Count checks the length of a list member (rendered as rendered, e.g. "[a, b]", AWS prints
// the list's items): "Member must have length less than or equal to 10".
func (v *Validator) Count(field string, n int, rendered string, min, max int) {
	if n < min {
		v.Violation(field, &rendered, "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
	if max >= 0 && n > max {
		v.Violation(field, &rendered, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// Len returns the length of s as AWS's (Java) services count it: UTF-16 code units.
func Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r) // invalid UTF-8 bytes decode to U+FFFD: one unit each
	}
	return n
}

// RenderList renders items as Java prints a list, "[a, b]", which AWS uses for list values in
// validation messages.
func RenderList(items []string) string {
	return "[" + strings.Join(items, ", ") + "]"
}

// Len reports how many violations were collected.
func (v *Validator) Len() int { return len(v.msgs) }

// Messages returns the collected violation texts.
func (v *Validator) Messages() []string { return append([]string(nil), v.msgs...) }

// Err returns nil when nothing failed, else a ValidationException with AWS's message.
func (v *Validator) Err() error {
	if e := v.AWSError(); e != nil {
		return e
	}
	return nil
}

// AWSError is Err typed as *Error (nil when nothing failed).
func (v *Validator) AWSError() *Error {
	if len(v.msgs) == 0 {
		return nil
	}
	return ValidationError(ValidationMessage(v.msgs...))
}

// ValidationMessage joins violation texts the way AWS does:
// "1 validation error detected: A" or "2 validation errors detected: A; B".
func ValidationMessage(violations ...string) string {
	n := len(violations)
	noun := "errors"
	if n == 1 {
		noun = "error"
	}
	return strconv.Itoa(n) + " validation " + noun + " detected: " + strings.Join(violations, "; ")
}
