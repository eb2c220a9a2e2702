package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/server"
	"github.com/conveyor/conveyor/server/servertest"
)

// The import endpoint answers only the loopback interface and checks its
// input.
func TestImportEndpointGuards(t *testing.T) {
	in := servertest.Start(t)
	tests := []struct {
		remote, query, body string
		status              int
		code                string
	}{
		{"192.0.2.10:5000", "", `{"Records":[]}`, http.StatusForbidden, "AccessDeniedException"},
		{"[2001:db8::1]:5000", "", `{"Records":[]}`, http.StatusForbidden, "AccessDeniedException"},
		{"127.0.0.1:5000", "?toBus=maybe", `{"Records":[]}`, http.StatusBadRequest, "ValidationException"},
		{"127.0.0.1:5000", "", `[]`, http.StatusBadRequest, "ValidationException"},
		{"[::1]:5000", "?toBus=true", `{"Records":[]}`, http.StatusOK, ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodPost, server.ImportPath+tc.query, strings.NewReader(tc.body))
		r.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		in.Server.Handler().ServeHTTP(w, r)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.code) {
			t.Errorf("%s %s %s: %d %s", tc.remote, tc.query, tc.body, w.Code, w.Body)
		}
	}
}
