package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/conveyor/conveyor/internal/syncbuf"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestDiskFull runs Conveyor on a small filesystem that fills up: every
// call is answered within a second (PutEvents per entry with
// InternalFailure), /healthz says 503, no acknowledged event is lost; once
// space is freed on the disk everything resumes without a restart; after a
// kill -9 and a restart every acknowledged event has reached its target.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); server.TestMaxStoreFull covers the answers", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 24<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "data")
	log := &syncbuf.Buffer{}
	sk := newSink(t)
	p := start(t, dir, log)
	eb := p.events()
	conn, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("c"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("k"), ApiKeyValue: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("sink"), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(sk.URL + "/"), HttpMethod: types.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("load"), EventPattern: aws.String(`{"source":["chaos.load"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("load"), Targets: []types.Target{{Id: aws.String("s"), Arn: dest.ApiDestinationArn}}}); err != nil {
		t.Fatal(err)
	}
	var acked []string
	put := func() (string, time.Duration) {
		began := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := eb.PutEvents(cctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source: aws.String("chaos.load"), DetailType: aws.String("t"), Detail: aws.String(`{"seq":1}`)}}})
		if err != nil {
			t.Fatalf("PutEvents: %v", err)
		}
		if id := aws.ToString(out.Entries[0].EventId); id != "" {
			acked = append(acked, id)
		}
		return aws.ToString(out.Entries[0].ErrorCode), time.Since(began)
	}
	// Fill the disk with queue messages, events going on all along.
	q := p.sqs()
	qu, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("filler")})
	if err != nil {
		t.Fatal(err)
	}
	// Messages of 200 KiB until one is refused, then smaller ones, down to
	// 256 bytes: a store refusing a large write may still take a small one.
	for size, i := 200<<10, 0; size >= 256; i++ {
		if size == 200<<10 {
			put()
		}
		began := time.Now()
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qu.QueueUrl, MessageBody: aws.String(strings.Repeat("x", size))}); err != nil {
			if d := time.Since(began); d > time.Second {
				t.Errorf("SendMessage on a full disk answered after %v", d)
			}
			size /= 4
		}
		if i > 4000 {
			t.Fatal("the disk never filled")
		}
	}
	// Full: quick answers, and /healthz says so.
	if code, d := put(); code != "InternalFailure" || d > time.Second {
		t.Errorf("PutEvents on a full disk: %q after %v", code, d)
	}
	waitfor.Err(t, 5*time.Second, "/healthz 503 on a full disk", func() error {
		status, _, err := p.get(ctx, "/healthz")
		if err == nil && status != http.StatusServiceUnavailable {
			err = fmt.Errorf("/healthz %d", status)
		}
		return err
	})
	// Space comes back: everything resumes on its own.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	waitfor.Err(t, 15*time.Second, "PutEvents and /healthz after space came back", func() error {
		code, _ := put()
		status, _, err := p.get(ctx, "/healthz")
		if err == nil && (code != "" || status != http.StatusOK) {
			err = fmt.Errorf("PutEvents %q, /healthz %d", code, status)
		}
		return err
	})
	for range 20 {
		put()
	}
	// A crash now loses nothing acknowledged.
	p.kill()
	p = start(t, dir, log)
	waitfor.Err(t, 60*time.Second, "every acknowledged event delivered", func() error {
		if m := sk.missing(acked); len(m) > 0 {
			return fmt.Errorf("%d of %d missing, e.g. %v", len(m), len(acked), m[:min(3, len(m))])
		}
		return nil
	})
	t.Logf("%d events acknowledged through the fill, all delivered (%d more than once)", len(acked), sk.duplicates())
}
