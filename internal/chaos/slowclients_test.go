package chaos

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/syncbuf"
)

// openFDs counts the file descriptors process pid holds.
func openFDs(t testing.TB, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	return len(ents)
}

// TestSlowClientFlood opens 400 connections that send half a request body
// or idle after one request, far more than the connection cap, and checks
// that ordinary callers are still served within seconds, that the server
// closes the slow connections once their bounds pass, and that its file
// descriptors stay bounded.
func TestSlowClientFlood(t *testing.T) {
	ctx := context.Background()
	const limit = 64
	p := start(t, t.TempDir(), &syncbuf.Buffer{}, "--read-timeout", "2s", "--idle-timeout", "2s", "--max-connections", fmt.Sprint(limit))
	pid := p.cmd.Process.Pid
	base := openFDs(t, pid)
	addr := strings.TrimPrefix(p.url, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 400 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%2 == 0 {
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.ListRules\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{\"Na")
		} else {
			// One whole request; the connection then idles, kept alive.
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		}
	}
	if n := openFDs(t, pid); n > base+limit+8 {
		t.Errorf("%d file descriptors with 400 slow clients (%d before, cap %d)", n, base, limit)
	}
	// Ordinary callers are served all along, within the bounds' time.
	eb := p.events()
	for i := range 5 {
		began := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		out, err := eb.PutEvents(cctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String("{}")}}})
		cancel()
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents %d during the flood: %v", i, err)
		}
		if d := time.Since(began); d > 15*time.Second {
			t.Errorf("PutEvents %d took %v", i, d)
		}
		if status, _, err := p.get(ctx, "/healthz"); err != nil || status != http.StatusOK {
			t.Errorf("/healthz during the flood: %d %v", status, err)
		}
	}
	// Every slow connection is closed by the server in time.
	deadline := time.Now().Add(30 * time.Second)
	for i, c := range conns {
		_ = c.SetReadDeadline(deadline)
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadByte(); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("slow connection %d still open after 30s", i)
				}
				break
			}
		}
	}
	if n := openFDs(t, pid); n > base+8 {
		t.Errorf("%d file descriptors after the flood (%d before)", n, base)
	}
}
