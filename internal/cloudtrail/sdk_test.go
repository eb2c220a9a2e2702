package cloudtrail_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	ct "github.com/conveyor/conveyor/internal/cloudtrail"
	"github.com/conveyor/conveyor/internal/identity"
	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// A few EventBridge operations, enough to make calls worth recording.
type ruleInput struct {
	Name         *string
	EventPattern *string
	EventBusName *string
}

type putRuleOutput struct{ RuleArn string }

type describeRuleOutput struct {
	Name, Arn, State string
}

type connInput struct {
	Name              *string
	AuthorizationType *string
	AuthParameters    json.RawMessage
}

type connOutput struct {
	ConnectionArn   string
	ConnectionState string
}

type putEventsInput struct {
	Entries []struct{ Source, DetailType, Detail *string }
}

type putEventsOutput struct {
	FailedEntryCount int
	Entries          []struct{ EventId string }
}

type env struct {
	url   string
	audit *audit.Audit
}

const account = "123456789012"

func start(t *testing.T) *env {
	t.Helper()
	st := storetest.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := audit.New(t.Context(), audit.Options{
		Config:    audit.Config{AccountID: account, Region: "us-east-1"},
		Store:     st,
		IndexPath: filepath.Join(t.TempDir(), "audit.db"),
		Logger:    log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Error(err)
		}
	})

	var mu sync.Mutex
	rules := map[string]bool{}
	eb := awsapi.NewEventBridge()
	awsapi.Handle(eb, "PutRule", func(ctx context.Context, in *ruleInput) (*putRuleOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		rules[*in.Name] = true
		return &putRuleOutput{RuleArn: "arn:aws:events:us-east-1:" + account + ":rule/" + *in.Name}, nil
	})
	awsapi.Handle(eb, "DescribeRule", func(ctx context.Context, in *ruleInput) (*describeRuleOutput, error) {
		return &describeRuleOutput{Name: *in.Name, Arn: "arn:aws:events:us-east-1:" + account + ":rule/" + *in.Name, State: "ENABLED"}, nil
	})
	awsapi.Handle(eb, "DeleteRule", func(ctx context.Context, in *ruleInput) (*struct{}, error) {
		mu.Lock()
		defer mu.Unlock()
		if !rules[*in.Name] {
			return nil, awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Rule %s does not exist.", *in.Name)
		}
		delete(rules, *in.Name)
		return nil, nil
	})
	awsapi.Handle(eb, "CreateConnection", func(ctx context.Context, in *connInput) (*connOutput, error) {
		return &connOutput{ConnectionArn: "arn:aws:events:us-east-1:" + account + ":connection/" + *in.Name + "/0000",
			ConnectionState: "AUTHORIZED"}, nil
	})
	awsapi.Handle(eb, "PutEvents", func(ctx context.Context, in *putEventsInput) (*putEventsOutput, error) {
		out := &putEventsOutput{}
		out.Entries = make([]struct{ EventId string }, len(in.Entries))
		return out, nil
	})
	keys, err := identity.Parse([]byte(`{"accessKeys":[{"accessKeyId":"AKIAALICE","userName":"alice"}]}`), account, false)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := awsapi.NewServer(awsapi.Config{Logger: log, Authenticator: awsapi.KeyDirectory{Keys: keys.Lookup}}, eb)
	if err != nil {
		t.Fatal(err)
	}
	if err := ct.Register(srv, a.Index()); err != nil {
		t.Fatal(err)
	}
	srv.Observe(a.Recorder().Observe)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &env{url: hs.URL, audit: a}
}

func (e *env) config(key string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.url),
		Credentials:  credentials.NewStaticCredentialsProvider(key, "secret", ""),
		Retryer:      sdktest.Retryer,
	}
}

// waitFor looks up until the history holds want events matching in.
func waitFor(t *testing.T, c *cloudtrail.Client, in *cloudtrail.LookupEventsInput, want int) []cttypes.Event {
	t.Helper()
	var events []cttypes.Event
	waitfor.Err(t, waitfor.Timeout, fmt.Sprintf("%d events in the history", want), func() error {
		out, err := c.LookupEvents(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if events = out.Events; len(events) < want {
			return fmt.Errorf("the history holds %d", len(events))
		}
		return nil
	})
	if len(events) != want {
		t.Fatalf("history holds %d events, want %d", len(events), want)
	}
	return events
}

func attr(k cttypes.LookupAttributeKey, v string) *cloudtrail.LookupEventsInput {
	return &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: k, AttributeValue: aws.String(v)}}}
}

func TestLookupEventsSDK(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	eb := eventbridge.NewFromConfig(e.config("AKIAALICE"))
	ebBob := eventbridge.NewFromConfig(e.config("AKIABOB"))
	trail := cloudtrail.NewFromConfig(e.config("AKIAALICE"))
	before := time.Now().Add(-time.Second)

	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("orders"),
		EventPattern: aws.String(`{"source":["shop"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ebBob.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	_, err := ebBob.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("missing")})
	var nf *ebtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DeleteRule(missing) = %v", err)
	}
	if _, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("partner"),
		AuthorizationType: ebtypes.ConnectionAuthorizationTypeBasic,
		AuthParameters: &ebtypes.CreateConnectionAuthRequestParameters{BasicAuthParameters: &ebtypes.CreateConnectionBasicAuthRequestParameters{
			Username: aws.String("svc"), Password: aws.String("hunter2")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("shop"), DetailType: aws.String("x"), Detail: aws.String(`{}`)}}}); err != nil {
		t.Fatal(err)
	}

	// The last write recorded; by then all before it are (one publisher, in order).
	conn := waitFor(t, trail, attr(cttypes.LookupAttributeKeyEventName, "CreateConnection"), 1)[0]

	var rec map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(conn.CloudTrailEvent)), &rec); err != nil {
		t.Fatal(err)
	}
	params := rec["requestParameters"].(map[string]any)
	basic := params["authParameters"].(map[string]any)["basicAuthParameters"].(map[string]any)
	if basic["password"] != audit.Hidden || basic["username"] != "svc" {
		t.Errorf("connection credentials recorded as %v", basic)
	}
	if strings.Contains(aws.ToString(conn.CloudTrailEvent), "hunter2") {
		t.Error("the password is in the record")
	}
	if aws.ToString(conn.Username) != "alice" || aws.ToString(conn.AccessKeyId) != "AKIAALICE" ||
		aws.ToString(conn.ReadOnly) != "false" || aws.ToString(conn.EventSource) != "events.amazonaws.com" ||
		conn.EventTime == nil || conn.EventTime.Before(before.Truncate(time.Second)) ||
		len(conn.Resources) != 1 || aws.ToString(conn.Resources[0].ResourceType) != audit.TypeConnection ||
		aws.ToString(conn.Resources[0].ResourceName) != "partner" {
		t.Errorf("CreateConnection event: %+v", conn)
	}

	// Every attribute finds what it should.
	putRule := waitFor(t, trail, attr(cttypes.LookupAttributeKeyEventName, "PutRule"), 1)[0]
	for _, c := range []struct {
		in   *cloudtrail.LookupEventsInput
		want []string // event names, newest first
	}{
		{attr(cttypes.LookupAttributeKeyEventId, aws.ToString(putRule.EventId)), []string{"PutRule"}},
		{attr(cttypes.LookupAttributeKeyEventName, "DeleteRule"), []string{"DeleteRule"}},
		{attr(cttypes.LookupAttributeKeyUsername, "AKIABOB"), []string{"DeleteRule", "DescribeRule"}},
		{attr(cttypes.LookupAttributeKeyAccessKeyId, "AKIABOB"), []string{"DeleteRule", "DescribeRule"}},
		{attr(cttypes.LookupAttributeKeyResourceType, audit.TypeRule), []string{"DeleteRule", "DescribeRule", "PutRule"}},
		{attr(cttypes.LookupAttributeKeyResourceName, "orders"), []string{"DescribeRule", "PutRule"}},
		{attr(cttypes.LookupAttributeKeyResourceName, "arn:aws:events:us-east-1:"+account+":rule/orders"), []string{"DescribeRule", "PutRule"}},
		{attr(cttypes.LookupAttributeKeyReadOnly, "false"), []string{"CreateConnection", "DeleteRule", "PutRule"}},
		{attr(cttypes.LookupAttributeKeyEventSource, "events.amazonaws.com"), []string{"CreateConnection", "DeleteRule", "DescribeRule", "PutRule"}},
		{attr(cttypes.LookupAttributeKeyEventName, "PutEvents"), nil}, // a data event: never in the history
	} {
		out, err := trail.LookupEvents(ctx, c.in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range out.Events {
			got = append(got, aws.ToString(ev.EventName))
		}
		if !slices.Equal(got, c.want) {
			a := c.in.LookupAttributes[0]
			t.Errorf("%s=%s: got %v, want %v", a.AttributeKey, aws.ToString(a.AttributeValue), got, c.want)
		}
	}
	// The failed call is recorded with its error.
	del := waitFor(t, trail, attr(cttypes.LookupAttributeKeyEventName, "DeleteRule"), 1)[0]
	if !strings.Contains(aws.ToString(del.CloudTrailEvent), `"errorCode":"ResourceNotFoundException","errorMessage":"Rule missing does not exist."`) {
		t.Errorf("failed call recorded as %s", aws.ToString(del.CloudTrailEvent))
	}
	// Read-only calls include the lookups themselves, as on AWS.
	ro := waitFor(t, trail, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{
		AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("LookupEvents")}}, MaxResults: aws.Int32(1)}, 1)
	if aws.ToString(ro[0].ReadOnly) != "true" || aws.ToString(ro[0].EventSource) != "cloudtrail.amazonaws.com" {
		t.Errorf("LookupEvents recorded as %+v", ro[0])
	}

	// Time range: nothing in a future one; nothing before the calls.
	out, err := trail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{StartTime: aws.Time(time.Now().Add(time.Hour)),
		EndTime: aws.Time(time.Now().Add(2 * time.Hour))})
	if err != nil || len(out.Events) != 0 {
		t.Errorf("future range: %v, %v", out, err)
	}
	out, err = trail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{EndTime: aws.Time(before.Add(-time.Hour))})
	if err != nil || len(out.Events) != 0 {
		t.Errorf("past range: %v, %v", out, err)
	}
}

func TestLookupEventsPaging(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	eb := eventbridge.NewFromConfig(e.config("AKIAALICE"))
	trail := cloudtrail.NewFromConfig(e.config("AKIAALICE"))
	const n = 11
	for i := range n {
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r" + string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, trail, attr(cttypes.LookupAttributeKeyEventName, "PutRule"), n)

	in := attr(cttypes.LookupAttributeKeyEventName, "PutRule")
	in.MaxResults = aws.Int32(3)
	p := cloudtrail.NewLookupEventsPaginator(trail, in)
	var names []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Events) > 3 {
			t.Fatalf("page of %d", len(out.Events))
		}
		for _, ev := range out.Events {
			var rec struct{ RequestParameters struct{ Name string } }
			if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil {
				t.Fatal(err)
			}
			names = append(names, rec.RequestParameters.Name)
		}
	}
	want := []string{"rk", "rj", "ri", "rh", "rg", "rf", "re", "rd", "rc", "rb", "ra"}
	if !slices.Equal(names, want) || pages != 4 {
		t.Errorf("paged %d pages: %v, want 4 pages of %v", pages, names, want)
	}

	// A token is bound to its lookup's parameters.
	first, err := trail.LookupEvents(ctx, in)
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v, %v", first, err)
	}
	other := attr(cttypes.LookupAttributeKeyEventName, "DescribeRule")
	other.NextToken = first.NextToken
	_, err = trail.LookupEvents(ctx, other)
	var bad *cttypes.InvalidNextTokenException
	if !errors.As(err, &bad) {
		t.Errorf("token reused with other parameters: %v", err)
	}
	// The page size may change between pages.
	again := attr(cttypes.LookupAttributeKeyEventName, "PutRule")
	again.NextToken, again.MaxResults = first.NextToken, aws.Int32(50)
	if out, err := trail.LookupEvents(ctx, again); err != nil || len(out.Events) != n-3 || out.NextToken != nil {
		t.Errorf("rest of the pages: %v, %v", out, err)
	}
}

func TestLookupEventsErrors(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	trail := cloudtrail.NewFromConfig(e.config("AKIAALICE"))
	now := time.Now()
	two := []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("PutRule")},
		{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("alice")},
	}
	long := strings.Repeat("a", 1999) + "_"
	for _, c := range []struct {
		name string
		in   *cloudtrail.LookupEventsInput
		want any
		msg  string
	}{
		{"two attributes", &cloudtrail.LookupEventsInput{LookupAttributes: two},
			new(*cttypes.InvalidLookupAttributesException), "You can specify only one lookup attribute; 2 were specified."},
		{"unknown key", attr("EventCategory", "insight"), new(*cttypes.InvalidLookupAttributesException), `Invalid AttributeKey "EventCategory".`},
		{"empty value", attr(cttypes.LookupAttributeKeyEventName, ""), new(*cttypes.InvalidLookupAttributesException), "between 1 and 2000"},
		{"value too long", attr(cttypes.LookupAttributeKeyEventName, long), new(*cttypes.InvalidLookupAttributesException), "between 1 and 2000"},
		{"insight by user", &cloudtrail.LookupEventsInput{EventCategory: cttypes.EventCategoryInsight,
			LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("x")}}},
			new(*cttypes.InvalidLookupAttributesException), "not supported for Insights events"},
		{"bad category", &cloudtrail.LookupEventsInput{EventCategory: "data"}, new(*cttypes.InvalidEventCategoryException), "data"},
		{"start after end", &cloudtrail.LookupEventsInput{StartTime: aws.Time(now), EndTime: aws.Time(now.Add(-time.Second))},
			new(*cttypes.InvalidTimeRangeException), "Start time must not be after end time."},
		// Without EndTime the range ends now.
		{"start in an hour", &cloudtrail.LookupEventsInput{StartTime: aws.Time(now.Add(time.Hour))},
			new(*cttypes.InvalidTimeRangeException), "Start time must not be after end time."},
		{"max 0", &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(0)}, new(*cttypes.InvalidMaxResultsException), "MaxResults must be between 1 and 50."},
		{"max 51", &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}, new(*cttypes.InvalidMaxResultsException), "MaxResults must be between 1 and 50."},
		{"garbage token", &cloudtrail.LookupEventsInput{NextToken: aws.String("not a token")}, new(*cttypes.InvalidNextTokenException), "Invalid NextToken"},
		{"forged token", &cloudtrail.LookupEventsInput{NextToken: aws.String("AQAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAA")}, new(*cttypes.InvalidNextTokenException), "Invalid NextToken"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := trail.LookupEvents(ctx, c.in)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.As(err, c.want) {
				t.Errorf("got %T %v, want %T", err, err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("message %q does not say %q", err, c.msg)
			}
		})
	}
	// Insights: Conveyor has none, so an insight lookup is empty, not an error.
	out, err := trail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{EventCategory: cttypes.EventCategoryInsight})
	if err != nil || len(out.Events) != 0 {
		t.Errorf("insight lookup: %v, %v", out, err)
	}
}

// TestLookupEventsTimeEdges: the times an AWS timestamp can carry are
// looked up (far past, before 1970, fractional, year 9999); a StartTime
// after the end of the range (now, without EndTime) is AWS's
// InvalidTimeRangeException; a number no RFC 3339 time can write is a
// SerializationException, as any member that cannot be read. The bodies
// are sent as the AWS CLI sends them: the Go SDK cannot write times after
// 2262 (it goes through UnixNano).
func TestLookupEventsTimeEdges(t *testing.T) {
	e := start(t)
	const year9999 = "253402300799" // 9999-12-31T23:59:59Z
	for _, c := range []struct {
		body         string
		status       int
		code, prefix string
	}{
		{`{"StartTime":` + year9999 + `}`, 400, "InvalidTimeRangeException", "Start time must not be after end time."},
		{`{"StartTime":253370764800}`, 400, "InvalidTimeRangeException", "Start time must not be after end time."}, // 9999-01-01
		{`{"StartTime":` + year9999 + `,"EndTime":946684800}`, 400, "InvalidTimeRangeException", "Start time must not be after end time."},
		{`{"StartTime":` + year9999 + `,"EndTime":` + year9999 + `.999}`, 200, "", ""},
		{`{"StartTime":1704164645.25,"EndTime":` + year9999 + `}`, 200, "", ""},
		{`{"EndTime":` + year9999 + `}`, 200, "", ""},
		{`{"StartTime":-62135596800}`, 200, "", ""}, // year 1
		{`{"StartTime":-86400,"EndTime":-1}`, 200, "", ""},
		{`{"StartTime":-1.5,"EndTime":-0.25}`, 200, "", ""},
		{`{"StartTime":1.7041646455E9}`, 200, "", ""},
		{`{"StartTime":253402300800}`, 400, "SerializationException", "timestamp 253402300800 is outside the range"},
		{`{"EndTime":-62167219201}`, 400, "SerializationException", "timestamp -62167219201 is outside the range"},
		{`{"StartTime":1e300}`, 400, "SerializationException", "timestamp 1e300 is outside the range"},
		{`{"StartTime":"soon"}`, 400, "SerializationException", ""},
	} {
		got := lookupRaw(t, e, c.body)
		if got.status != c.status || got.code != c.code || !strings.HasPrefix(got.message, c.prefix) {
			t.Errorf("%s: %d %s %q, want %d %s %q", c.body, got.status, got.code, got.message, c.status, c.code, c.prefix)
		}
	}
}

type rawAnswer struct {
	status        int
	code, message string
}

// lookupRaw posts a LookupEvents body as is.
func lookupRaw(t *testing.T, e *env, body string) rawAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CloudTrail_20131101.LookupEvents")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return rawAnswer{resp.StatusCode, out.Type, out.Message}
}
