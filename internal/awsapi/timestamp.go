package awsapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Timestamp is a time on the AWS JSON wire: epoch seconds as a JSON number, fractional allowed
// (the SDKs send 1704164645.5). It marshals with millisecond precision, without trailing zeros.
// The zero Timestamp marshals as null; use `json:",omitzero"` to leave it out.
type Timestamp struct{ time.Time }

// NewTimestamp wraps t.
func NewTimestamp(t time.Time) Timestamp { return Timestamp{t} }

// TimestampPtr returns a pointer to a Timestamp of t (for optional output members).
func TimestampPtr(t time.Time) *Timestamp { return &Timestamp{t} }

// MarshalJSON writes epoch seconds, e.g. 1704164645.5.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return t.AppendJSON(nil), nil
}

// AppendJSON appends the epoch-seconds number to b.
func (t Timestamp) AppendJSON(b []byte) []byte {
	ms := t.UnixMilli()
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec--
		frac += 1000
	}
	if sec < 0 && frac != 0 {
		// Negative fractional times are rare enough to format through float.
		return strconv.AppendFloat(b, float64(ms)/1000, 'f', -1, 64)
	}
	b = strconv.AppendInt(b, sec, 10)
	if frac != 0 {
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	return b
}

// UnmarshalJSON accepts a JSON number of epoch seconds (integer, fraction or exponent form)
// or null. Anything else is a SerializationException.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if s == "null" {
		return nil
	}
	v, err := ParseEpochSeconds(s)
	if err != nil {
		return &Error{Code: CodeSerializationException, Message: err.Error(), Status: StatusOf(CodeSerializationException)}
	}
	t.Time = v
	return nil
}

// The range of times ParseEpochSeconds accepts: what RFC 3339 can write
// (years 0000 to 9999), since every time Conveyor takes in is written back
// as one (a CloudTrail record's eventTime, an event's "time"). A number
// outside it is a SerializationException; a time inside it that an
// operation cannot use is that operation's validation error (LookupEvents'
// InvalidTimeRangeException, StartReplay's ValidationException).
const (
	minEpochSeconds = -62167219200 // 0000-01-01T00:00:00Z
	maxEpochSeconds = 253402300799 // 9999-12-31T23:59:59Z
)

// ParseEpochSeconds parses an epoch-seconds number such as "1704164645", "1704164645.5" or
// "1.7041646455E9" exactly to the nanosecond when it is written in plain decimal form.
func ParseEpochSeconds(s string) (time.Time, error) {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return time.Time{}, fmt.Errorf("expected a number of epoch seconds for a timestamp, got %.40s", s)
	}
	if !strings.ContainsAny(s, "eE") {
		intPart, fracPart, _ := strings.Cut(s, ".")
		neg := strings.HasPrefix(intPart, "-")
		sec, err := strconv.ParseInt(intPart, 10, 64)
		if err == nil && len(fracPart) <= 9 && allDigits(fracPart) && sec > -1e12 && sec < 1e12 {
			var ns int64
			if fracPart != "" {
				ns, _ = strconv.ParseInt((fracPart + "000000000")[:9], 10, 64)
			}
			if neg {
				ns = -ns
			}
			return inRange(s, time.Unix(sec, ns).UTC())
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, fmt.Errorf("invalid timestamp %.40s: expected epoch seconds", s)
	}
	if f < minEpochSeconds || f >= maxEpochSeconds+1 {
		return time.Time{}, errOutOfRange(s)
	}
	sec, frac := math.Modf(f)
	return inRange(s, time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC())
}

func inRange(s string, t time.Time) (time.Time, error) {
	if t.Unix() < minEpochSeconds || t.Unix() > maxEpochSeconds {
		return time.Time{}, errOutOfRange(s)
	}
	return t, nil
}

func errOutOfRange(s string) error {
	return fmt.Errorf("timestamp %.40s is outside the range 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z", s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
