package function

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Spec is a local function: a name and the command that runs it.
type Spec struct {
	// Name is the function's name, the last part of its ARN.
	Name string
	// Command is the program and its arguments (no shell involved).
	Command []string
	// Timeout bounds one invocation (0: Config.Timeout).
	Timeout time.Duration
	// Concurrency bounds the invocations running at once (0:
	// Config.Concurrency).
	Concurrency int
}

// ParseSpec parses NAME=COMMAND, as `conveyor serve --function` takes it.
// COMMAND is split into words as a shell would split it, without running a
// shell: words are separated by blanks, '…' quotes literally, "…" quotes
// with \" and \\ escapes, and a backslash outside quotes escapes the next
// character. Nothing else is special: no variables, globs, pipes or
// redirections (write a script for those).
func ParseSpec(s string) (Spec, error) {
	name, cmd, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return Spec{}, fmt.Errorf("function %q: want NAME=COMMAND", s)
	}
	name = strings.TrimSpace(name)
	if !ValidName(name) {
		return Spec{}, fmt.Errorf("function %q: the name must be 1 to 64 letters, digits, '-' or '_'", name)
	}
	words, err := SplitWords(cmd)
	if err != nil {
		return Spec{}, fmt.Errorf("function %s: %w", name, err)
	}
	if len(words) == 0 {
		return Spec{}, fmt.Errorf("function %s: the command is empty", name)
	}
	return Spec{Name: name, Command: words}, nil
}

// ParseSpecs parses a list of NAME=COMMAND entries separated by newlines or
// by ';' outside quotes (the form of the CONVEYOR_FUNCTION environment
// variable). Empty entries are skipped.
func ParseSpecs(s string) ([]Spec, error) {
	var specs []Spec
	for _, entry := range splitList(s) {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		sp, err := ParseSpec(entry)
		if err != nil {
			return nil, err
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// splitList splits s at newlines and at ';' outside quotes, keeping quotes
// and escapes in the pieces for SplitWords.
func splitList(s string) []string {
	var out []string
	start := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			}
		case quote == '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				quote = 0
			}
		case c == '\\':
			i++
		case c == '\'' || c == '"':
			quote = c
		case c == ';' || c == '\n':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

var errUnclosed = errors.New("unclosed quote in command")

// SplitWords splits a command line into words; see [ParseSpec] for the
// rules.
func SplitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			}
		case '\'':
			inWord = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errUnclosed
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				w.WriteByte(s[i])
			}
			if !closed {
				return nil, errUnclosed
			}
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
