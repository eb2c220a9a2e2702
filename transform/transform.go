package transform

import (
	"fmt"
	"strings"
	"time"
)

// Spec is what a target of a rule says about its input: at most one of Input,
// InputPath and InputTransformer (nil when absent). An empty Spec sends the
// matched event as it is.
type Spec struct {
	// TargetID names the target in error messages, as AWS's do.
	TargetID string

	// Input is JSON text sent instead of the event.
	Input *string
	// InputPath is a JSON path; the part of the event it selects is sent.
	InputPath *string
	// InputTransformer builds the input from parts of the event.
	InputTransformer *InputTransformer
}

// InputTransformer is AWS's InputTransformer: values taken from the event by
// the JSON paths of InputPathsMap (key → path) fill the <key> placeholders of
// InputTemplate.
type InputTransformer struct {
	InputPathsMap map[string]string
	InputTemplate string
}

// Context holds what the predefined placeholders of a template stand for.
type Context struct {
	RuleName      string
	RuleARN       string
	IngestionTime time.Time
}

// The predefined placeholders of InputTemplate.
const (
	VarRuleARN       = "aws.events.rule-arn"
	VarRuleName      = "aws.events.rule-name"
	VarIngestionTime = "aws.events.event.ingestion-time"
	// VarEvent is the event without its detail field.
	VarEvent = "aws.events.event"
	// VarEventJSON is the whole event.
	VarEventJSON = "aws.events.event.json"
)

// IngestionTimeLayout is how <aws.events.event.ingestion-time> is written:
// ISO 8601 in UTC to the second, like the time field of events.
const IngestionTimeLayout = "2006-01-02T15:04:05Z"

type mode uint8

const (
	modeEvent    mode = iota // send the event as it is
	modeInput                // send a constant
	modePath                 // send what InputPath selects
	modeTemplate             // fill InputTemplate
)

// A Transform is a compiled Spec. It is immutable and safe for concurrent use;
// a nil *Transform sends the event as it is.
type Transform struct {
	mode  mode
	input []byte
	path  path
	find  *finder
	tmpl  template
}

// Compile checks a target's Spec as PutTargets does and compiles it. A refused
// Spec gives a *ValidationError with AWS's message.
func Compile(s Spec) (*Transform, error) {
	if v := Violations(s, "target"); len(v) > 0 {
		return nil, violationsError(v)
	}
	n := 0
	for _, set := range []bool{s.Input != nil, s.InputPath != nil, s.InputTransformer != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, validationErrorf(msgExclusive, s.TargetID)
	}
	switch {
	case s.Input != nil:
		c := checker{s: *s.Input}
		if off := c.check(); off >= 0 {
			line, col := lineCol(c.s, off)
			return nil, validationErrorf(msgInvalidInput, s.TargetID, jacksonLocation(c.s, line, col))
		}
		return &Transform{mode: modeInput, input: []byte(*s.Input)}, nil
	case s.InputPath != nil:
		p, err := parsePath(*s.InputPath)
		if err != nil {
			return nil, validationErrorf(msgInvalidInputPath, s.TargetID, err.Error())
		}
		return &Transform{mode: modePath, path: p, find: newFinder([]path{p})}, nil
	case s.InputTransformer != nil:
		tm, err := compileTemplate(s.TargetID, s.InputTransformer)
		if err != nil {
			return nil, err
		}
		return &Transform{mode: modeTemplate, tmpl: tm}, nil
	}
	return &Transform{mode: modeEvent}, nil
}

// Apply returns what the target receives for the matched event (its JSON
// text, as stored). The result may share memory with event or with the
// Transform; callers must not modify it. Apply fails when the event is not
// JSON where the transform had to read it, and with an *OutputTooLargeError
// when the output would pass MaxOutputBytes.
func (t *Transform) Apply(event []byte, c Context) ([]byte, error) {
	if t == nil {
		return event, nil
	}
	switch t.mode {
	case modeInput:
		return t.input, nil
	case modePath:
		var sp [1]span
		if err := t.find.find(event, sp[:]); err != nil {
			return nil, fmt.Errorf("transform: InputPath %s: %w", t.path.text, err)
		}
		if !sp[0].ok {
			return []byte("null"), nil
		}
		if n := sp[0].end - sp[0].start; n > MaxOutputBytes {
			return nil, &OutputTooLargeError{AtLeast: n}
		}
		return appendCompact(make([]byte, 0, sp[0].end-sp[0].start), event[sp[0].start:sp[0].end]), nil
	case modeTemplate:
		out, err := t.tmpl.apply(event, &c)
		if err != nil {
			return nil, fmt.Errorf("transform: InputTemplate: %w", err)
		}
		return out, nil
	}
	return event, nil
}

// Violations lists how s breaks the constraints of AWS's request shapes
// (lengths, map size, key pattern), each in the words of AWS's
// "N validation errors detected: …" message, for a target whose member path
// in the request is prefix (like "targets.1.member"). The API layer joins
// them with those of the rest of the request.
func Violations(s Spec, prefix string) []string {
	var v []string
	bad := func(value, member, constraint string) {
		v = append(v, fmt.Sprintf("Value '%s' at '%s.%s' failed to satisfy constraint: %s", value, prefix, member, constraint))
	}
	if s.Input != nil && utf16Len(*s.Input) > 8192 {
		bad(*s.Input, "input", "Member must have length less than or equal to 8192")
	}
	if s.InputPath != nil && utf16Len(*s.InputPath) > 256 {
		bad(*s.InputPath, "inputPath", "Member must have length less than or equal to 256")
	}
	if it := s.InputTransformer; it != nil {
		m := mapString(it.InputPathsMap)
		if len(it.InputPathsMap) > 100 {
			bad(m, "inputTransformer.inputPathsMap", "Member must have length less than or equal to 100")
		}
		var keyBad []string
		longKey, patKey, longValue := false, false, false
		for k, p := range it.InputPathsMap {
			if utf16Len(k) > 256 {
				longKey = true
			}
			if k == "" {
				keyBad = append(keyBad, "Member must have length greater than or equal to 1")
			}
			if !validKey(k) {
				patKey = true
			}
			if utf16Len(p) > 256 {
				longValue = true
			}
		}
		if longKey {
			keyBad = append(keyBad, "Member must have length less than or equal to 256")
		}
		if patKey {
			keyBad = append(keyBad, `Member must satisfy regular expression pattern: [A-Za-z0-9\_\-]+`)
		}
		if len(keyBad) > 0 {
			bad(m, "inputTransformer.inputPathsMap", "Map keys must satisfy constraint: ["+strings.Join(dedup(keyBad), ", ")+"]")
		}
		if longValue {
			bad(m, "inputTransformer.inputPathsMap", "Map value must satisfy constraint: [Member must have length less than or equal to 256]")
		}
		switch n := utf16Len(it.InputTemplate); {
		case n < 1:
			bad(it.InputTemplate, "inputTransformer.inputTemplate", "Member must have length greater than or equal to 1")
		case n > 8192:
			bad(it.InputTemplate, "inputTransformer.inputTemplate", "Member must have length less than or equal to 8192")
		}
	}
	return v
}

func violationsError(v []string) *ValidationError {
	if len(v) == 1 {
		return validationErrorf(msgOneViolation, v[0])
	}
	return validationErrorf("%d validation errors detected: %s", len(v), strings.Join(v, "; "))
}

// validKey reports whether k matches AWS's [A-Za-z0-9\_\-]+ (whole string).
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

func dedup(s []string) []string {
	var out []string
	for _, x := range s {
		found := false
		for _, y := range out {
			found = found || x == y
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}
