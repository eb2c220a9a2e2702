package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server/servertest"
)

// TestConcurrentLists: a thousand list calls of each kind at once all
// answer, with the right content. Listing reads the catalog's in-memory
// view; a list that opened a JetStream consumer per call ran into the
// server's consumer limit and answered 500.
func TestConcurrentLists(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	c := in.Events
	dest := servertest.APIDestination(t, c, "hook", "https://example.com/hook")
	if _, err := c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	putRule(t, c, "orders", "r1", `{"source":["a"]}`, types.Target{Id: aws.String("t"), Arn: aws.String(dest),
		RoleArn: aws.String("arn:aws:iam::000000000000:role/r")})
	putRule(t, c, "orders", "r2", `{"source":["b"]}`)
	busARN := "arn:aws:events:" + in.Config.Region + ":" + in.Config.Account + ":event-bus/orders"
	if _, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("keep"), EventSourceArn: aws.String(busARN)}); err != nil {
		t.Fatal(err)
	}

	const n = 1000
	// Raw requests, lighter than SDK calls: the test holds thousands at
	// once. The key signs nothing: the server takes the caller from the
	// Authorization header (it checks signatures only with an auth file).
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * n}, Timeout: time.Minute}
	auth := "AWS4-HMAC-SHA256 Credential=" + servertest.AccessKeyID + "/20250101/" + in.Config.Region +
		"/events/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64)
	call := func(op, body, list, field string) ([]string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL+"/", strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "AWSEvents."+op)
		req.Header.Set("X-Amz-Date", "20250101T000000Z")
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s", resp.Status, data)
		}
		var out map[string][]json.RawMessage
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, err
		}
		names := []string{}
		for _, item := range out[list] {
			var name string
			if field == "" {
				err = json.Unmarshal(item, &name)
			} else {
				var obj map[string]any
				err = json.Unmarshal(item, &obj)
				name, _ = obj[field].(string)
			}
			if err != nil {
				return nil, err
			}
			names = append(names, name)
		}
		return names, nil
	}
	type list struct {
		body, list, field string
		want              []string
	}
	lists := map[string]list{
		"ListEventBuses":        {`{}`, "EventBuses", "Name", []string{"default", "orders"}},
		"ListConnections":       {`{}`, "Connections", "Name", []string{"hook-conn"}},
		"ListApiDestinations":   {`{}`, "ApiDestinations", "Name", []string{"hook"}},
		"ListRules":             {`{"EventBusName":"orders"}`, "Rules", "Name", []string{"Events-Archive-keep", "r1", "r2"}},
		"ListRuleNamesByTarget": {`{"EventBusName":"orders","TargetArn":"` + dest + `"}`, "RuleNames", "", []string{"r1"}},
		"ListArchives":          {`{}`, "Archives", "ArchiveName", []string{"keep"}},
		"ListReplays":           {`{}`, "Replays", "ReplayName", []string{}},
	}

	// A thousand calls of each kind, released together with a thousand of
	// another kind that reads the same bucket: before the fix each call in
	// flight held a consumer of the bucket's stream, and JetStream allows
	// 1,000 per stream.
	for _, wave := range [][2]string{
		{"ListEventBuses", "ListConnections"},
		{"ListApiDestinations", "ListRules"},
		{"ListRuleNamesByTarget", "ListEventBuses"},
		{"ListArchives", "ListReplays"},
	} {
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		failed := map[string]int{}
		for _, name := range wave {
			l := lists[name]
			for range n {
				wg.Go(func() {
					<-start
					got, err := call(name, l.body, l.list, l.field)
					if err == nil && !slices.Equal(got, l.want) {
						err = fmt.Errorf("got %q, want %q", got, l.want)
					}
					if err != nil {
						mu.Lock()
						if failed[name] == 0 {
							t.Errorf("%s: %v", name, err)
						}
						failed[name]++
						mu.Unlock()
					}
				})
			}
		}
		close(start)
		wg.Wait()
		for name, k := range failed {
			t.Errorf("%s: %d of %d calls failed", name, k, n)
		}
	}
}
