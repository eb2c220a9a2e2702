package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// sink is an HTTP target that records what it receives.
type sink struct {
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
	got    chan struct{}
	srv    *httptest.Server
}

func newSink(t *testing.T) *sink {
	s := &sink{got: make(chan struct{}, 1000)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.heads = append(s.heads, r.Header.Clone())
		s.mu.Unlock()
		s.got <- struct{}{}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) wait(t *testing.T, n int) [][]byte {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		if len(s.bodies) >= n {
			out := append([][]byte(nil), s.bodies...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("target received %d requests, want %d", len(s.bodies), n)
		}
	}
}

// TestEC2Example is DESIGN.md's first example end to end, with an HTTP
// target: a stopped instance reaches the target, a pending one does not.
func TestEC2Example(t *testing.T) {
	in := servertest.Start(t, servertest.Verified(t), func(c *server.Config) { c.TrustedSources = []string{servertest.AccessKeyID} })
	ctx := context.Background()
	c := in.Events
	s := newSink(t)
	destARN := servertest.APIDestination(t, c, "ec2-hook", s.srv.URL+"/hook")

	_, err := c.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String("ec2-stopped"),
		EventPattern: aws.String(`{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["stopped","terminated"]}}`),
	})
	if err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	pt, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule:    aws.String("ec2-stopped"),
		Targets: []types.Target{{Id: aws.String("hook"), Arn: aws.String(destARN)}},
	})
	if err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, pt)
	}
	put := func(state string) string {
		out, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source:     aws.String("aws.ec2"),
			DetailType: aws.String("EC2 Instance State-change Notification"),
			Detail:     aws.String(`{"instance-id":"i-1234567890abcdef0","state":"` + state + `"}`),
			Resources:  []string{"arn:aws:ec2:us-east-1:000000000000:instance/i-1234567890abcdef0"},
		}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents(%s): %v %+v", state, err, out)
		}
		return aws.ToString(out.Entries[0].EventId)
	}
	put("pending")
	id := put("stopped")
	bodies := s.wait(t, 1)
	var ev struct {
		ID         string `json:"id"`
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Account    string `json:"account"`
		Region     string `json:"region"`
		Detail     struct {
			State string `json:"state"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(bodies[0], &ev); err != nil {
		t.Fatalf("target body %s: %v", bodies[0], err)
	}
	if ev.ID != id || ev.Detail.State != "stopped" || ev.Source != "aws.ec2" || ev.Account != in.Config.Account || ev.Region != in.Config.Region {
		t.Errorf("target got %s, want the stopped event %s", bodies[0], id)
	}
	s.mu.Lock()
	key := s.heads[0].Get(servertest.APIKeyName)
	s.mu.Unlock()
	if key != servertest.APIKeyValue {
		t.Errorf("target got x-api-key %q, want the connection's key", key)
	}
	// The pending event must not arrive: put one more matching event and
	// check that it is the second and last body.
	put("terminated")
	bodies = s.wait(t, 2)
	if len(bodies) != 2 || !strings.Contains(string(bodies[1]), `"terminated"`) {
		t.Errorf("target got %d bodies, second %s; want exactly stopped then terminated", len(bodies), bodies[len(bodies)-1])
	}
}
