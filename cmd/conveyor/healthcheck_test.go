package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHealthcheckURL(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "serve's default address", want: "http://127.0.0.1:4010/healthz"},
		{name: "CONVEYOR_ADDR on every interface", env: map[string]string{"CONVEYOR_ADDR": "0.0.0.0:9000"}, want: "http://127.0.0.1:9000/healthz"},
		{name: "CONVEYOR_ADDR without a host", env: map[string]string{"CONVEYOR_ADDR": ":9001"}, want: "http://127.0.0.1:9001/healthz"},
		{name: "CONVEYOR_ADDR on IPv6's wildcard", env: map[string]string{"CONVEYOR_ADDR": "[::]:9002"}, want: "http://127.0.0.1:9002/healthz"},
		{name: "CONVEYOR_ADDR on one address", env: map[string]string{"CONVEYOR_ADDR": "10.0.0.7:9003"}, want: "http://10.0.0.7:9003/healthz"},
		{name: "--url wins", args: []string{"--url", "http://h:1/x"}, env: map[string]string{"CONVEYOR_ADDR": ":9"}, want: "http://h:1/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _, err := healthcheckFlags(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if u != tt.want {
				t.Errorf("URL %q, want %q", u, tt.want)
			}
		})
	}
	if _, _, err := healthcheckFlags(nil, func(string) string { return "no-port" }, io.Discard); err == nil {
		t.Error("CONVEYOR_ADDR without a port accepted")
	}
	if _, _, err := healthcheckFlags([]string{"extra"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("an extra argument accepted")
	}
}

func TestHealthcheckProbe(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/slow":
			time.Sleep(time.Second)
		case r.URL.Path != "/healthz":
			http.NotFound(w, r)
		case healthy.Load():
			io.WriteString(w, "ok\n")
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "unhealthy: store: a write failed: no quorum\n")
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	var out strings.Builder
	if err := run(ctx, []string{"healthcheck", "--url", srv.URL + "/healthz"}, &out, io.Discard); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	if out.String() != "ok\n" {
		t.Errorf("healthy server: printed %q", out.String())
	}
	healthy.Store(false)
	err := run(ctx, []string{"healthcheck", "--url", srv.URL + "/healthz"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "no quorum") {
		t.Errorf("unhealthy server: error %v, want the 503 and its reason", err)
	}
	if err := run(ctx, []string{"healthcheck", "--url", srv.URL + "/slow", "--timeout", "50ms"}, io.Discard, io.Discard); err == nil {
		t.Error("a server slower than --timeout passed")
	}
	addr := srv.Listener.Addr().String()
	srv.Close()
	if err := run(ctx, []string{"healthcheck", "--url", "http://" + addr + "/healthz"}, io.Discard, io.Discard); err == nil {
		t.Error("a server that is not there passed")
	}
}
