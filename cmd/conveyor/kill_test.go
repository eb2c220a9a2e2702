package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestMain lets the test binary stand in for the conveyor binary: with
// CONVEYOR_TEST_MAIN=1 it runs main, so tests can start real server
// processes (and kill them) without building anything.
func TestMain(m *testing.M) {
	if os.Getenv("CONVEYOR_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// proc is a conveyor serve process.
type proc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

var servingAddr = regexp.MustCompile(`msg="conveyor serving" addr=(\S+)`)

// startProc runs `conveyor serve` on dataDir and waits until it serves.
func startProc(t *testing.T, dataDir string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "info")
	cmd.Env = append(os.Environ(), "CONVEYOR_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingAddr.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
			if testing.Verbose() {
				t.Log(sc.Text())
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.done:
		t.Fatal("conveyor exited before serving")
	case <-time.After(60 * time.Second):
		t.Fatal("conveyor did not start serving within 60s")
	}
	return p
}

func (p *proc) kill() { p.signal(syscall.SIGKILL) }

// signal sends sig and waits for the process to end.
func (p *proc) signal(sig os.Signal) {
	_ = p.cmd.Process.Signal(sig)
	<-p.done
}

// TestKillNineLosesNothing kills the server with SIGKILL in the middle of a
// stream of PutEvents calls to an HTTP target, restarts it on the same data
// directory, and checks that every event whose PutEvents returned an EventId
// reached the target at least once. TestSIGTERMLosesNothing does the same
// with a graceful shutdown.
func TestKillNineLosesNothing(t *testing.T) { testStopLosesNothing(t, syscall.SIGKILL) }

func TestSIGTERMLosesNothing(t *testing.T) { testStopLosesNothing(t, syscall.SIGTERM) }

func testStopLosesNothing(t *testing.T, sig os.Signal) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	ctx := context.Background()
	dir := t.TempDir()

	var mu sync.Mutex
	received := map[string]int{}
	refused := map[string]bool{}
	var slow sync.Mutex
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			ID     string `json:"id"`
			Detail struct {
				Seq int `json:"seq"`
			} `json:"detail"`
		}
		body, _ := io.ReadAll(r.Body)
		// A slow target (one request at a time, 2ms each), so that
		// deliveries are pending when the server dies: some in flight from
		// the bus, some waiting for their direct attempt, some stored.
		slow.Lock()
		time.Sleep(2 * time.Millisecond)
		slow.Unlock()
		if err := json.Unmarshal(body, &ev); err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		// The first attempt at one event in ten fails: its retry is stored
		// in the delivery stream when the server dies.
		if ev.Detail.Seq%10 == 3 && !refused[ev.ID] {
			refused[ev.ID] = true
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		received[ev.ID]++
	}))
	defer sink.Close()

	p := startProc(t, dir)
	c := &benchClient{tr: netHTTPTransport{client: &http.Client{Timeout: 5 * time.Second}, url: p.url}}
	if err := c.setup(ctx, "kill9", sink.URL+"/"); err != nil {
		t.Fatalf("setup: %v", err)
	}

	// Send without pause; kill the server once deliveries are under way and
	// a few hundred events are acknowledged, most still queued for the slow
	// target. Remember every acknowledged id.
	var acked []string
	var ackedN atomic.Int64
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		// Polled by hand, not with waitfor: this goroutine is not the
		// test's, and it fails nothing; it picks the moment to kill.
		for {
			mu.Lock()
			n := len(received)
			mu.Unlock()
			if n >= 20 && ackedN.Load() >= 300 {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		p.signal(sig)
	}()
	for seq := 0; ; seq++ {
		ids, err := putKill(ctx, c, seq)
		acked = append(acked, ids...)
		ackedN.Store(int64(len(acked)))
		if err != nil {
			select {
			case <-killed:
			case <-time.After(10 * time.Second):
				t.Fatalf("PutEvents failed before the kill: %v", err)
			}
			break
		}
	}
	<-killed
	mu.Lock()
	t.Logf("stopped after %d acknowledged events, %d received", len(acked), len(received))
	mu.Unlock()

	p2 := startProc(t, dir)
	defer p2.kill()
	waitfor.Err(t, 60*time.Second, "every acknowledged event at the target", func() error {
		mu.Lock()
		defer mu.Unlock()
		var missing []string
		for _, id := range acked {
			if received[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%d of %d never arrived, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
		}
		return nil
	})
	mu.Lock()
	dups := 0
	for _, n := range received {
		if n > 1 {
			dups++
		}
	}
	mu.Unlock()
	t.Logf("all %d acknowledged events delivered (%d delivered more than once)", len(acked), dups)
}

// putKill sends one PutEvents call of 10 entries matching the "kill9" rule
// and returns the ids it acknowledged.
func putKill(ctx context.Context, c *benchClient, seq int) ([]string, error) {
	type entry struct{ Source, DetailType, Detail string }
	entries := make([]entry, 10)
	for i := range entries {
		entries[i] = entry{Source: "conveyor.bench", DetailType: "bench", Detail: fmt.Sprintf(`{"rule":"kill9","seq":%d}`, seq*10+i)}
	}
	var out struct {
		Entries []struct{ EventId string }
	}
	if err := c.call(ctx, "PutEvents", map[string]any{"Entries": entries}, &out); err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range out.Entries {
		if e.EventId != "" {
			ids = append(ids, e.EventId)
		}
	}
	return ids, nil
}

// TestKillNineKeepsAuditRecords: once a management call has answered, its
// CloudTrail record survives kill -9.
func TestKillNineKeepsAuditRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	p := startProc(t, dir)
	c := &benchClient{tr: netHTTPTransport{client: &http.Client{Timeout: 5 * time.Second}, url: p.url}}
	const rules = 20
	for i := 0; i < rules; i++ {
		if err := c.call(ctx, "PutRule", map[string]any{"Name": fmt.Sprintf("audited-%d", i), "EventPattern": `{"source":["x"]}`}, nil); err != nil {
			t.Fatal(err)
		}
	}
	p.kill()
	p2 := startProc(t, dir)
	defer p2.kill()
	c = &benchClient{tr: netHTTPTransport{client: &http.Client{Timeout: 5 * time.Second}, url: p2.url}}
	seen := map[string]bool{}
	waitfor.Err(t, 30*time.Second, "every answered PutRule call in the event history after kill -9", func() error {
		var out struct {
			Events []struct{ CloudTrailEvent string }
		}
		req := map[string]any{"LookupAttributes": []map[string]string{{"AttributeKey": "EventName", "AttributeValue": "PutRule"}}}
		if err := c.callTarget(ctx, "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", req, &out); err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			var rec struct {
				RequestParameters struct{ Name string } `json:"requestParameters"`
			}
			if json.Unmarshal([]byte(e.CloudTrailEvent), &rec) == nil {
				seen[rec.RequestParameters.Name] = true
			}
		}
		if len(seen) < rules {
			return fmt.Errorf("the history holds %d of %d", len(seen), rules)
		}
		return nil
	})
}
