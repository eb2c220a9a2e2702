package archive_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// sink is an HTTP target that records the events it receives, by path.
type sink struct {
	mu     sync.Mutex
	events map[string][]map[string]any
	srv    *httptest.Server
}

func newSink(t *testing.T) *sink {
	s := &sink{events: map[string][]map[string]any{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Errorf("target got %q: %v", b, err)
		}
		s.mu.Lock()
		s.events[r.URL.Path] = append(s.events[r.URL.Path], ev)
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) got(path string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events[path])
}

// wait waits until path received n events, then a little longer to catch
// any extra one, and returns them.
func (s *sink) wait(t *testing.T, path string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(s.got(path)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d events, want %d", path, len(s.got(path)), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	evs := s.got(path)
	if len(evs) != n {
		t.Fatalf("%s received %d events, want exactly %d", path, len(evs), n)
	}
	return evs
}

func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error (want %s: %s)", err, code, msg)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("error = %s: %s\nwant    %s: %s", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// must returns v, or panics (failing the test run) on err: for calls
// whose failure is a broken test rig, not an expected error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// destination makes a connection and an API destination for url.
func destination(t *testing.T, c *eventbridge.Client, name, url string) string {
	ctx := context.Background()
	conn := must(c.CreateConnection(ctx, &eventbridge.CreateConnectionInput{
		Name: aws.String(name + "-conn"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("k")}},
	}))
	d := must(c.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String(name), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(url), HttpMethod: types.ApiDestinationHttpMethodPost}))
	return aws.ToString(d.ApiDestinationArn)
}

func ruleTo(t *testing.T, c *eventbridge.Client, rule, pattern, dest string) string {
	ctx := context.Background()
	r := must(c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventPattern: aws.String(pattern)}))
	pt := must(c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), Targets: []types.Target{{Id: aws.String("t"), Arn: aws.String(dest)}}}))
	if pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %+v", pt.FailedEntries)
	}
	return aws.ToString(r.RuleArn)
}

func putEvents(t *testing.T, c *eventbridge.Client, source string, at time.Time, ns ...int) []string {
	t.Helper()
	var entries []types.PutEventsRequestEntry
	for _, n := range ns {
		entries = append(entries, types.PutEventsRequestEntry{Source: aws.String(source), DetailType: aws.String("order"),
			Detail: aws.String(fmt.Sprintf(`{"n":%d}`, n)), Time: aws.Time(at)})
	}
	out := must(c.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: entries}))
	if out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %+v", out.Entries)
	}
	var ids []string
	for _, e := range out.Entries {
		ids = append(ids, aws.ToString(e.EventId))
	}
	return ids
}

func waitReplay(t *testing.T, c *eventbridge.Client, name string, state types.ReplayState) *eventbridge.DescribeReplayOutput {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d := must(c.DescribeReplay(context.Background(), &eventbridge.DescribeReplayInput{ReplayName: aws.String(name)}))
		if d.State == state {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay %s is %s (%s), want %s", name, d.State, aws.ToString(d.StateReason), state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ns(evs []map[string]any) []float64 {
	var out []float64
	for _, e := range evs {
		d, _ := e["detail"].(map[string]any)
		n, _ := d["n"].(float64)
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestArchiveAndReplay: an archive fills from live traffic; a replay of a
// time window re-delivers exactly the archived events of that window, with
// replay-name, to the rules' HTTP targets, and they are not archived again.
func TestArchiveAndReplay(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	c := in.Events
	s := newSink(t)
	ordersRule := ruleTo(t, c, "orders", `{"source":["shop"]}`, destination(t, c, "orders-hook", s.srv.URL+"/orders"))
	ruleTo(t, c, "audit", `{"source":["shop","other"]}`, destination(t, c, "audit-hook", s.srv.URL+"/audit"))
	busARN := "arn:aws:events:" + in.Config.Region + ":" + in.Config.Account + ":event-bus/default"

	ca := must(c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("shop"), EventSourceArn: aws.String(busARN),
		EventPattern: aws.String(`{"source":["shop"]}`), Description: aws.String("the shop's events")}))
	if ca.State != types.ArchiveStateEnabled || aws.ToString(ca.ArchiveArn) != "arn:aws:events:"+in.Config.Region+":"+in.Config.Account+":archive/shop" {
		t.Fatalf("CreateArchive = %+v", ca)
	}
	mr := must(c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("Events-Archive-shop")}))
	if aws.ToString(mr.ManagedBy) != "events.amazonaws.com" || aws.ToString(mr.EventPattern) != `{"source":["shop"],"replay-name":[{"exists":false}]}` {
		t.Fatalf("archive rule = %+v", mr)
	}
	_, err := c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("Events-Archive-shop")})
	wantAPIError(t, err, "ManagedRuleException", "")

	hour := time.Now().UTC().Truncate(time.Second).Add(-3 * time.Hour)
	t1, t2, t3 := hour, hour.Add(time.Hour), hour.Add(2*time.Hour)
	putEvents(t, c, "shop", t1, 1, 2, 3)
	ids2 := putEvents(t, c, "shop", t2, 4, 5, 6)
	putEvents(t, c, "shop", t3, 7, 8, 9)
	putEvents(t, c, "other", t2, 100, 101)
	s.wait(t, "/orders", 9)
	s.wait(t, "/audit", 11)

	var da *eventbridge.DescribeArchiveOutput
	deadline := time.Now().Add(20 * time.Second)
	for {
		da = must(c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("shop")}))
		if da.EventCount == 9 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if da.EventCount != 9 || da.SizeBytes < 9*200 || da.State != types.ArchiveStateEnabled || aws.ToInt32(da.RetentionDays) != 0 ||
		aws.ToString(da.EventPattern) != `{"source":["shop"]}` || aws.ToString(da.Description) != "the shop's events" ||
		aws.ToString(da.EventSourceArn) != busARN {
		t.Fatalf("DescribeArchive = count %d, size %d, %+v", da.EventCount, da.SizeBytes, da)
	}
	t.Logf("archive: %d events, %d bytes", da.EventCount, da.SizeBytes)

	// Replay the second hour to every rule of the bus.
	sr := must(c.StartReplay(ctx, &eventbridge.StartReplayInput{ReplayName: aws.String("hour-2"), EventSourceArn: ca.ArchiveArn,
		EventStartTime: aws.Time(t2.Add(-time.Minute)), EventEndTime: aws.Time(t2.Add(time.Minute)),
		Destination: &types.ReplayDestination{Arn: aws.String(busARN)}}))
	if sr.State != types.ReplayStateStarting || aws.ToString(sr.ReplayArn) != "arn:aws:events:"+in.Config.Region+":"+in.Config.Account+":replay/hour-2" {
		t.Fatalf("StartReplay = %+v", sr)
	}
	dr := waitReplay(t, c, "hour-2", types.ReplayStateCompleted)
	if !aws.ToTime(dr.EventLastReplayedTime).Equal(t2) || dr.ReplayEndTime == nil || dr.ReplayStartTime == nil ||
		aws.ToString(dr.Destination.Arn) != busARN || aws.ToString(dr.EventSourceArn) != aws.ToString(ca.ArchiveArn) {
		t.Fatalf("DescribeReplay = %+v", dr)
	}
	orders := s.wait(t, "/orders", 12)[9:]
	audit := s.wait(t, "/audit", 14)[11:]
	for _, evs := range [][]map[string]any{orders, audit} {
		if got := ns(evs); !slices.Equal(got, []float64{4, 5, 6}) {
			t.Fatalf("replayed %v, want events 4 5 6", got)
		}
		for _, e := range evs {
			if e["replay-name"] != "hour-2" || !slices.Contains(ids2, e["id"].(string)) || e["time"] != t2.Format(time.RFC3339) {
				t.Fatalf("replayed event %v", e)
			}
		}
	}

	// Replay everything to the orders rule only.
	must(c.StartReplay(ctx, &eventbridge.StartReplayInput{ReplayName: aws.String("all-orders"), EventSourceArn: ca.ArchiveArn,
		EventStartTime: aws.Time(t1.Add(-time.Hour)), EventEndTime: aws.Time(time.Now()),
		Destination: &types.ReplayDestination{Arn: aws.String(busARN), FilterArns: []string{ordersRule}}}))
	waitReplay(t, c, "all-orders", types.ReplayStateCompleted)
	if got := ns(s.wait(t, "/orders", 21)[12:]); !slices.Equal(got, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("replayed to orders %v", got)
	}
	s.wait(t, "/audit", 14)

	// Replayed events were not archived again.
	if da := must(c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("shop")})); da.EventCount != 9 {
		t.Fatalf("after replays the archive holds %d events", da.EventCount)
	}
	lr := must(c.ListReplays(ctx, &eventbridge.ListReplaysInput{EventSourceArn: ca.ArchiveArn}))
	if len(lr.Replays) != 2 || aws.ToString(lr.Replays[0].ReplayName) != "all-orders" || lr.Replays[1].State != types.ReplayStateCompleted {
		t.Fatalf("ListReplays = %+v", lr.Replays)
	}
	_, err = c.CancelReplay(ctx, &eventbridge.CancelReplayInput{ReplayName: aws.String("hour-2")})
	wantAPIError(t, err, "IllegalStatusException", "Replay hour-2 cannot be cancelled in state COMPLETED.")

	// Updating the pattern changes what is archived; deleting removes the
	// rule and the events.
	must(c.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("shop"), EventPattern: aws.String(`{"source":["other"]}`),
		RetentionDays: aws.Int32(7)}))
	putEvents(t, c, "other", time.Now(), 102)
	putEvents(t, c, "shop", time.Now(), 10)
	s.wait(t, "/orders", 22)
	deadline = time.Now().Add(20 * time.Second)
	for {
		da = must(c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("shop")}))
		if da.EventCount == 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	da = must(c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("shop")}))
	if da.EventCount != 10 || aws.ToInt32(da.RetentionDays) != 7 || aws.ToString(da.Description) != "the shop's events" {
		t.Fatalf("after UpdateArchive: count %d, %+v", da.EventCount, da)
	}
	must(c.DeleteArchive(ctx, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String("shop")}))
	_, err = c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("Events-Archive-shop")})
	wantAPIError(t, err, "ResourceNotFoundException", "Rule Events-Archive-shop does not exist on EventBus default.")
	_, err = c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("shop")})
	wantAPIError(t, err, "ResourceNotFoundException", "Archive shop does not exist.")
}

// TestReplayEndInFuture: as AWS does (localstack's AWS-validated replay
// tests start replays whose EventEndTime is a minute ahead, and they
// complete), StartReplay takes an EventEndTime still to come; the replay
// stays RUNNING until then and replays the events its window got meanwhile.
func TestReplayEndInFuture(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	c := in.Events
	s := newSink(t)
	ruleTo(t, c, "orders", `{"source":["shop"]}`, destination(t, c, "orders-hook", s.srv.URL+"/orders"))
	busARN := "arn:aws:events:" + in.Config.Region + ":" + in.Config.Account + ":event-bus/default"
	ca := must(c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("shop"), EventSourceArn: aws.String(busARN)}))
	archived := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for must(c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("shop")})).EventCount < n {
			if time.Now().After(deadline) {
				t.Fatalf("the archive did not get %d events", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	putEvents(t, c, "shop", now, 1)
	archived(1)

	end := time.Now().Add(5 * time.Second)
	sr := must(c.StartReplay(ctx, &eventbridge.StartReplayInput{ReplayName: aws.String("ahead"), EventSourceArn: ca.ArchiveArn,
		EventStartTime: aws.Time(now.Add(-time.Minute)), EventEndTime: aws.Time(end),
		Destination: &types.ReplayDestination{Arn: aws.String(busARN)}}))
	if sr.State != types.ReplayStateStarting {
		t.Fatalf("StartReplay = %+v", sr)
	}
	waitReplay(t, c, "ahead", types.ReplayStateRunning)
	// An event of the window put after StartReplay is replayed too.
	putEvents(t, c, "shop", now, 2)
	archived(2)
	if d := must(c.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("ahead")})); time.Now().Before(end) && d.State != types.ReplayStateRunning {
		t.Fatalf("before its EventEndTime the replay is %s", d.State)
	}
	d := waitReplay(t, c, "ahead", types.ReplayStateCompleted)
	if d.ReplayEndTime == nil || d.ReplayEndTime.Before(end.Truncate(time.Millisecond)) {
		t.Fatalf("the replay ended at %v, before its EventEndTime %v", d.ReplayEndTime, end)
	}
	if got := ns(s.wait(t, "/orders", 4)[2:]); !slices.Equal(got, []float64{1, 2}) {
		t.Fatalf("replayed %v, want events 1 2", got)
	}
}

// TestCancelReplay: a cancelled replay goes CANCELLING then CANCELLED and
// delivers nothing more.
func TestCancelReplay(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) { c.ReplayPause = time.Second })
	ctx := context.Background()
	c := in.Events
	s := newSink(t)
	ruleTo(t, c, "orders", `{"source":["shop"]}`, destination(t, c, "orders-hook", s.srv.URL+"/orders"))
	busARN := "arn:aws:events:" + in.Config.Region + ":" + in.Config.Account + ":event-bus/default"
	ca := must(c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("all"), EventSourceArn: aws.String(busARN)}))
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	putEvents(t, c, "shop", at, 1, 2, 3)
	s.wait(t, "/orders", 3)
	// An archive without a pattern keeps every event of the bus (the
	// CloudTrail records of the API calls too).
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("the archive did not fill")
		}
		if da := must(c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("all")})); da.EventCount >= 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(c.StartReplay(ctx, &eventbridge.StartReplayInput{ReplayName: aws.String("r"), EventSourceArn: ca.ArchiveArn,
		EventStartTime: aws.Time(at.Add(-time.Minute)), EventEndTime: aws.Time(at.Add(time.Minute)),
		Destination: &types.ReplayDestination{Arn: aws.String(busARN)}}))
	waitReplay(t, c, "r", types.ReplayStateRunning)
	cr := must(c.CancelReplay(ctx, &eventbridge.CancelReplayInput{ReplayName: aws.String("r")}))
	if cr.State != types.ReplayStateCancelling {
		t.Fatalf("CancelReplay = %+v", cr)
	}
	d := waitReplay(t, c, "r", types.ReplayStateCancelled)
	if d.ReplayEndTime == nil {
		t.Fatalf("cancelled replay has no end time: %+v", d)
	}
	s.wait(t, "/orders", 3)
	_, err := c.CancelReplay(ctx, &eventbridge.CancelReplayInput{ReplayName: aws.String("r")})
	wantAPIError(t, err, "IllegalStatusException", "Replay r cannot be cancelled in state CANCELLED.")
}

// TestErrors: AWS's validation and errors of every operation.
func TestErrors(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	c := in.Events
	region, account := in.Config.Region, in.Config.Account
	busARN := "arn:aws:events:" + region + ":" + account + ":event-bus/default"
	must(c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("other")}))
	otherRule := must(c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("x"), EventBusName: aws.String("other"), EventPattern: aws.String(`{"source":["a"]}`)}))
	must(c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("a"), EventSourceArn: aws.String(busARN)}))
	archiveARN := "arn:aws:events:" + region + ":" + account + ":archive/a"
	now := time.Now()

	type call func() error
	tests := []struct {
		name      string
		call      call
		code, msg string
	}{
		{"create: bad name", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("bad name"), EventSourceArn: aws.String(busARN)})
			return err
		}, "ValidationException", "1 validation error detected: Value 'bad name' at 'archiveName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"},
		{"create: long name", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String(strings.Repeat("a", 49)), EventSourceArn: aws.String(busARN)})
			return err
		}, "ValidationException", "1 validation error detected: Value '" + strings.Repeat("a", 49) + "' at 'archiveName' failed to satisfy constraint: Member must have length less than or equal to 48"},
		{"create: negative retention", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("b"), EventSourceArn: aws.String(busARN), RetentionDays: aws.Int32(-1)})
			return err
		}, "ValidationException", "1 validation error detected: Value '-1' at 'retentionDays' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"create: unknown bus", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("b"), EventSourceArn: aws.String("arn:aws:events:" + region + ":" + account + ":event-bus/nope")})
			return err
		}, "ResourceNotFoundException", "Event bus nope does not exist."},
		{"create: not a bus", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("b"), EventSourceArn: aws.String("arn:aws:events:" + region + ":" + account + ":rule/x")})
			return err
		}, "ValidationException", "Parameter EventSourceArn is not valid."},
		{"create: bad pattern", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("b"), EventSourceArn: aws.String(busARN), EventPattern: aws.String(`{"source":"x"}`)})
			return err
		}, "InvalidEventPatternException", `Event pattern is not valid. Reason: "source" must be an object or an array`},
		{"create: exists", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("a"), EventSourceArn: aws.String(busARN)})
			return err
		}, "ResourceAlreadyExistsException", "Archive a already exists."},
		{"describe: unknown", func() error {
			_, err := c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", "Archive nope does not exist."},
		{"update: unknown", func() error {
			_, err := c.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("nope"), RetentionDays: aws.Int32(1)})
			return err
		}, "ResourceNotFoundException", "Archive nope does not exist."},
		{"update: bad pattern", func() error {
			_, err := c.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("a"), EventPattern: aws.String(`[]`)})
			return err
		}, "InvalidEventPatternException", ""},
		{"delete: unknown", func() error {
			_, err := c.DeleteArchive(ctx, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", "Archive nope does not exist."},
		{"list: bad token", func() error {
			_, err := c.ListArchives(ctx, &eventbridge.ListArchivesInput{NextToken: aws.String("garbage")})
			return err
		}, "ValidationException", "The NextToken provided is not valid."},
		{"replay: unknown archive", func() error {
			_, err := c.StartReplay(ctx, replay("r", "arn:aws:events:"+region+":"+account+":archive/nope", busARN, now.Add(-time.Hour), now))
			return err
		}, "ValidationException", "Parameter EventSourceArn is not valid. Reason: Archive nope does not exist."},
		{"replay: not an archive", func() error {
			_, err := c.StartReplay(ctx, replay("r", busARN, busARN, now.Add(-time.Hour), now))
			return err
		}, "ValidationException", "Parameter EventSourceArn is not valid."},
		{"replay: times reversed", func() error {
			_, err := c.StartReplay(ctx, replay("r", archiveARN, busARN, now, now.Add(-time.Hour)))
			return err
		}, "ValidationException", "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."},
		{"replay: another bus", func() error {
			_, err := c.StartReplay(ctx, replay("r", archiveARN, "arn:aws:events:"+region+":"+account+":event-bus/other", now.Add(-time.Hour), now))
			return err
		}, "ValidationException", "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."},
		{"replay: rule of another bus", func() error {
			in := replay("r", archiveARN, busARN, now.Add(-time.Hour), now)
			in.Destination.FilterArns = []string{aws.ToString(otherRule.RuleArn)}
			_, err := c.StartReplay(ctx, in)
			return err
		}, "ValidationException", "Parameter Destination.FilterArns is not valid. Reason: " + aws.ToString(otherRule.RuleArn) + " is not a rule of event bus default."},
		{"replay: unknown rule", func() error {
			in := replay("r", archiveARN, busARN, now.Add(-time.Hour), now)
			in.Destination.FilterArns = []string{"arn:aws:events:" + region + ":" + account + ":rule/nope"}
			_, err := c.StartReplay(ctx, in)
			return err
		}, "ResourceNotFoundException", "Rule nope does not exist on EventBus default."},
		{"replay: bad name", func() error {
			_, err := c.StartReplay(ctx, replay(strings.Repeat("r", 65), archiveARN, busARN, now.Add(-time.Hour), now))
			return err
		}, "ValidationException", "1 validation error detected: Value '" + strings.Repeat("r", 65) + "' at 'replayName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"describe replay: unknown", func() error {
			_, err := c.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", "Replay nope does not exist."},
		{"cancel replay: unknown", func() error {
			_, err := c.CancelReplay(ctx, &eventbridge.CancelReplayInput{ReplayName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", "Replay nope does not exist."},
		{"list replays: bad state", func() error {
			_, err := c.ListReplays(ctx, &eventbridge.ListReplaysInput{State: "DONE"})
			return err
		}, "ValidationException", "1 validation error detected: Value 'DONE' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [STARTING, RUNNING, CANCELLING, COMPLETED, CANCELLED, FAILED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantAPIError(t, tt.call(), tt.code, tt.msg) })
	}

	// A replay name is taken once.
	must(c.StartReplay(ctx, replay("once", archiveARN, busARN, now.Add(-time.Hour), now)))
	_, err := c.StartReplay(ctx, replay("once", archiveARN, busARN, now.Add(-time.Hour), now))
	wantAPIError(t, err, "ResourceAlreadyExistsException", "Replay once already exists.")

	// Paging and filters of ListArchives.
	for _, n := range []string{"b1", "b2", "b3"} {
		must(c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String(n), EventSourceArn: aws.String(busARN)}))
	}
	p1 := must(c.ListArchives(ctx, &eventbridge.ListArchivesInput{NamePrefix: aws.String("b"), Limit: aws.Int32(2)}))
	if len(p1.Archives) != 2 || p1.NextToken == nil || aws.ToString(p1.Archives[0].ArchiveName) != "b1" {
		t.Fatalf("ListArchives page 1 = %+v", p1)
	}
	p2 := must(c.ListArchives(ctx, &eventbridge.ListArchivesInput{NamePrefix: aws.String("b"), Limit: aws.Int32(2), NextToken: p1.NextToken}))
	if len(p2.Archives) != 1 || p2.NextToken != nil || aws.ToString(p2.Archives[0].ArchiveName) != "b3" {
		t.Fatalf("ListArchives page 2 = %+v", p2)
	}
	_, err = c.ListArchives(ctx, &eventbridge.ListArchivesInput{NamePrefix: aws.String("a"), NextToken: p1.NextToken})
	wantAPIError(t, err, "ValidationException", "The NextToken provided is not valid.")
	all := must(c.ListArchives(ctx, &eventbridge.ListArchivesInput{EventSourceArn: aws.String(busARN)}))
	if len(all.Archives) != 4 {
		t.Fatalf("ListArchives by bus = %d archives", len(all.Archives))
	}
	if enabled := must(c.ListArchives(ctx, &eventbridge.ListArchivesInput{State: types.ArchiveStateEnabled})); len(enabled.Archives) != 4 {
		t.Fatalf("ListArchives by state = %d archives", len(enabled.Archives))
	}
	none := must(c.ListArchives(ctx, &eventbridge.ListArchivesInput{EventSourceArn: aws.String("arn:aws:events:" + region + ":" + account + ":event-bus/other")}))
	if len(none.Archives) != 0 {
		t.Fatalf("ListArchives of bus other = %+v", none.Archives)
	}
}

func replay(name, source, dest string, start, end time.Time) *eventbridge.StartReplayInput {
	return &eventbridge.StartReplayInput{ReplayName: aws.String(name), EventSourceArn: aws.String(source),
		EventStartTime: aws.Time(start), EventEndTime: aws.Time(end), Destination: &types.ReplayDestination{Arn: aws.String(dest)}}
}
