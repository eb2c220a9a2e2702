package transform

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Where a placeholder stands decides how its value is written (AWS's rules):
//
//   - ctxValue: a whole value of a JSON template ({"state": <state>}): a
//     string is written quoted, anything else as JSON; a path that selects
//     nothing gives null.
//   - ctxString: inside a string ("<id> is <state>"): a string is written
//     with JSON string escaping and no quotes; an object or array is written
//     compact with the quotes of its strings removed; nothing gives "".
//   - ctxRaw: outside strings in a template that is not JSON (<id> is
//     <state>): a string is written as it is, anything else as compact JSON;
//     nothing gives "".
type ctxKind uint8

const (
	ctxValue ctxKind = iota
	ctxString
	ctxRaw
)

type varKind uint8

const (
	varPath varKind = iota
	varRuleARN
	varRuleName
	varIngestionTime
	varEvent
	varEventJSON
)

// reservedVar says which predefined variable name is, if any.
func reservedVar(name string) (varKind, bool) {
	switch name {
	case VarRuleARN:
		return varRuleARN, true
	case VarRuleName:
		return varRuleName, true
	case VarIngestionTime:
		return varIngestionTime, true
	case VarEvent:
		return varEvent, true
	case VarEventJSON:
		return varEventJSON, true
	}
	return 0, false
}

type variable struct {
	kind varKind
	path path
}

type hole struct {
	v   int // index into template.vars
	ctx ctxKind
}

// template is a compiled InputTemplate: lits[i] comes before holes[i], and
// lits has one more element than holes.
type template struct {
	lits   []string
	holes  []hole
	vars   []variable
	find   *finder
	pathOf []int // for each variable of kind varPath, its index in find
}

// placeholder is one <name> found in a template, at s[start:end].
type placeholder struct {
	start, end int
	name       string
	inString   bool
}

func compileTemplate(id string, it *InputTransformer) (template, error) {
	var tm template
	keys := make([]string, 0, len(it.InputPathsMap))
	for k := range it.InputPathsMap {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	paths := make(map[string]path, len(keys))
	for _, k := range keys {
		p, err := parsePath(it.InputPathsMap[k])
		if err != nil {
			return tm, validationErrorf(msgInvalidPathsMap, id, fmt.Sprintf("key '%s': %v", k, err))
		}
		paths[k] = p
	}

	s := it.InputTemplate
	phs := findPlaceholders(s)
	for _, ph := range phs {
		if _, ok := paths[ph.name]; !ok {
			if _, ok := reservedVar(ph.name); !ok {
				return tm, validationErrorf(msgInvalidPlaceholder, id, ph.name)
			}
		}
	}

	trimmed := strings.TrimLeft(s, " \t\r\n")
	isJSON := trimmed != "" && (trimmed[0] == '{' || trimmed[0] == '[')
	if isJSON {
		c := checker{s: s, holes: map[int]int{}}
		for _, ph := range phs {
			if !ph.inString {
				c.holes[ph.start] = ph.end
			}
		}
		if off := c.check(); off >= 0 {
			line, col := lineCol(s, off)
			return tm, validationErrorf(msgInvalidTemplate, id, jacksonLocation(s, line, col))
		}
	}

	index := map[string]int{}
	last := 0
	for _, ph := range phs {
		v, ok := index[ph.name]
		if !ok {
			v = len(tm.vars)
			index[ph.name] = v
			if k, reserved := reservedVar(ph.name); reserved {
				tm.vars = append(tm.vars, variable{kind: k})
			} else {
				tm.vars = append(tm.vars, variable{kind: varPath, path: paths[ph.name]})
			}
		}
		ctx := ctxRaw
		switch {
		case ph.inString:
			ctx = ctxString
		case isJSON:
			ctx = ctxValue
		}
		tm.lits = append(tm.lits, s[last:ph.start])
		tm.holes = append(tm.holes, hole{v: v, ctx: ctx})
		last = ph.end
	}
	tm.lits = append(tm.lits, s[last:])
	var used []path
	tm.pathOf = make([]int, len(tm.vars))
	for i, v := range tm.vars {
		if v.kind == varPath {
			tm.pathOf[i] = len(used)
			used = append(used, v.path)
		}
	}
	if len(used) > 0 {
		tm.find = newFinder(used)
	}
	return tm, nil
}

// findPlaceholders returns the <name> placeholders of template s in order,
// each with whether it stands inside a double-quoted string.
func findPlaceholders(s string) []placeholder {
	var phs []placeholder
	inString := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case c == '<':
			j := i + 1
			for j < len(s) && isPlaceholderByte(s[j]) {
				j++
			}
			if j > i+1 && j < len(s) && s[j] == '>' {
				phs = append(phs, placeholder{start: i, end: j + 1, name: s[i+1 : j], inString: inString})
				i = j
			}
		}
	}
	return phs
}

func isPlaceholderByte(c byte) bool {
	return c > ' ' && c != '<' && c != '>' && c != '"' && c != '\\' && c != 0x7f
}

type valueKind uint8

const (
	valMissing valueKind = iota
	valJSON              // raw holds a JSON value
	valText              // str holds a plain string
	valTime              // time holds a time, written as IngestionTimeLayout
)

type value struct {
	kind valueKind
	raw  []byte
	str  string
	time time.Time
}

func (t *template) apply(event []byte, c *Context) ([]byte, error) {
	var buf [8]value
	vals := buf[:0]
	if len(t.vars) > len(buf) {
		vals = make([]value, 0, len(t.vars))
	}
	var spanBuf [8]span
	spans := spanBuf[:0]
	if t.find != nil {
		if t.find.paths > len(spanBuf) {
			spans = make([]span, t.find.paths)
		} else {
			spans = spanBuf[:t.find.paths]
		}
		if err := t.find.find(event, spans); err != nil {
			return nil, err
		}
	}
	size := 0
	for i, v := range t.vars {
		var val value
		switch v.kind {
		case varPath:
			if sp := spans[t.pathOf[i]]; sp.ok {
				val = value{kind: valJSON, raw: event[sp.start:sp.end]}
			}
		case varRuleARN:
			val = value{kind: valText, str: c.RuleARN}
		case varRuleName:
			val = value{kind: valText, str: c.RuleName}
		case varIngestionTime:
			val = value{kind: valTime, time: c.IngestionTime}
		case varEventJSON:
			raw := bytes.TrimSpace(event)
			if _, err := skipValue(raw, 0); err != nil {
				return nil, err
			}
			val = value{kind: valJSON, raw: raw}
		case varEvent:
			raw, err := appendWithoutMember(nil, event, "detail")
			if err != nil {
				return nil, err
			}
			val = value{kind: valJSON, raw: raw}
		}
		size += len(val.raw) + len(val.str) + len(IngestionTimeLayout)
		vals = append(vals, val)
	}
	for _, l := range t.lits {
		size += len(l)
	}
	// size counts each variable once, but a template may repeat one many
	// times: the output is checked against the bound as it grows, so no
	// more than MaxOutputBytes and one value is ever built (in a buffer of
	// at most about three times the bound, as it grows by doubling).
	out := make([]byte, 0, min(size, MaxOutputBytes)+16)
	for i, h := range t.holes {
		out = append(out, t.lits[i]...)
		out = render(out, vals[h.v], h.ctx)
		if len(out) > MaxOutputBytes {
			return nil, &OutputTooLargeError{AtLeast: len(out)}
		}
	}
	out = append(out, t.lits[len(t.lits)-1]...)
	if len(out) > MaxOutputBytes {
		return nil, &OutputTooLargeError{AtLeast: len(out)}
	}
	return out, nil
}

func render(dst []byte, v value, ctx ctxKind) []byte {
	switch v.kind {
	case valMissing:
		if ctx == ctxValue {
			return append(dst, "null"...)
		}
		return dst
	case valText:
		return renderText(dst, v.str, ctx)
	case valTime:
		// The layout holds nothing to escape.
		if ctx == ctxValue {
			dst = append(dst, '"')
			dst = v.time.UTC().AppendFormat(dst, IngestionTimeLayout)
			return append(dst, '"')
		}
		return v.time.UTC().AppendFormat(dst, IngestionTimeLayout)
	}
	raw := v.raw
	switch raw[0] {
	case '"':
		inner := raw[1 : len(raw)-1]
		switch ctx {
		case ctxValue:
			if !containsByte(inner, '\\') {
				return append(dst, raw...)
			}
			dst = append(dst, '"')
			dst = appendStringContent(dst, inner)
			return append(dst, '"')
		case ctxString:
			return appendStringContent(dst, inner)
		}
		return appendUnescaped(dst, inner)
	case '{', '[':
		if ctx == ctxString {
			return appendStripped(dst, raw)
		}
		return appendCompact(dst, raw)
	}
	return append(dst, raw...)
}

func renderText(dst []byte, s string, ctx ctxKind) []byte {
	switch ctx {
	case ctxValue:
		dst = append(dst, '"')
		dst = appendEscaped(dst, s)
		return append(dst, '"')
	case ctxString:
		return appendEscaped(dst, s)
	}
	return append(dst, s...)
}

// appendWithoutMember appends the object event, compact, without its member
// name.
func appendWithoutMember(dst, event []byte, name string) ([]byte, error) {
	i := skipWS(event, 0)
	if i >= len(event) || event[i] != '{' {
		return nil, ErrMalformedEvent
	}
	dst = append(dst, '{')
	first := true
	i = skipWS(event, i+1)
	if i < len(event) && event[i] == '}' {
		return append(dst, '}'), nil
	}
	for {
		if i >= len(event) || event[i] != '"' {
			return nil, ErrMalformedEvent
		}
		kend, err := skipString(event, i)
		if err != nil {
			return nil, err
		}
		key := event[i:kend]
		i = skipWS(event, kend)
		if i >= len(event) || event[i] != ':' {
			return nil, ErrMalformedEvent
		}
		i = skipWS(event, i+1)
		vend, err := skipValue(event, i)
		if err != nil {
			return nil, err
		}
		if !rawKeyIs(key[1:len(key)-1], name) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, key...)
			dst = append(dst, ':')
			dst = appendCompact(dst, event[i:vend])
		}
		i = skipWS(event, vend)
		if i >= len(event) {
			return nil, ErrMalformedEvent
		}
		switch event[i] {
		case ',':
			i = skipWS(event, i+1)
		case '}':
			return append(dst, '}'), nil
		default:
			return nil, ErrMalformedEvent
		}
	}
}

// mapString writes a map the way AWS's validation messages show one
// ({k=v, k2=v2}), keys sorted.
func mapString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	b.WriteByte('}')
	return b.String()
}
