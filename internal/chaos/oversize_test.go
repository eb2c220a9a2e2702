package chaos

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/conveyor/conveyor/internal/syncbuf"
)

// post sends one AWS JSON request with a body of the given reader; length
// -1 sends it chunked. It returns the status and the body answered.
func post(ctx context.Context, url, target, contentType string, body io.Reader, length int64) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", body)
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = length
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDCHAOS/20261204/us-east-1/events/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// padded is a JSON object with the members of head and a "Padding" member
// that brings it to size bytes.
func padded(head string, size int) []byte {
	var b bytes.Buffer
	b.WriteString(strings.TrimSuffix(head, "}"))
	b.WriteString(`,"Padding":"`)
	for b.Len() < size-2 {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

// rss returns the resident set of process pid in bytes.
func rss(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestOversizedRequests sends management calls padded far past any legal
// size, with and without a Content-Length, and checks that each is refused
// quickly with a client error, changes nothing, and leaves the server
// healthy and its memory bounded.
func TestOversizedRequests(t *testing.T) {
	ctx := context.Background()
	p := start(t, t.TempDir(), &syncbuf.Buffer{})
	eb, q := p.events(), p.sqs()
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("keep"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	qu, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("keep")})
	if err != nil {
		t.Fatal(err)
	}
	const events, sqsJSON = "application/x-amz-json-1.1", "application/x-amz-json-1.0"
	calls := []struct {
		target, contentType, head string
	}{
		{"AWSEvents.DeleteRule", events, `{"Name":"keep"}`},
		{"AWSEvents.DeleteEventBus", events, `{"Name":"default"}`},
		{"AmazonSQS.DeleteQueue", sqsJSON, `{"QueueUrl":"` + aws.ToString(qu.QueueUrl) + `"}`},
		{"AWSEvents.PutEvents", events, `{"Entries":[{"Source":"x","DetailType":"y","Detail":"{}"}]}`},
	}
	for _, c := range calls {
		for _, size := range []int{1_200_000, 3 << 20, 16 << 20} {
			for _, chunked := range []bool{false, true} {
				name := fmt.Sprintf("%s/%d/chunked=%v", c.target, size, chunked)
				body := padded(c.head, size)
				length := int64(len(body))
				if chunked {
					length = -1
				}
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				began := time.Now()
				status, answer, err := post(cctx, p.url, c.target, c.contentType, bytes.NewReader(body), length)
				cancel()
				if err != nil {
					// The server may close the connection once it has answered
					// without reading the rest; what it answered is then lost to
					// this client, and the checks below still apply.
					t.Logf("%s: %v", name, err)
				} else if status < 400 || status >= 500 {
					t.Errorf("%s: answered %d %s, want a client error", name, status, answer)
				}
				if d := time.Since(began); d > 5*time.Second {
					t.Errorf("%s: answered after %v", name, d)
				}
			}
		}
	}
	if _, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("keep")}); err != nil {
		t.Errorf("the rule is gone: %v", err)
	}
	if _, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qu.QueueUrl}); err != nil {
		t.Errorf("the queue is gone: %v", err)
	}
	if status, body, err := p.get(ctx, "/healthz"); err != nil || status != 200 {
		t.Errorf("/healthz: %d %s %v", status, body, err)
	}
	if r := rss(t, p.cmd.Process.Pid); r > 400<<20 {
		t.Errorf("resident set %d MiB after oversized requests", r>>20)
	}
}
