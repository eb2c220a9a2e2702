package eventbridge_test

import (
	"github.com/conveyor/conveyor/internal/clock/clocktest"

	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/eventbridge"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the expectations of testdata/scenarios")

// testClock is the time every record of a test server is stamped with.
var testClock = time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)

type testServer struct {
	URL     string
	Catalog *catalog.Catalog
	Service *eventbridge.Service
}

// startServer serves the control plane over a fresh store on 127.0.0.1:0,
// with a fixed clock and predictable ids.
// With withModel, awsapi checks inputs against AWS's model before the
// handlers run (as the server may be configured to).
func startServer(t testing.TB, cfg eventbridge.Config, withModel bool) *testServer {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, storetest.Open(t).JetStream(), catalog.Config{
		Region: "us-east-1", Account: "123456789012", Clock: clocktest.New(testClock),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.In(cat.Home()).EnsureDefault(ctx); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	cfg.Catalog = cat
	if cfg.NewID == nil {
		cfg.NewID = func() string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n.Add(1)) }
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Logger = logger
	svc, err := eventbridge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events := awsapi.NewEventBridge()
	svc.Register(events)
	if withModel {
		events.SetModel(awsapi.MustLoadModel("events"))
	}
	srv, err := awsapi.NewServer(awsapi.Config{Logger: logger}, events)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &testServer{URL: hs.URL, Catalog: cat, Service: svc}
}

// call sends one AWSEvents operation and returns the HTTP status and body.
func (s *testServer) call(t testing.TB, op, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AWSEvents."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260102/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestScenarios runs the scripts of testdata/scenarios, each against a fresh
// server. A script is a sequence of calls:
//
//	# comment
//	Operation {"json":"input"}
//	-> {"json":"output"}            the exact response (compared as JSON)
//	!> 400 Code: message            the exact error
//
// Input lines ending in a backslash continue on the next line. Run with
// -update to rewrite the expectations from the server's answers.
//
// Each script runs twice: with the handlers' own validation only, and with
// awsapi's model-driven validation in front; both must answer the same.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) { runScenario(t, file, false) })
		if !*update {
			t.Run(name+"/model", func(t *testing.T) { runScenario(t, file, true) })
		}
	}
}

func runScenario(t *testing.T, file string, withModel bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg := eventbridge.Config{}
	if strings.Contains(string(data), "#config max-rules=2") {
		cfg.MaxRulesPerBus = 2
	}
	srv := startServer(t, cfg, withModel)
	lines := strings.Split(string(data), "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
			out = append(out, line)
			continue
		case strings.HasPrefix(line, "->") || strings.HasPrefix(line, "!>"):
			t.Fatalf("%s:%d: expectation without a call", file, i+1)
		}
		start := i
		call := line
		for strings.HasSuffix(call, `\`) && i+1 < len(lines) {
			i++
			call = strings.TrimSuffix(call, `\`) + lines[i]
		}
		out = append(out, lines[start:i+1]...)
		op, body, _ := strings.Cut(call, " ")
		status, resp := srv.call(t, op, body)
		got := render(status, resp)
		want := ""
		if i+1 < len(lines) && (strings.HasPrefix(lines[i+1], "->") || strings.HasPrefix(lines[i+1], "!>")) {
			i++
			want = lines[i]
		}
		out = append(out, got)
		if *update {
			continue
		}
		if !sameExpectation(got, want) {
			t.Errorf("%s:%d: %s\n got: %s\nwant: %s", file, start+1, call, got, want)
		}
	}
	if *update {
		if err := os.WriteFile(file, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// render writes a response as an expectation line.
func render(status int, body []byte) string {
	if status == http.StatusOK {
		var buf bytes.Buffer
		if err := json.Compact(&buf, body); err != nil {
			return "-> <invalid JSON> " + string(body)
		}
		return "-> " + buf.String()
	}
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	return fmt.Sprintf("!> %d %s: %s", status, e.Type, e.Message)
}

func sameExpectation(got, want string) bool {
	if strings.HasPrefix(got, "-> ") && strings.HasPrefix(want, "-> ") {
		var g, w any
		if json.Unmarshal([]byte(got[3:]), &g) == nil && json.Unmarshal([]byte(want[3:]), &w) == nil {
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			return bytes.Equal(gb, wb)
		}
	}
	return got == want
}

// TestInputsMatchModel checks that every input struct's json names are
// members of AWS's model: a typo would be a member the SDKs send and the
// handler never reads.
func TestInputsMatchModel(t *testing.T) {
	srv := startServer(t, eventbridge.Config{}, false)
	events := awsapi.NewEventBridge()
	srv.Service.Register(events)
	events.SetModel(awsapi.MustLoadModel("events"))
	if err := events.CheckModel(); err != nil {
		t.Fatal(err)
	}
	if n := len(events.Operations()); n != 31 {
		t.Fatalf("%d operations registered, want 31", n)
	}
}
