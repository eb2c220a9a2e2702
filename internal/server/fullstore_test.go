package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// fill sends 200 KB messages to a new queue until the store refuses one,
// and checks the refusal is quick.
func fill(t *testing.T, in *servertest.Instance) {
	t.Helper()
	ctx := context.Background()
	q, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("filler")})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 200<<10)
	for i := 0; ; i++ {
		began := time.Now()
		_, err := in.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)})
		if err != nil {
			if d := time.Since(began); d > time.Second {
				t.Errorf("SendMessage to a full store answered after %v", d)
			}
			return
		}
		if i > 1000 {
			t.Fatal("the store never filled")
		}
	}
}

// putOne sends one event and returns its error code ("" when stored) and
// how long the call took.
func putOne(t *testing.T, c *eventbridge.Client) (string, time.Duration) {
	t.Helper()
	began := time.Now()
	out, err := c.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}})
	if err != nil {
		t.Fatalf("PutEvents: %v", err)
	}
	return aws.ToString(out.Entries[0].ErrorCode), time.Since(began)
}

func healthz(in *servertest.Instance) int {
	resp, err := http.Get(in.URL + "/healthz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkFull checks what a full store answers: PutEvents an InternalFailure
// entry, a management call a 5xx error, both within a second; /healthz 503.
func checkFull(t *testing.T, in *servertest.Instance) {
	t.Helper()
	code, d := putOne(t, in.Events)
	if code != "InternalFailure" || d > time.Second {
		t.Errorf("PutEvents on a full store: %q after %v", code, d)
	}
	began := time.Now()
	_, err := in.Events.PutRule(context.Background(), &eventbridge.PutRuleInput{Name: aws.String("later"), EventPattern: aws.String(`{"source":["x"]}`)})
	if err == nil || !strings.Contains(err.Error(), "StatusCode: 500") || time.Since(began) > time.Second {
		t.Errorf("PutRule on a full store: %v after %v", err, time.Since(began))
	}
	// /healthz probes the store at most once a second.
	waitfor.Err(t, 3*time.Second, "/healthz 503 on a full store", func() error {
		if status := healthz(in); status != http.StatusServiceUnavailable {
			return fmt.Errorf("/healthz %d", status)
		}
		return nil
	})
}

// A store at its --max-store limit answers at once, per entry and per call,
// and /healthz says so.
func TestMaxStoreFull(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) { c.MaxStore = 8 << 20 })
	if status := healthz(in); status != 200 {
		t.Fatalf("/healthz before: %d", status)
	}
	fill(t, in)
	checkFull(t, in)
	// Shutting down with records the full store refuses is quick (they are
	// dropped, logged, and Stop says so).
	began := time.Now()
	_ = in.Stop()
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}

// A data directory on a filesystem that fills: the same answers, and once
// space is freed on the disk, everything resumes on its own within seconds,
// with no restart: PutEvents stores, events are delivered, /healthz is ok.
func TestDiskFullRecovers(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s): the MaxStore test covers the answers", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 16<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var got atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer sink.Close()
	in := servertest.Start(t, func(c *server.Config) { c.DataDir = filepath.Join(mnt, "data") })
	ctx := context.Background()
	dest := servertest.APIDestination(t, in.Events, "sink", sink.URL)
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventPattern: aws.String(`{"source":["app"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), Targets: []types.Target{{Id: aws.String("s"), Arn: aws.String(dest)}}}); err != nil {
		t.Fatal(err)
	}
	fill(t, in)
	checkFull(t, in)

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	waitfor.Err(t, 15*time.Second, "PutEvents and /healthz after space came back", func() error {
		if code, _ := putOne(t, in.Events); code != "" {
			return fmt.Errorf("PutEvents %q", code)
		}
		if status := healthz(in); status != 200 {
			return fmt.Errorf("/healthz %d", status)
		}
		return nil
	})
	before := got.Load()
	if code, _ := putOne(t, in.Events); code != "" {
		t.Fatalf("PutEvents after recovery: %s", code)
	}
	waitfor.True(t, "the event put after recovery delivered", func() bool { return got.Load() > before })
}
