package awsapi

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimestampJSON(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		out  string
	}{
		{"1704164645.5", time.Unix(1704164645, 500_000_000), "1704164645.5"},
		{"1704164645", time.Unix(1704164645, 0), "1704164645"},
		{"1704164645.123456789", time.Unix(1704164645, 123456789), "1704164645.123"},
		{"1704164645.05", time.Unix(1704164645, 50_000_000), "1704164645.05"},
		{"1.7041646455E9", time.Unix(1704164645, 500_000_000), "1704164645.5"},
		{"1.7041646455e+09", time.Unix(1704164645, 500_000_000), "1704164645.5"},
		{"0.001", time.Unix(0, 1_000_000), "0.001"},
		{"-1.5", time.Unix(-2, 500_000_000), "-1.5"},
		{"-1", time.Unix(-1, 0), "-1"},
		// The range RFC 3339 writes: years 0000 to 9999.
		{"253402300799.999", time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC), "253402300799.999"},
		{"2.53402300799E11", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), "253402300799"},
		{"-62167219200", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), "-62167219200"},
	} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(c.in), &ts); err != nil {
			t.Errorf("Unmarshal(%s): %v", c.in, err)
			continue
		}
		if !ts.Equal(c.want) {
			t.Errorf("Unmarshal(%s) = %v, want %v", c.in, ts.Time, c.want)
		}
		out, err := json.Marshal(ts)
		if err != nil || string(out) != c.out {
			t.Errorf("Marshal(%v) = %s, %v; want %s", ts.Time, out, err, c.out)
		}
	}
	for _, bad := range []string{`"1704164645"`, `true`, `{}`, `1e400`, `[1]`, `253402300800`, `-62167219201`, `1e12`, `-1e12`, `9999999999999999999`} {
		var ts Timestamp
		err := json.Unmarshal([]byte(bad), &ts)
		if err == nil {
			t.Errorf("Unmarshal(%s) accepted: %v", bad, ts.Time)
		}
	}
	var ts Timestamp
	if err := json.Unmarshal([]byte("null"), &ts); err != nil || !ts.IsZero() {
		t.Errorf("null: %v %v", ts, err)
	}
	out, _ := json.Marshal(struct {
		A Timestamp  `json:"A,omitzero"`
		B *Timestamp `json:"B,omitempty"`
		C Timestamp  `json:"C"`
	}{})
	if string(out) != `{"C":null}` {
		t.Errorf("zero timestamps = %s", out)
	}
}

func FuzzParseEpochSeconds(f *testing.F) {
	for _, s := range []string{"1704164645.5", "1", "-0.5", "1e9", "1.", ".5", "--1", "9999999999999999999", "1.0000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseEpochSeconds(s)
		if err != nil {
			return
		}
		// Whatever parses marshals back to a number that parses to the same millisecond.
		b := Timestamp{v}.AppendJSON(nil)
		w, err := ParseEpochSeconds(string(b))
		if err != nil || w.UnixMilli() != v.UnixMilli() {
			t.Fatalf("%q → %v → %s → %v, %v", s, v, b, w, err)
		}
	})
}
