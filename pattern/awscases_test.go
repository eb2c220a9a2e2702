package pattern

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// awsCase is one case of testdata/eventbridge-patterns.json, recorded against
// AWS EventBridge's TestEventPattern (see testdata/README.md).
type awsCase struct {
	Name        string          `json:"name"`
	Event       json.RawMessage `json:"event"`
	EventText   *string         `json:"event_text"`
	Pattern     json.RawMessage `json:"pattern"`
	PatternText *string         `json:"pattern_text"`
	Expect      json.RawMessage `json:"expect"`
}

func (c awsCase) pattern() []byte {
	if c.PatternText != nil {
		return []byte(*c.PatternText)
	}
	return c.Pattern
}

func (c awsCase) event() []byte {
	if c.EventText != nil {
		return []byte(*c.EventText)
	}
	return c.Event
}

// expectation is "match", "nomatch", or an error code and message prefix.
func (c awsCase) expectation(t *testing.T) (outcome, code, message string) {
	t.Helper()
	if err := json.Unmarshal(c.Expect, &outcome); err == nil {
		return outcome, "", ""
	}
	var e struct{ Error, Message string }
	if err := json.Unmarshal(c.Expect, &e); err != nil {
		t.Fatalf("bad expect %s: %v", c.Expect, err)
	}
	return "error", e.Error, e.Message
}

func loadAWSCases(t testing.TB) []awsCase {
	t.Helper()
	data, err := os.ReadFile("testdata/eventbridge-patterns.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []awsCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestAWSCases runs every recorded AWS case: errors through parse and
// CheckEvent (AWS's message must be a prefix of ours), match and nomatch
// through the reference evaluator; and every case through Test (the compiled
// matcher), which must give the same outcome or the same error.
func TestAWSCases(t *testing.T) {
	cases := loadAWSCases(t)
	if len(cases) != 84 {
		t.Errorf("got %d cases, want the 84 recorded", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			outcome, code, message := c.expectation(t)
			_, perr := parse(c.pattern())
			eerr := CheckEvent(c.event())
			switch outcome {
			case "error":
				var err error
				switch code {
				case "InvalidEventPatternException":
					var ip *InvalidPatternError
					if !errors.As(perr, &ip) {
						t.Fatalf("parse(%s) = %v, want an *InvalidPatternError", c.pattern(), perr)
					}
					if strings.HasSuffix(message, "Reason: ") && ip.Reason == "" {
						t.Errorf("parse(%s): empty reason", c.pattern())
					}
					err = perr
				case "ValidationException":
					if perr != nil {
						t.Fatalf("parse(%s): %v", c.pattern(), perr)
					}
					var ie *InvalidEventError
					if !errors.As(eerr, &ie) {
						t.Fatalf("CheckEvent(%s) = %v, want an *InvalidEventError", c.event(), eerr)
					}
					err = eerr
				default:
					t.Fatalf("unknown error code %q", code)
				}
				if !strings.HasPrefix(err.Error(), message) {
					t.Errorf("error %q\nwant prefix %q", err.Error(), message)
				}
				if _, terr := Test(c.pattern(), c.event()); terr == nil || terr.Error() != err.Error() {
					t.Errorf("Test: error %v, want %v", terr, err)
				}
			case "match", "nomatch":
				if perr != nil {
					t.Fatalf("parse(%s): %v", c.pattern(), perr)
				}
				if eerr != nil {
					t.Fatalf("CheckEvent(%s): %v", c.event(), eerr)
				}
				p, err := decodeJSON(c.pattern())
				if err != nil {
					t.Fatal(err)
				}
				e, err := decodeJSON(c.event())
				if err != nil {
					t.Fatal(err)
				}
				if got := refMatch(p, e); got != (outcome == "match") {
					t.Errorf("refMatch = %v, want %s", got, outcome)
				}
				got, err := Test(c.pattern(), c.event())
				if err != nil {
					t.Fatalf("Test: %v", err)
				}
				if got != (outcome == "match") {
					t.Errorf("Test = %v, want %s", got, outcome)
				}
			default:
				t.Fatalf("unknown expectation %q", outcome)
			}
		})
	}
}
