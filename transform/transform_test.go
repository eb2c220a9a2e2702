package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of testdata/*.txtar")

// A case file (testdata/*.txtar) holds an event, optionally a context, and
// any number of specs, each followed by what it must give:
//
//	-- event.json --        the matched event
//	-- context.json --      {"RuleName", "RuleARN", "IngestionTime"} (optional)
//	-- spec NAME --         a target as PutTargets takes it: {"Id", "Input",
//	                        "InputPath", "InputTransformer": {"InputPathsMap",
//	                        "InputTemplate"}}
//	-- out NAME --          the bytes the target receives, or
//	-- err NAME --          the ValidationError's message
//
// Sections end with a newline that is not part of the output.
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.txtar")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runCaseFile(t, file)
		})
	}
}

type targetJSON struct {
	ID               string  `json:"Id"`
	Input            *string `json:"Input"`
	InputPath        *string `json:"InputPath"`
	InputTransformer *struct {
		InputPathsMap map[string]string `json:"InputPathsMap"`
		InputTemplate string            `json:"InputTemplate"`
	} `json:"InputTransformer"`
}

func (tj targetJSON) spec() Spec {
	s := Spec{TargetID: tj.ID, Input: tj.Input, InputPath: tj.InputPath}
	if tj.InputTransformer != nil {
		s.InputTransformer = &InputTransformer{
			InputPathsMap: tj.InputTransformer.InputPathsMap,
			InputTemplate: tj.InputTransformer.InputTemplate,
		}
	}
	return s
}

var defaultContext = Context{
	RuleName:      "my-rule",
	RuleARN:       "arn:aws:events:us-east-1:123456789012:rule/my-rule",
	IngestionTime: time.Date(2015, 11, 11, 21, 29, 55, 0, time.UTC),
}

func runCaseFile(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ar := parseArchive(data)
	event := ar.get("event.json")
	if event == nil {
		t.Fatal("no event.json section")
	}
	ctx := defaultContext
	if c := ar.get("context.json"); c != nil {
		if err := json.Unmarshal(c, &ctx); err != nil {
			t.Fatalf("context.json: %v", err)
		}
	}
	var updated []section
	for _, sec := range ar.sections {
		name, ok := strings.CutPrefix(sec.name, "spec ")
		if !ok {
			if !strings.HasPrefix(sec.name, "out ") && !strings.HasPrefix(sec.name, "err ") {
				updated = append(updated, sec)
			}
			continue
		}
		updated = append(updated, sec)
		kind, got := runSpec(t, name, sec.data, event, ctx)
		if *update {
			updated = append(updated, section{name: kind + " " + name, data: got})
			continue
		}
		want, wantKind := ar.get("out "+name), "out"
		if want == nil {
			want, wantKind = ar.get("err "+name), "err"
		}
		switch {
		case want == nil:
			t.Errorf("%s: no out or err section; got %s:\n%s", name, kind, got)
		case wantKind != kind || !bytes.Equal(want, got):
			t.Errorf("%s:\ngot %s:\n%s\nwant %s:\n%s", name, kind, got, wantKind, want)
		}
	}
	if *update {
		ar.sections = updated
		if err := os.WriteFile(file, ar.format(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runSpec compiles and applies one spec and says what came of it: "out" and
// the output, or "err" and the error message.
func runSpec(t *testing.T, name string, specJSON, event []byte, ctx Context) (string, []byte) {
	t.Helper()
	var tj targetJSON
	dec := json.NewDecoder(bytes.NewReader(specJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tj); err != nil {
		t.Fatalf("%s: spec: %v", name, err)
	}
	spec := tj.spec()
	tr, err := Compile(spec)
	if err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: Compile error %T is not a *ValidationError: %v", name, err, err)
		}
		return "err", []byte(err.Error())
	}
	out, err := tr.Apply(event, ctx)
	if err != nil {
		t.Errorf("%s: Apply: %v", name, err)
		return "out", []byte("APPLY ERROR: " + err.Error())
	}
	if mustBeJSON(spec) && !json.Valid(out) {
		t.Errorf("%s: output is not valid JSON:\n%s", name, out)
	}
	return "out", out
}

// mustBeJSON reports whether every output of spec must be JSON text: Input,
// InputPath and templates that are JSON.
func mustBeJSON(s Spec) bool {
	if s.InputTransformer == nil {
		return true
	}
	tpl := strings.TrimSpace(s.InputTransformer.InputTemplate)
	return strings.HasPrefix(tpl, "{") || strings.HasPrefix(tpl, "[")
}

type section struct {
	name string
	data []byte
}

// archive is a txtar-formatted file: a comment, then sections introduced by
// "-- NAME --" lines.
type archive struct {
	comment  []byte
	sections []section
}

func parseArchive(data []byte) *archive {
	ar := &archive{}
	var cur *section
	var body []byte
	flush := func() {
		if cur == nil {
			ar.comment = body
		} else {
			cur.data = bytes.TrimSuffix(body, []byte("\n"))
			ar.sections = append(ar.sections, *cur)
		}
		body = nil
	}
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		if name, ok := markerName(line); ok {
			flush()
			cur = &section{name: name}
			continue
		}
		body = append(body, line...)
		body = append(body, '\n')
	}
	flush()
	return ar
}

func markerName(line []byte) (string, bool) {
	s := string(line)
	if !strings.HasPrefix(s, "-- ") || !strings.HasSuffix(s, " --") || len(s) < 7 {
		return "", false
	}
	return strings.TrimSpace(s[3 : len(s)-3]), true
}

// get returns the data of section name, non-nil when the section exists.
func (ar *archive) get(name string) []byte {
	for _, s := range ar.sections {
		if s.name == name {
			if s.data == nil {
				return []byte{}
			}
			return s.data
		}
	}
	return nil
}

func (ar *archive) format() []byte {
	var b bytes.Buffer
	b.Write(ar.comment)
	for _, s := range ar.sections {
		fmt.Fprintf(&b, "-- %s --\n", s.name)
		b.Write(s.data)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
