package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// A browser opening Conveyor's address reads what it is and how to use it,
// not a 405 JSON error; the API answers on the same path as before.
func TestHomePage(t *testing.T) {
	in := servertest.Start(t)
	resp, err := http.Get(in.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(b), "aws --endpoint-url "+in.URL+" events list-event-buses") {
		t.Errorf("GET /: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	resp, err = http.Post(in.URL+"/", "application/x-amz-json-1.1", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("POST / without a target: %d", resp.StatusCode)
	}
}
