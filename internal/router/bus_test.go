package router

import (
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/event"
)

func TestEventIDOf(t *testing.T) {
	stored := (&event.Event{ID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718", Source: "app", DetailType: "t",
		Account: "000000000000", Region: "us-east-1", Time: time.Unix(1700000000, 0), Detail: []byte(`{}`)}).AppendJSON(nil)
	cases := []struct {
		name, data, want string
	}{
		{"as PutEvents stores it", string(stored), "6a7e8feb-b491-4cf7-a9f1-bf3703467718"},
		{"fields in another order", `{"id":"abc","version":"0","source":"s","detail-type":"d","detail":{}}`, "abc"},
		{"escaped id", `{"version":"0","id":"a\"b","source":"s","detail-type":"d","detail":{}}`, `a"b`},
		{"no id", `{"version":"0","source":"s","detail-type":"d","detail":{}}`, ""},
		{"not JSON", `{"version":"0","id":"x`, ""},
	}
	for _, c := range cases {
		if got := eventIDOf([]byte(c.data)); got != c.want {
			t.Errorf("%s: eventIDOf = %q, want %q", c.name, got, c.want)
		}
	}
}
