package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error of Parse: the expression is not one
// EventBridge accepts.
var ErrInvalid = errors.New("schedule: invalid schedule expression")

// A Schedule says when a scheduled rule fires.
type Schedule interface {
	// Next returns the first firing strictly after after, in UTC, or the
	// zero time when the schedule never fires again.
	Next(after time.Time) time.Time
	// String returns the expression the schedule was parsed from.
	String() string
}

// Parse parses a ScheduleExpression: rate(value unit) or cron(six fields).
// See the package documentation for the exact forms.
func Parse(expr string) (Schedule, error) {
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		return parseRate(expr)
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		return parseCron(expr)
	}
	return nil, invalid(expr, "not rate(…) or cron(…)")
}

func invalid(expr, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalid, expr, fmt.Sprintf(format, args...))
}

// Rate is a rate(value unit) schedule: it fires every Every, at
// Anchor + k·Every for k ≥ 1.
type Rate struct {
	// Value and Unit are the expression's (Unit as written: "minute",
	// "hours"…).
	Value int
	Unit  string
	// Every is Value units.
	Every time.Duration
	// Anchor is the time the rate counts from (the rule's creation,
	// to the minute); the zero value means the Unix epoch.
	Anchor time.Time

	expr string
}

// maxRate bounds a rate's period so that every computation on it stays
// far from time.Duration's limits (about 292 years).
const maxRate = 100 * 365 * 24 * time.Hour

func parseRate(expr string) (*Rate, error) {
	body := expr[len("rate(") : len(expr)-1]
	num, unit, ok := strings.Cut(body, " ")
	if !ok {
		return nil, invalid(expr, "want rate(value unit)")
	}
	if num == "" || len(num) > 9 {
		return nil, invalid(expr, "value must be a positive integer")
	}
	v := 0
	for i := 0; i < len(num); i++ {
		c := num[i]
		if c < '0' || c > '9' {
			return nil, invalid(expr, "value must be a positive integer")
		}
		v = v*10 + int(c-'0')
	}
	if v < 1 {
		return nil, invalid(expr, "value must be at least 1")
	}
	var per time.Duration
	switch unit {
	case "minute", "minutes":
		per = time.Minute
	case "hour", "hours":
		per = time.Hour
	case "day", "days":
		per = 24 * time.Hour
	default:
		return nil, invalid(expr, "unit must be minute(s), hour(s) or day(s)")
	}
	if plural := strings.HasSuffix(unit, "s"); plural == (v == 1) {
		return nil, invalid(expr, "the unit is singular exactly when the value is 1")
	}
	if time.Duration(v) > maxRate/per {
		return nil, invalid(expr, "the period is too long")
	}
	return &Rate{Value: v, Unit: unit, Every: time.Duration(v) * per, expr: expr}, nil
}

// String returns the rate(value unit) expression as it was written.
func (r *Rate) String() string {
	if r.expr == "" {
		return fmt.Sprintf("rate(%d %s)", r.Value, r.Unit)
	}
	return r.expr
}

// Next returns the first Anchor + k·Every (k ≥ 1) after after.
func (r *Rate) Next(after time.Time) time.Time {
	a := r.Anchor
	if a.IsZero() {
		a = time.Unix(0, 0)
	}
	a = a.UTC()
	if after.Before(a) {
		return a.Add(r.Every)
	}
	// Work in whole periods from the anchor without overflowing Duration
	// when after is centuries away from it.
	d := after.Sub(a)
	if d == 1<<63-1 { // saturated: after is more than ~292 years on
		return time.Time{}
	}
	k := d/r.Every + 1
	return a.Add(k * r.Every)
}

// WithAnchor returns s anchored at t (truncated to the minute) when s is a
// rate; other schedules are returned as they are.
func WithAnchor(s Schedule, t time.Time) Schedule {
	r, ok := s.(*Rate)
	if !ok {
		return s
	}
	c := *r
	c.Anchor = t.UTC().Truncate(time.Minute)
	return &c
}
