package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/syncbuf"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// sink is an HTTP target that counts the events it receives by id. The
// first attempt at one event in ten is refused, so that retries are stored
// when a process dies.
type sink struct {
	*httptest.Server
	tally
	mu      sync.Mutex
	refused map[string]bool
}

func newSink(t testing.TB) *sink {
	s := &sink{tally: tally{received: map[string]int{}}, refused: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			ID     string `json:"id"`
			Detail struct {
				Seq int `json:"seq"`
			} `json:"detail"`
		}
		if json.Unmarshal(body, &ev) != nil || ev.ID == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		refuse := ev.Detail.Seq%10 == 3 && !s.refused[ev.ID]
		s.refused[ev.ID] = true
		s.mu.Unlock()
		if refuse {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		s.add(ev.ID)
	}))
	t.Cleanup(s.Close)
	return s
}

// tally counts the events a target received, by id.
type tally struct {
	mu       sync.Mutex
	received map[string]int
}

func (c *tally) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.received[id]++
}

// missing returns the ids in ids not received.
func (c *tally) missing(ids []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, id := range ids {
		if c.received[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// count is how many distinct events were received.
func (c *tally) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.received)
}

// duplicates is how many events were received more than once.
func (c *tally) duplicates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.received {
		if k > 1 {
			n++
		}
	}
	return n
}

// putLoad sends PutEvents calls of 10 events (source, detail {"seq":n}) to
// the process client gives until stop, and hands the IDs of those
// acknowledged to acked; a call that fails (the process is down) is
// dropped, and the next goes to the next process.
func putLoad(ctx context.Context, stop <-chan struct{}, source string, client func() *eventbridge.Client, seq *atomic.Int64, acked func([]string)) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		entries := make([]types.PutEventsRequestEntry, 10)
		for i := range entries {
			entries[i] = types.PutEventsRequestEntry{Source: aws.String(source), DetailType: aws.String("load"),
				Detail: aws.String(fmt.Sprintf(`{"seq":%d}`, seq.Add(1)))}
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := client().PutEvents(cctx, &eventbridge.PutEventsInput{Entries: entries})
		cancel()
		if err != nil {
			time.Sleep(10 * time.Millisecond) // the process is down: try the next one
			continue
		}
		ids := make([]string, 0, len(out.Entries))
		for _, e := range out.Entries {
			if e.EventId != nil {
				ids = append(ids, *e.EventId)
			}
		}
		acked(ids)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// current is the process the load goroutines talk to; it changes at every
// restart.
type current struct {
	mu sync.Mutex
	p  *proc
	eb *eventbridge.Client
}

func (c *current) set(p *proc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.p, c.eb = p, p.events()
}

func (c *current) get() (*proc, *eventbridge.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.p, c.eb
}

// mgmtLog is what the management load did: each rule name it tried to
// create and delete, and which of those calls were answered with success.
type mgmtLog struct {
	mu       sync.Mutex
	created  map[string]bool // PutRule sent → answered OK
	deleted  map[string]bool // DeleteRule sent → answered OK
	secrets  []string        // connection secrets sent
	attempts int
}

// TestKillUnderLoad kills `conveyor serve` with SIGKILL three times while
// PutEvents calls stream events to an HTTP target and management calls
// create and delete rules and connections, then checks: every acknowledged
// event reached the target; every rule that exists, and every deletion that
// took effect, has its CloudTrail record; no connection secret appears in
// the event history, the log or /metrics; /healthz answered ok whenever the
// process served.
func TestKillUnderLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log := &syncbuf.Buffer{}
	sk := newSink(t)
	p := start(t, dir, log)
	cur := &current{}
	cur.set(p)

	secret := "chaos-secret-" + randomHex(12)
	eb := p.events()
	conn, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{
		Name:              aws.String("sink"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String(secret)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{
		Name: aws.String("sink"), ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String(sk.URL + "/"),
		HttpMethod: types.ApiDestinationHttpMethodPost,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("load"), EventPattern: aws.String(`{"source":["chaos.load"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("load"),
		Targets: []types.Target{{Id: aws.String("sink"), Arn: dest.ApiDestinationArn}}}); err != nil {
		t.Fatal(err)
	}

	var (
		ackMu sync.Mutex
		acked []string
		seq   atomic.Int64
	)
	ml := &mgmtLog{created: map[string]bool{}, deleted: map[string]bool{}, secrets: []string{secret}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Event load: 4 callers, 10 entries a call.
	for range 4 {
		wg.Go(func() {
			putLoad(ctx, stop, "chaos.load", func() *eventbridge.Client { _, c := cur.get(); return c }, &seq, func(ids []string) {
				ackMu.Lock()
				acked = append(acked, ids...)
				ackMu.Unlock()
			})
		})
	}
	// Management load: 3 callers creating and deleting rules, and
	// connections with secrets.
	for w := range 3 {
		wg.Go(func() { manage(ctx, cur, ml, stop, w) })
	}
	// /healthz: whenever the current process answers, it says ok.
	var healthBad atomic.Value
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			p, _ := cur.get()
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			status, body, err := p.get(cctx, "/healthz")
			cancel()
			if err == nil && status != http.StatusOK && !p.exited() {
				healthBad.Store(fmt.Sprintf("%d %s", status, body))
			}
		}
	})

	ackedCount := func() int {
		ackMu.Lock()
		defer ackMu.Unlock()
		return len(acked)
	}
	const kills = 3
	for k := range kills {
		before := ackedCount()
		waitfor.Err(t, 60*time.Second, "events acknowledged after a (re)start", func() error {
			if n, got := ackedCount()-before, sk.count(); n < 300 || got == 0 {
				return fmt.Errorf("%d of 300 acknowledged, %d received", n, got)
			}
			return nil
		})
		ml.mu.Lock()
		before = ml.attempts
		ml.mu.Unlock()
		waitfor.Err(t, 30*time.Second, "management calls after a (re)start", func() error {
			ml.mu.Lock()
			defer ml.mu.Unlock()
			if n := ml.attempts - before; n < 5 {
				return fmt.Errorf("%d of 5 calls", n)
			}
			return nil
		})
		p.kill()
		t.Logf("kill %d: %d events acknowledged, %d received", k+1, ackedCount(), sk.count())
		p = start(t, dir, log)
		cur.set(p)
	}
	close(stop)
	wg.Wait()

	// Every acknowledged event reaches the target.
	ackMu.Lock()
	all := append([]string(nil), acked...)
	ackMu.Unlock()
	waitfor.Err(t, 90*time.Second, "every acknowledged event delivered", func() error {
		if m := sk.missing(all); len(m) > 0 {
			return fmt.Errorf("%d of %d missing, e.g. %v", len(m), len(all), m[:min(3, len(m))])
		}
		return nil
	})
	t.Logf("all %d acknowledged events delivered (%d more than once)", len(all), sk.duplicates())

	// No call took effect without its record: each rule that exists now has
	// a PutRule record; each answered PutRule too; each rule that is gone
	// though its PutRule answered has a DeleteRule record.
	// The listing is read again whole if a call fails: the SDK's clients
	// here make one attempt, and the Go SDK's transport race (a 200 whose
	// body read finds the connection closed by the client's own write loop,
	// aws-sdk-go-v2 #2737, which its default retryer retries) can fail a
	// read that the server answered.
	eb = p.events()
	var exists map[string]bool
	waitfor.Err(t, 30*time.Second, "the rules listed", func() error {
		exists = map[string]bool{}
		var next *string
		for {
			out, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String("mgmt-"), NextToken: next})
			if err != nil {
				return err
			}
			for _, r := range out.Rules {
				exists[aws.ToString(r.Name)] = true
			}
			if next = out.NextToken; next == nil {
				return nil
			}
		}
	})
	ctc := p.cloudtrail()
	ml.mu.Lock()
	defer ml.mu.Unlock()
	var puts, dels map[string]bool
	waitfor.Err(t, 30*time.Second, "every call that took effect recorded", func() error {
		var err error
		if puts, err = recordedNames(ctx, ctc, "PutRule"); err != nil {
			return err
		}
		if dels, err = recordedNames(ctx, ctc, "DeleteRule"); err != nil {
			return err
		}
		var unrecorded []string
		for name, answered := range ml.created {
			if (exists[name] || answered) && !puts[name] {
				unrecorded = append(unrecorded, "PutRule "+name)
			}
		}
		for name, answered := range ml.deleted {
			// A rule whose creation was answered and which is gone was
			// deleted by this call (no other call deletes it).
			tookEffect := answered || !exists[name] && ml.created[name]
			if tookEffect && !dels[name] {
				unrecorded = append(unrecorded, "DeleteRule "+name)
			}
		}
		if len(unrecorded) > 0 {
			return fmt.Errorf("%d calls took effect without a record: %v", len(unrecorded), unrecorded[:min(5, len(unrecorded))])
		}
		return nil
	})
	t.Logf("%d rule names tried, %d exist, %d PutRule and %d DeleteRule records", len(ml.created), len(exists), len(puts), len(dels))

	// No secret in the history, the log or /metrics.
	var history string
	waitfor.Err(t, 30*time.Second, "the event history read", func() error {
		var err error
		history, err = allRecords(ctx, ctc)
		return err
	})
	_, metrics, err := p.get(ctx, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ml.secrets {
		for where, text := range map[string]string{"the event history": history, "the log": log.String(), "/metrics": metrics} {
			if strings.Contains(text, s) {
				t.Errorf("a connection secret appears in %s", where)
			}
		}
	}
	if v := healthBad.Load(); v != nil {
		t.Errorf("/healthz answered %v while the store worked", v)
	}
}

// recordedNames returns the requestParameters.name of every record of
// eventName in the event history.
func recordedNames(ctx context.Context, c *ct.Client, eventName string) (map[string]bool, error) {
	names := map[string]bool{}
	in := &ct.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{
		AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(eventName)}}, MaxResults: aws.Int32(50)}
	for {
		out, err := c.LookupEvents(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, e := range out.Events {
			var rec struct {
				RequestParameters struct {
					Name string `json:"name"`
				} `json:"requestParameters"`
				ErrorCode string `json:"errorCode"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil {
				return nil, err
			}
			if rec.ErrorCode == "" {
				names[rec.RequestParameters.Name] = true
			}
		}
		if out.NextToken == nil {
			return names, nil
		}
		in.NextToken = out.NextToken
	}
}

// allRecords returns every record in the event history, concatenated.
func allRecords(ctx context.Context, c *ct.Client) (string, error) {
	var b strings.Builder
	in := &ct.LookupEventsInput{MaxResults: aws.Int32(50)}
	for {
		out, err := c.LookupEvents(ctx, in)
		if err != nil {
			return "", err
		}
		for _, e := range out.Events {
			b.WriteString(aws.ToString(e.CloudTrailEvent))
			b.WriteByte('\n')
		}
		if out.NextToken == nil {
			return b.String(), nil
		}
		in.NextToken = out.NextToken
	}
}

// manage is one management caller: it creates rules, deletes every other
// one it created, and creates connections with secrets, until stop.
func manage(ctx context.Context, cur *current, ml *mgmtLog, stop <-chan struct{}, w int) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		_, c := cur.get()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		name := fmt.Sprintf("mgmt-%d-%d", w, i)
		ml.mu.Lock()
		ml.created[name] = false
		ml.attempts++
		ml.mu.Unlock()
		_, err := c.PutRule(cctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(`{"source":["chaos.mgmt"]}`)})
		if err == nil {
			ml.mu.Lock()
			ml.created[name] = true
			ml.mu.Unlock()
		}
		if i%3 == 1 {
			old := fmt.Sprintf("mgmt-%d-%d", w, i-1)
			ml.mu.Lock()
			ml.deleted[old] = false
			ml.mu.Unlock()
			if _, err := c.DeleteRule(cctx, &eventbridge.DeleteRuleInput{Name: aws.String(old)}); err == nil {
				ml.mu.Lock()
				ml.deleted[old] = true
				ml.mu.Unlock()
			}
		}
		if i%5 == 2 {
			s := "chaos-secret-" + randomHex(12)
			ml.mu.Lock()
			ml.secrets = append(ml.secrets, s)
			ml.mu.Unlock()
			_, _ = c.CreateConnection(cctx, &eventbridge.CreateConnectionInput{
				Name:              aws.String(fmt.Sprintf("conn-%d-%d", w, i)),
				AuthorizationType: types.ConnectionAuthorizationTypeBasic,
				AuthParameters: &types.CreateConnectionAuthRequestParameters{BasicAuthParameters: &types.CreateConnectionBasicAuthRequestParameters{
					Username: aws.String("u"), Password: aws.String(s)}},
			})
		}
		cancel()
		if err != nil {
			time.Sleep(10 * time.Millisecond) // the process is down: try again
		}
	}
}
