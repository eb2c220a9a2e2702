package schedule

import (
	"strings"
	"time"
)

// Year bounds of the cron year field.
const (
	MinYear = 1970
	MaxYear = 2199
)

// bitset holds the allowed values of a field, as offsets from its low
// bound (years need 230 bits).
type bitset [4]uint64

func (b *bitset) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b *bitset) has(i int) bool { return i >= 0 && i < 256 && b[i>>6]&(1<<(i&63)) != 0 }

// field is a plain cron field: its bounds and allowed values.
type field struct {
	lo, hi int
	bits   bitset
}

func (f *field) has(v int) bool { return f.bits.has(v - f.lo) }

// Day-of-month kinds.
const (
	domAny         = iota // '?': day-of-week decides
	domSet                // values, ranges, steps
	domLast               // L
	domLastWeekday        // LW
	domNearest            // nW
)

// Day-of-week kinds.
const (
	dowAny  = iota // '?': day-of-month decides
	dowSet         // values, ranges, steps
	dowLast        // nL: the last weekday n of the month (L alone is Saturday, a set)
	dowNth         // n#k
)

// Cron is a cron(…) schedule.
type Cron struct {
	expr    string
	minute  field
	hour    field
	month   field
	year    field
	domKind int
	dom     field
	domN    int // nW
	dowKind int
	dow     field
	dowN    int // nL, n#k: the weekday (1-7)
	dowK    int // n#k: k
}

var monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
var dayNames = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

func parseCron(expr string) (*Cron, error) {
	body := expr[len("cron(") : len(expr)-1]
	parts := strings.Split(body, " ")
	if len(parts) != 6 {
		return nil, invalid(expr, "want six fields separated by single spaces")
	}
	c := &Cron{expr: expr}
	var err error
	if c.minute, err = parseField(expr, parts[0], 0, 59, nil, true); err != nil {
		return nil, err
	}
	if c.hour, err = parseField(expr, parts[1], 0, 23, nil, true); err != nil {
		return nil, err
	}
	if c.month, err = parseField(expr, parts[3], 1, 12, monthNames, true); err != nil {
		return nil, err
	}
	if c.year, err = parseField(expr, parts[5], MinYear, MaxYear, nil, false); err != nil {
		return nil, err
	}
	domQ, dowQ := parts[2] == "?", parts[4] == "?"
	if domQ == dowQ {
		return nil, invalid(expr, "exactly one of day-of-month and day-of-week must be '?'")
	}
	if !domQ {
		if err := c.parseDOM(expr, parts[2]); err != nil {
			return nil, err
		}
	}
	if !dowQ {
		if err := c.parseDOW(expr, parts[4]); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Cron) parseDOM(expr, s string) error {
	switch {
	case s == "L":
		c.domKind = domLast
		return nil
	case s == "LW":
		c.domKind = domLastWeekday
		return nil
	case strings.HasSuffix(s, "W"):
		n, ok := number(s[:len(s)-1], nil, 1)
		if !ok || n < 1 || n > 31 {
			return invalid(expr, "day-of-month %q: nW needs a day 1-31", s)
		}
		c.domKind, c.domN = domNearest, n
		return nil
	}
	f, err := parseField(expr, s, 1, 31, nil, true)
	if err != nil {
		return err
	}
	c.domKind, c.dom = domSet, f
	return nil
}

func (c *Cron) parseDOW(expr, s string) error {
	if s == "L" { // the last day of the week: Saturday
		c.dowKind = dowSet
		c.dow = field{lo: 1, hi: 7}
		c.dow.bits.set(7 - 1)
		return nil
	}
	if d, k, ok := strings.Cut(s, "#"); ok {
		n, ok1 := number(d, dayNames, 1)
		kk, ok2 := number(k, nil, 1)
		if !ok1 || !ok2 || n < 1 || n > 7 || kk < 1 || kk > 5 {
			return invalid(expr, "day-of-week %q: n#k needs a day 1-7 (or SUN-SAT) and k 1-5", s)
		}
		c.dowKind, c.dowN, c.dowK = dowNth, n, kk
		return nil
	}
	if len(s) > 1 && strings.HasSuffix(s, "L") {
		n, ok := number(s[:len(s)-1], dayNames, 1)
		if !ok || n < 1 || n > 7 {
			return invalid(expr, "day-of-week %q: nL needs a day 1-7 (or SUN-SAT)", s)
		}
		c.dowKind, c.dowN = dowLast, n
		return nil
	}
	f, err := parseField(expr, s, 1, 7, dayNames, true)
	if err != nil {
		return err
	}
	c.dowKind, c.dow = dowSet, f
	return nil
}

// parseField parses a comma-separated list of *, values, ranges (wrapping
// when wrap allows it) and steps.
func parseField(expr, s string, lo, hi int, names []string, wrap bool) (field, error) {
	f := field{lo: lo, hi: hi}
	if s == "" {
		return f, invalid(expr, "empty field")
	}
	for item := range strings.SplitSeq(s, ",") {
		rng, stepStr, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, ok := number(stepStr, nil, 0)
			if !ok || n < 1 || n > hi-lo+1 {
				return f, invalid(expr, "field %q: bad step %q", s, stepStr)
			}
			step = n
		}
		var from, to int
		switch {
		case rng == "*":
			from, to = lo, hi
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			x, ok1 := number(a, names, lo)
			y, ok2 := number(b, names, lo)
			if !ok1 || !ok2 || x < lo || x > hi || y < lo || y > hi {
				return f, invalid(expr, "field %q: bad range %q (values %d-%d)", s, rng, lo, hi)
			}
			if y < x && !wrap {
				return f, invalid(expr, "field %q: range %q ends before it starts", s, rng)
			}
			from, to = x, y
		default:
			x, ok := number(rng, names, lo)
			if !ok || x < lo || x > hi {
				return f, invalid(expr, "field %q: bad value %q (values %d-%d)", s, rng, lo, hi)
			}
			from, to = x, x
			if hasStep {
				to = hi
			}
		}
		// Walk from..to (wrapping past hi to lo) by step.
		n := to - from
		if n < 0 {
			n += hi - lo + 1
		}
		for i := 0; i <= n; i += step {
			v := from + i
			if v > hi {
				v -= hi - lo + 1
			}
			f.bits.set(v - lo)
		}
	}
	return f, nil
}

// number parses a decimal number (at most four digits, no sign) or, when
// names is set, a name (any case) whose index plus base is its value.
func number(s string, names []string, base int) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	if names != nil && len(s) == 3 {
		for i, n := range names {
			if strings.EqualFold(s, n) {
				return i + base, true
			}
		}
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// String returns the cron(…) expression.
func (c *Cron) String() string { return c.expr }

// Next returns the first minute after after (in UTC) that the expression
// selects, or the zero time when there is none up to the end of MaxYear.
func (c *Cron) Next(after time.Time) time.Time {
	t := after.UTC().Truncate(time.Minute).Add(time.Minute)
	if t.Year() < MinYear {
		t = time.Date(MinYear, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	for t.Year() <= MaxYear {
		y, m, d := t.Date()
		switch {
		case !c.year.has(y):
			t = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
		case !c.month.has(int(m)):
			t = time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
		case !c.dayMatches(y, m, d):
			t = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
		case !c.hour.has(t.Hour()):
			t = time.Date(y, m, d, t.Hour()+1, 0, 0, 0, time.UTC)
		case !c.minute.has(t.Minute()):
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// awsWeekday numbers weekdays as AWS does: SUN=1 … SAT=7.
func awsWeekday(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) + 1
}

func (c *Cron) dayMatches(y int, m time.Month, d int) bool {
	last := daysIn(y, m)
	switch c.domKind {
	case domSet:
		return c.dom.has(d)
	case domLast:
		return d == last
	case domLastWeekday:
		return d == weekdayNear(y, m, last, last)
	case domNearest:
		return c.domN <= last && d == weekdayNear(y, m, c.domN, last)
	}
	wd := awsWeekday(y, m, d)
	switch c.dowKind {
	case dowSet:
		return c.dow.has(wd)
	case dowLast:
		return wd == c.dowN && d+7 > last
	case dowNth:
		return wd == c.dowN && (d-1)/7+1 == c.dowK
	}
	return false
}

// weekdayNear returns the weekday (Monday to Friday) nearest day n of the
// month, without leaving the month.
func weekdayNear(y int, m time.Month, n, last int) int {
	switch awsWeekday(y, m, n) {
	case 7: // Saturday: Friday, or Monday when the 1st
		if n == 1 {
			return 3
		}
		return n - 1
	case 1: // Sunday: Monday, or Friday when the last day
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}
