package console_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/chromedp/chromedp"

	"github.com/conveyor/conveyor/internal/console"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// browser returns a chromedp context driving a headless Chromium, or skips the test when
// none is installed (.ci/run installs Debian's chromium).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CONVEYOR_REQUIRE_BROWSER") != "" {
			t.Fatal("no Chromium installed, and CONVEYOR_REQUIRE_BROWSER is set")
		}
		t.Skip("no Chromium installed (apt-get install chromium; .ci/run does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// helpers returns, for the browser b: do (run steps), poll (wait until a JavaScript
// expression is true) and text (an element's text), each bounded in time and logging what the
// page shows when it fails.
func helpers(t *testing.T, b context.Context) (do func(...chromedp.Action[chromedp.Void]) error, poll func(string) error, text func(string) string) {
	shows := func() string {
		page, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector("#page")?.innerText ?? document.body.innerText`))
		return page
	}
	do = func(steps ...chromedp.Action[chromedp.Void]) error {
		ctx, cancel := context.WithTimeout(b, 20*time.Second)
		defer cancel()
		err := chromedp.Do(ctx, steps...)
		if err != nil {
			t.Logf("%v; the page shows:\n%s", err, shows())
		}
		return err
	}
	poll = func(expr string) error {
		ctx, cancel := context.WithTimeout(b, 20*time.Second)
		defer cancel()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr))
		if err != nil {
			t.Logf("waiting for %s: %v; the page shows:\n%s", expr, err, shows())
		}
		return err
	}
	text = func(sel string) string {
		ctx, cancel := context.WithTimeout(b, 10*time.Second)
		defer cancel()
		s, _ := chromedp.Run(ctx, chromedp.Text(sel))
		return s
	}
	return do, poll, text
}

// set sets the value of the element sel as a user's typing would (its input and change
// events fire).
func set(sel, value string) chromedp.Action[chromedp.Void] {
	return script(fmt.Sprintf(`(el => { el.value = %q; el.dispatchEvent(new Event("input", {bubbles: true})); el.dispatchEvent(new Event("change", {bubbles: true})); })(document.querySelector(%q))`, value, sel))
}

// script runs the JavaScript js in the page, as a step.
func script(js string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any](js)(ctx, t)
		return chromedp.Void{}, err
	}
}

// screenshot saves the page as name.png in $CONVEYOR_SCREENSHOTS, when it is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CONVEYOR_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A user signs in with an access key, finds a call in Event history by user name, sees the
// sandbox explain a non-match, and disables a rule: the action is recorded under the user.
func TestConsoleInBrowser(t *testing.T) {
	// The test's key may put aws.ec2 events, as AWS's own services do.
	in := servertest.Start(t, servertest.Verified(t), func(c *server.Config) { c.TrustedSources = []string{servertest.AccessKeyID} })
	ctx := context.Background()
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("ec2-stopped"),
		EventPattern: aws.String(`{"source":["aws.ec2"],"detail":{"state":["stopped","terminated"]}}`)}); err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	do, poll, text := helpers(t, b)

	// A wrong secret is refused; the right one signs in.
	err := do(
		chromedp.Navigate(in.URL+"/console/"),
		chromedp.WaitVisible("#accessKeyId"),
		chromedp.SendKeys("#accessKeyId", servertest.AccessKeyID),
		chromedp.SendKeys("#secretAccessKey", "wrong"),
		chromedp.Submit("#accessKeyId"),
		chromedp.WaitVisible(".problem"))
	if got := text(".problem"); err != nil || !strings.Contains(got, "not right") {
		t.Fatalf("wrong secret: %q %v", got, err)
	}
	screenshot(t, b, "login")
	err = do(
		chromedp.SendKeys("#accessKeyId", servertest.AccessKeyID),
		chromedp.SendKeys("#secretAccessKey", servertest.SecretAccessKey),
		chromedp.Submit("#accessKeyId"),
		chromedp.WaitVisible("#history tbody tr.row"))
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}

	// Event history, filtered by user name.
	err = do(
		chromedp.SetValue("#h-key", "Username"),
		chromedp.SendKeys("#h-value", "tester"),
		chromedp.Click(`form.filters button[type="submit"]`))
	if err == nil {
		err = poll(`[...document.querySelectorAll("#history tbody tr.row")].some(r => r.cells[2].textContent === "PutRule" && r.cells[1].textContent === "tester")`)
	}
	// The PutRule row opens onto its whole record.
	putRule := `[...document.querySelectorAll("#history tbody tr.row")].find(r => r.cells[2].textContent === "PutRule")`
	if err == nil {
		_, err = chromedp.Run(b, chromedp.Evaluate[any](putRule+`.click()`))
	}
	got, _ := chromedp.Run(b, chromedp.Evaluate[string](putRule+`.nextElementSibling.hidden ? "" : `+putRule+`.nextElementSibling.innerText`))
	if err != nil || !strings.Contains(got, `"eventName": "PutRule"`) || !strings.Contains(got, `"userName": "tester"`) {
		t.Fatalf("event history: %q %v", got, err)
	}
	screenshot(t, b, "event-history")

	// A row opens from the keyboard too.
	closed := `[...document.querySelectorAll("#history tbody tr.row")].find(r => r.nextElementSibling.hidden)`
	if _, err := chromedp.Run(b, chromedp.Evaluate[any](closed+`.setAttribute("id", "closed-row")`)); err != nil {
		t.Fatal(err)
	}
	if err := do(chromedp.Focus("#closed-row"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	if err := poll(`!document.querySelector("#closed-row").nextElementSibling.hidden && document.querySelector("#closed-row").getAttribute("aria-expanded") === "true"`); err != nil {
		t.Fatalf("keyboard: %v", err)
	}

	// At a phone's width the page does not scroll sideways (wide tables scroll in their box).
	if err := do(chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	if err := poll(`document.documentElement.scrollWidth <= 391`); err != nil {
		t.Fatalf("phone width: %v", err)
	}
	screenshot(t, b, "event-history-phone")
	if err := do(chromedp.EmulateReset()); err != nil {
		t.Fatal(err)
	}

	// The sandbox says why the pending state does not match.
	err = do(chromedp.Navigate(in.URL + "/console/#/sandbox"))
	if err == nil {
		err = poll(`document.querySelector("#s-status")?.textContent === "No match"`)
	}
	if got := text("#s-why"); err != nil || !strings.Contains(got, "detail.state") || !strings.Contains(got, `"pending"`) {
		t.Fatalf("sandbox: %q %v", got, err)
	}
	screenshot(t, b, "sandbox")
	// A pattern typed wrong gets EventBridge's message as you type.
	err = do(chromedp.SetValue("#s-pattern", `{"source":[{"prefix":1}]}`), chromedp.SendKeys("#s-pattern", " "))
	if err == nil {
		err = poll(`document.querySelector("#s-status").textContent.startsWith("InvalidEventPatternException")`)
	}
	if err != nil {
		t.Fatalf("sandbox validation: %v (%q)", err, text("#s-status"))
	}

	// The live tail shows an event as it arrives, the rule it matched, and its delivery.
	_, err = in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("stopped")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ec2-stopped"), Targets: []ebtypes.Target{
		{Id: aws.String("queue"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:stopped")}}}); err != nil {
		t.Fatal(err)
	}
	err = do(chromedp.Navigate(in.URL + "/console/#/tail"))
	if err == nil {
		err = poll(`document.querySelector("#t-status")?.textContent.startsWith("Watching bus default")`)
	}
	if err != nil {
		t.Fatalf("live tail: %v", err)
	}
	put, err := in.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("aws.ec2"), DetailType: aws.String("EC2 Instance State-change Notification"), Detail: aws.String(`{"state":"stopped"}`)},
		{Source: aws.String("aws.ec2"), DetailType: aws.String("EC2 Instance State-change Notification"), Detail: aws.String(`{"state":"pending"}`)}}})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %+v %v", put, err)
	}
	stopped := `document.querySelector('#tail tr[data-event="` + aws.ToString(put.Entries[0].EventId) + `"]')`
	pending := `document.querySelector('#tail tr[data-event="` + aws.ToString(put.Entries[1].EventId) + `"]')`
	if err := poll(stopped + `?.querySelector(".outcomes")?.textContent === "ec2-stopped → queue: delivered"`); err != nil {
		t.Fatalf("live tail of the stopped event: %v", err)
	}
	if err := poll(pending + `?.querySelector(".matched")?.textContent === "no rule"`); err != nil {
		t.Fatalf("live tail of the pending event: %v", err)
	}
	screenshot(t, b, "live-tail")

	// The rule's counters show the delivery.
	err = do(chromedp.Navigate(in.URL + "/console/#/rules"))
	if err == nil {
		err = poll(`document.querySelector('tr[data-rule="ec2-stopped"] [data-counter="Invoked"] .count')?.textContent === "invoked 1"`)
	}
	if err != nil {
		t.Fatalf("rule counters: %v", err)
	}

	// Disable the rule from the rules page.
	err = do(
		chromedp.Navigate(in.URL+"/console/#/rules"),
		chromedp.WaitVisible(`tr[data-rule="ec2-stopped"] button.secondary`),
		chromedp.Click(`tr[data-rule="ec2-stopped"] button.secondary`))
	if err == nil {
		err = poll(`document.querySelector('tr[data-rule="ec2-stopped"] .badge')?.textContent === "DISABLED"`)
	}
	if err != nil {
		t.Fatalf("disable: %v", err)
	}
	screenshot(t, b, "rules")
	r, err := in.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("ec2-stopped")})
	if err != nil || r.State != "DISABLED" {
		t.Fatalf("rule after the console disabled it: %+v %v", r, err)
	}
	if rec := lookup(t, in, "DisableRule"); aws.ToString(rec.Username) != "tester" ||
		!strings.Contains(aws.ToString(rec.CloudTrailEvent), "conveyor-console") {
		t.Fatalf("DisableRule record: %+v", rec)
	}
}

// The console's calls need the session and its CSRF token.
func TestConsoleRefusesForeignCalls(t *testing.T) {
	in := servertest.Start(t, servertest.Verified(t))
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/console/api", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AWSEvents.ListEventBuses")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a session: %d", resp.StatusCode)
	}
	// Without --auth there is no login, but a call still needs the page's token.
	open := servertest.Start(t)
	req, _ = http.NewRequest(http.MethodPost, open.URL+"/console/api", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AWSEvents.ListEventBuses")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", resp.StatusCode)
	}
	// With the page's token, the call is made, and recorded, as the local user.
	resp, err = http.Get(open.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	pageHTML, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="conveyor-csrf" content="([^"]+)"`).FindSubmatch(pageHTML)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", pageHTML)
	}
	req, _ = http.NewRequest(http.MethodPost, open.URL+"/console/api", strings.NewReader(`{"Name":"from-console"}`))
	req.Header.Set("X-Amz-Target", "AWSEvents.CreateEventBus")
	req.Header.Set("X-Conveyor-Csrf", string(m[1]))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with the token: %d", resp.StatusCode)
	}
	out := lookup(t, open, "CreateEventBus")
	if aws.ToString(out.Username) != console.LocalUser {
		t.Fatalf("CreateEventBus recorded for %q, want %q", aws.ToString(out.Username), console.LocalUser)
	}
}

// lookup waits for the one record of the event name in the history (the index follows the
// records within moments) and returns it.
func lookup(t *testing.T, in *servertest.Instance, name string) cttypes.Event {
	t.Helper()
	var ev cttypes.Event
	waitfor.Err(t, waitfor.Timeout, "the one record of "+name, func() error {
		out, err := in.CloudTrail.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
			{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) != 1 {
			return fmt.Errorf("%d records", len(out.Events))
		}
		ev = out.Events[0]
		return nil
	})
	return ev
}

// A rule made with the builder (a numeric condition, a queue target with an InputPath) is the
// rule EventBridge stores; a schedule shows its next firings as it is typed.
func TestRuleEditorInBrowser(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	if _, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	if w, err := zw.Create("notify.sh"); err == nil {
		_, _ = w.Write([]byte("#!/bin/sh\ncat\n"))
	}
	_ = zw.Close()
	if _, err := in.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("notify"), Runtime: "conveyor.command",
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Handler: aws.String("./notify.sh"), Code: &lambdatypes.FunctionCode{ZipFile: zipped.Bytes()}}); err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	do, poll, _ := helpers(t, b)
	err := do(
		chromedp.Navigate(in.URL+"/console/#/rules/new"),
		chromedp.WaitVisible(".f-path"),
		chromedp.SendKeys("#r-name", "big-orders"),
		set("#b-source", "shop"), set("#b-detail-type", "Order Placed"),
		set(".f-path", "total"), set(".f-op", "numeric"), set(".f-value", "> 100"))
	if err == nil {
		err = poll(`document.querySelector("#r-pattern-status").textContent === "Valid pattern"`)
	}
	if err == nil { // the ARNs offered for targets: the queue, and the function (through the Lambda API)
		err = poll(`[...document.querySelectorAll("#known-arns option")].some(o => o.value === "arn:aws:lambda:us-east-1:000000000000:function:notify") &&
			[...document.querySelectorAll("#known-arns option")].some(o => o.value === "arn:aws:sqs:us-east-1:000000000000:orders")`)
	}
	if err != nil {
		t.Fatalf("builder: %v", err)
	}
	err = do(
		chromedp.Click("#r-add-target"),
		chromedp.SendKeys(".t-id", "queue"),
		chromedp.SendKeys(".t-arn", "arn:aws:sqs:us-east-1:000000000000:orders"),
		set(".t-mode", "path"),
		chromedp.SendKeys(".t-path", "$.detail"),
		chromedp.SendKeys(".t-retries", "3"))
	if err == nil {
		screenshot(t, b, "create-rule")
		err = do(chromedp.Click("#r-save"))
	}
	if err == nil {
		err = poll(`location.hash === "#/rules" && !!document.querySelector('tr[data-rule="big-orders"]')`)
	}
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	r, err := in.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("big-orders")})
	if err != nil || aws.ToString(r.EventPattern) != `{"source":["shop"],"detail-type":["Order Placed"],"detail":{"total":[{"numeric":[">",100]}]}}` {
		t.Fatalf("stored rule: %v %v", aws.ToString(r.EventPattern), err)
	}
	ts, err := in.Events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("big-orders")})
	if err != nil || len(ts.Targets) != 1 || aws.ToString(ts.Targets[0].InputPath) != "$.detail" ||
		aws.ToInt32(ts.Targets[0].RetryPolicy.MaximumRetryAttempts) != 3 {
		t.Fatalf("stored targets: %+v %v", ts, err)
	}
	// A schedule rule: the next five firings show as the expression is typed.
	err = do(
		chromedp.Navigate(in.URL+"/console/#/rules/new"),
		chromedp.WaitVisible("#r-name"),
		chromedp.Click("#r-kind-schedule"),
		chromedp.SendKeys("#r-schedule", "rate(5 minutes)"))
	if err == nil {
		err = poll(`document.querySelectorAll("#r-next li").length === 5`)
	}
	if err != nil {
		t.Fatalf("schedule: %v", err)
	}
	err = do(set("#r-schedule", "rate(5 minute)"))
	if err == nil {
		err = poll(`document.querySelector("#r-schedule-status").textContent.includes("Parameter ScheduleExpression is not valid.")`)
	}
	if err != nil {
		t.Fatalf("bad schedule: %v", err)
	}
}

// A dead letter is browsed (with EventBridge's error attributes) without being received, and
// redriven to its target from the queues page once the target works.
func TestQueuesInBrowser(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) { c.RetryBackoff = 10 * time.Millisecond })
	ctx := context.Background()
	var up atomic.Bool
	var delivered atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		delivered.Add(1)
	}))
	defer hook.Close()
	if _, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("failures")}); err != nil {
		t.Fatal(err)
	}
	conn, err := in.Events.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("c"),
		AuthorizationType: ebtypes.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &ebtypes.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &ebtypes.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("k"), ApiKeyValue: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := in.Events.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("hook"),
		ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String(hook.URL), HttpMethod: ebtypes.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("orders"), EventPattern: aws.String(`{"source":["shop"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("orders"), Targets: []ebtypes.Target{{
		Id: aws.String("hook"), Arn: dest.ApiDestinationArn, RetryPolicy: &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:failures")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"id":7}`)}}}); err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	do, poll, text := helpers(t, b)
	err = do(chromedp.Navigate(in.URL + "/console/#/queues"))
	for err == nil { // the dead letter arrives within moments: reload until the page shows it
		if err = poll(`!!document.querySelector('#queues tr[data-queue="failures"]')`); err != nil {
			break
		}
		if text(`#queues tr[data-queue="failures"] .depth`) == "1" {
			break
		}
		err = do(chromedp.Reload())
	}
	if err == nil {
		err = do(chromedp.Click(`#queues tr[data-queue="failures"] .browse`))
	}
	if err == nil {
		err = poll(`document.querySelector("#messages .message-attributes")?.textContent.includes("ERROR_CODE")`)
	}
	if err != nil {
		t.Fatalf("browse: %v", err)
	}
	if got := text("#messages .message-attributes"); !strings.Contains(got, "RULE_ARN") || !strings.Contains(got, "MaximumRetryAttempts") {
		t.Errorf("dead letter's attributes: %q", got)
	}
	screenshot(t, b, "queues")
	up.Store(true)
	err = do(chromedp.Click(`#queues tr[data-queue="failures"] .redrive`))
	if err == nil {
		err = poll(`document.querySelector("#q-status")?.textContent.startsWith("failures: 1 dead letters sent back")`)
	}
	if err != nil {
		t.Fatalf("redrive: %v", err)
	}
	waitfor.True(t, "the redriven event at its target", func() bool { return delivered.Load() > 0 })
}

// An archive is made from the console, and a replay of it started and watched until it
// completes.
func TestArchivesInBrowser(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	b := browser(t)
	do, poll, _ := helpers(t, b)
	err := do(
		chromedp.Navigate(in.URL+"/console/#/archives"),
		chromedp.WaitVisible("#a-name"),
		chromedp.SendKeys("#a-name", "everything"),
		chromedp.Click(`#a-create button[type="submit"]`))
	if err == nil {
		err = poll(`!!document.querySelector('#archives tr[data-archive="everything"]')`)
	}
	if err != nil {
		t.Fatalf("create archive: %v", err)
	}
	if _, err := in.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("shop"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{"id":1}`)}}}); err != nil {
		t.Fatal(err)
	}
	err = do(
		chromedp.SendKeys(`#archives tr[data-archive="everything"] .r-name`, "again"),
		chromedp.Click(`#archives tr[data-archive="everything"] .replay`))
	if err == nil {
		err = poll(`document.querySelector('#replays tr[data-replay="again"] .state')?.textContent === "COMPLETED"`)
	}
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	screenshot(t, b, "archives")
	r, err := in.Events.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("again")})
	if err != nil || r.State != "COMPLETED" {
		t.Fatalf("replay: %+v %v", r, err)
	}
}

// A function is tested from the functions page (its answer and its log shown), its queue
// trigger disabled, and it is deleted; each action is the Lambda API's, recorded.
func TestFunctionsInBrowser(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	h := &zip.FileHeader{Name: "greet.sh"}
	h.SetMode(0o755)
	if w, err := zw.CreateHeader(h); err == nil {
		_, _ = w.Write([]byte("#!/bin/sh\nname=$(sed 's/.*\"name\":\"\\([^\"]*\\)\".*/\\1/')\necho \"greeting $name\" >&2\nprintf '{\"greeting\":\"hello %s\"}' \"$name\"\n"))
	}
	_ = zw.Close()
	if _, err := in.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("greet"), Runtime: "conveyor.command",
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Handler: aws.String("./greet.sh"), Code: &lambdatypes.FunctionCode{ZipFile: zipped.Bytes()},
		Environment: &lambdatypes.Environment{Variables: map[string]string{"STAGE": "test"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("inbox")}); err != nil {
		t.Fatal(err)
	}
	m, err := in.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("greet"),
		EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:inbox")})
	if err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	do, poll, text := helpers(t, b)
	row := `#functions tr[data-function="greet"]`
	err = do(chromedp.Navigate(in.URL+"/console/#/functions"), chromedp.WaitVisible(row), chromedp.Click(row),
		set(".fn-payload", `{"name":"Ada"}`), chromedp.Click(".fn-invoke"))
	if err == nil {
		err = poll(`document.querySelector(".fn-outcome")?.textContent === "Succeeded"`)
	}
	if err != nil {
		t.Fatalf("test invocation: %v", err)
	}
	if got := text(".fn-response"); !strings.Contains(got, `"greeting": "hello Ada"`) {
		t.Errorf("the function's answer shown: %q", got)
	}
	if got := text(".fn-log"); !strings.Contains(got, "greeting Ada") || !strings.Contains(got, "REPORT RequestId: ") {
		t.Errorf("the function's log shown: %q", got)
	}
	if got := text(row); !strings.Contains(got, "inbox") || !strings.Contains(got, "Enabled") {
		t.Errorf("the function's row: %q", got)
	}
	screenshot(t, b, "functions")
	err = do(chromedp.Click(".fn-trigger"))
	if err == nil {
		err = poll(`document.querySelector("#f-status")?.textContent === "Disabled the trigger from inbox."`)
	}
	if err != nil {
		t.Fatalf("disable the trigger: %v", err)
	}
	got, err := in.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil || (aws.ToString(got.State) != "Disabled" && aws.ToString(got.State) != "Disabling") {
		t.Fatalf("the trigger after Disable: %v %v", got, err)
	}
	err = do(chromedp.Click(row), script(`window.prompt = () => "greet"`), chromedp.Click(".fn-delete"))
	if err == nil {
		err = poll(`document.querySelector("#f-status")?.textContent === "greet deleted."`)
	}
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := in.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("greet")}); err == nil {
		t.Error("the function is still there")
	}
	lookup(t, in, "DeleteFunction20150331")
}

// A queue's own dead letters go back to it from the queues page, with SQS's dead-letter
// queue redrive (StartMessageMoveTask).
func TestMoveBackInBrowser(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	if _, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs-dlq")}); err != nil {
		t.Fatal(err)
	}
	jobs, err := in.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "0",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs-dlq","maxReceiveCount":"1"}`}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: jobs.QueueUrl, MessageBody: aws.String("poison")}); err != nil {
		t.Fatal(err)
	}
	depth := func(url string) string {
		a, err := in.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
		if err != nil {
			t.Fatal(err)
		}
		return a.Attributes["ApproximateNumberOfMessages"]
	}
	dlqURL := strings.Replace(aws.ToString(jobs.QueueUrl), "/jobs", "/jobs-dlq", 1)
	waitfor.True(t, "the message dead-lettered", func() bool {
		_, _ = in.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: jobs.QueueUrl})
		return depth(dlqURL) == "1"
	})
	b := browser(t)
	do, poll, _ := helpers(t, b)
	err = do(chromedp.Navigate(in.URL+"/console/#/queues"), chromedp.WaitVisible(`#queues tr[data-queue="jobs-dlq"] .move-back`),
		chromedp.Click(`#queues tr[data-queue="jobs-dlq"] .move-back`))
	if err == nil {
		err = poll(`document.querySelector("#q-status")?.textContent === "jobs-dlq: 1 messages moved back to jobs (completed)."`)
	}
	if err != nil {
		t.Fatalf("move back: %v", err)
	}
	if got := depth(aws.ToString(jobs.QueueUrl)); got != "1" {
		t.Errorf("jobs holds %s messages after the move, want 1", got)
	}
}
