package schedule

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestParseTable checks every expression of testdata/expressions.txt.
func TestParseTable(t *testing.T) {
	f, err := os.Open("testdata/expressions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		verdict, expr, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		n++
		s, err := Parse(expr)
		switch verdict {
		case "valid":
			if err != nil {
				t.Errorf("Parse(%q): %v, want valid", expr, err)
				continue
			}
			if s.String() != expr {
				t.Errorf("Parse(%q).String() = %q", expr, s.String())
			}
			if s.Next(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)).IsZero() && !strings.Contains(expr, "31 2") {
				t.Errorf("Parse(%q) never fires", expr)
			}
		case "invalid":
			if err == nil {
				t.Errorf("Parse(%q) accepted it, want invalid", expr)
			} else if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q): %v does not wrap ErrInvalid", expr, err)
			}
		default:
			t.Fatalf("bad verdict in %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("only %d cases read", n)
	}
}

// TestNextTable checks the firings of testdata/next.txt.
func TestNextTable(t *testing.T) {
	data, err := os.ReadFile("testdata/next.txt")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			t.Fatalf("bad line %q", line)
		}
		expr := strings.TrimSpace(parts[0])
		s, err := Parse(expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(parts[1]))
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		for _, want := range strings.Fields(parts[2]) {
			got := s.Next(at)
			if want == "never" {
				if !got.IsZero() {
					t.Errorf("%s after %s = %s, want never", expr, at.Format(time.RFC3339), got.Format(time.RFC3339))
				}
				break
			}
			w, err := time.Parse(time.RFC3339, want)
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if !got.Equal(w) {
				t.Errorf("%s after %s = %s, want %s", expr, at.Format(time.RFC3339), got.Format(time.RFC3339), want)
				break
			}
			if got.Location() != time.UTC {
				t.Errorf("%s: Next is not in UTC", expr)
			}
			at = got
		}
	}
}

func TestRateAnchor(t *testing.T) {
	s, err := Parse("rate(5 minutes)")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 26, 10, 2, 40, 0, time.UTC)
	a := WithAnchor(s, created)
	tests := []struct{ after, want time.Time }{
		{created, time.Date(2026, 11, 26, 10, 7, 0, 0, time.UTC)},
		{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 10, 7, 0, 0, time.UTC)},
		{time.Date(2026, 11, 26, 10, 7, 0, 0, time.UTC), time.Date(2026, 11, 26, 10, 12, 0, 0, time.UTC)},
		{time.Date(2026, 11, 27, 10, 6, 59, 0, time.UTC), time.Date(2026, 11, 27, 10, 7, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if got := a.Next(tt.after); !got.Equal(tt.want) {
			t.Errorf("Next(%s) = %s, want %s", tt.after, got, tt.want)
		}
	}
	if s.Next(created).Equal(a.Next(created)) {
		t.Error("WithAnchor did not move the rate")
	}
	c, _ := Parse("cron(0 10 * * ? *)")
	if WithAnchor(c, created) != c {
		t.Error("WithAnchor changed a cron schedule")
	}
}

// FuzzParse: Parse never panics; what it accepts prints back as itself,
// and Next moves strictly forward, on whole minutes, within the years.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"rate(5 minutes)", "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 0 LW * ? 2020/5)",
		"cron(0 9 ? * 2#1 *)", "cron(0 0 ? * 6L *)", "cron(0 22-2 15W NOV-FEB ? *)"} {
		f.Add(s, int64(1795000000))
	}
	f.Fuzz(func(t *testing.T, expr string, at int64) {
		s, err := Parse(expr)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): %v does not wrap ErrInvalid", expr, err)
			}
			return
		}
		if s.String() != expr {
			t.Fatalf("Parse(%q).String() = %q", expr, s.String())
		}
		after := time.Unix(at%(1<<33), 0).UTC() // 1697 to 2242
		prev := after
		for range 3 {
			n := s.Next(prev)
			if n.IsZero() {
				return
			}
			if !n.After(prev) || n.Second() != 0 || n.Nanosecond() != 0 {
				t.Fatalf("%s: Next(%s) = %s", expr, prev, n)
			}
			if _, isCron := s.(*Cron); isCron && (n.Year() < MinYear || n.Year() > MaxYear) {
				t.Fatalf("%s: Next(%s) = %s, outside the years", expr, prev, n)
			}
			prev = n
		}
	})
}
