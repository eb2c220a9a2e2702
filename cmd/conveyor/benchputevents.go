package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fastjson"

	"github.com/conveyor/conveyor/internal/cpuparts"
	"github.com/conveyor/conveyor/internal/memlimit"
	"github.com/conveyor/conveyor/internal/prom"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/store"
)

// benchPutEvents runs `conveyor bench put-events`: a load generator that
// drives PutEvents (10 entries per call) into one rule whose target is an
// HTTP endpoint on loopback that this command runs (--target http) or a
// Conveyor queue that its receivers drain with ReceiveMessage and
// DeleteMessageBatch (--target queue), and reports events/s and the latency
// from the PutEvents call to the target receiving the event.
//
// Without --endpoint it starts a Conveyor in-process on a temporary data
// directory (embedded JetStream), so the numbers are the server's alone.
func benchPutEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conveyor bench put-events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "URL of a running Conveyor (default: start one in-process)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	rate := fs.Int("rate", 0, "events per second to send (0: as fast as the server takes them)")
	workers := fs.Int("workers", 8, "concurrent PutEvents callers")
	dataDir := fs.String("data-dir", "", "data directory of the in-process server (default: a temporary one)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run (from the first PutEvents to the last delivery) to this file")
	sinkKind := fs.String("sink", "minimal", "the HTTP target's server: minimal (a lean HTTP/1.1 server, so that the target takes little of the machine) or net/http")
	memProfile := fs.String("memprofile", "", "write a heap profile, taken when the last event is delivered, to this file")
	traceFile := fs.String("trace", "", "write an execution trace of the first two seconds of sending to this file")
	targetKind := fs.String("target", "http", "the rule's target: http (an API destination on loopback) or queue (a Conveyor queue, drained by --receivers)")
	clientKind := fs.String("client", "minimal", "the load generator's HTTP client: minimal (a lean HTTP/1.1 client, so that the load generator takes little of the machine) or net/http")
	receivers := fs.Int("receivers", 32, "with --target queue: concurrent receivers (ReceiveMessage of 10, then DeleteMessageBatch; each waits for its answers in turn, and 8 fall behind a flat-out put)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers < 1 {
		return errors.New("bench put-events: --workers must be at least 1")
	}
	if *targetKind != "http" && *targetKind != "queue" {
		return fmt.Errorf("bench put-events: --target %q: want http or queue", *targetKind)
	}
	if *receivers < 1 {
		return errors.New("bench put-events: --receivers must be at least 1")
	}

	url := *endpoint
	var dir string // the in-process server's data directory
	// attempts reads the in-process server's delivery attempts: first ones
	// (and how many of those came from the delivery stream) and retries.
	var attempts func() (first, retries, deferred, rerouted float64)
	if url == "" {
		in, err := startBenchServer(ctx, *dataDir, stderr)
		if err != nil {
			return err
		}
		defer in.close()
		url, dir = in.url, in.dir
		reg := in.srv.Registry()
		attempts = func() (first, retries, deferred, rerouted float64) {
			return prom.Sum(reg, "conveyor_invocation_attempts_total") - prom.Sum(reg, "conveyor_retry_invocation_attempts_total"),
				prom.Sum(reg, "conveyor_retry_invocation_attempts_total"), prom.Sum(reg, "conveyor_deferred_invocations_total"),
				prom.Sum(reg, "conveyor_rerouted_messages_total")
		}
	}

	// The target: records, for each event, the time from its PutEvents
	// call (carried in the detail) to its arrival.
	var (
		latencies latencyHist
		received  atomic.Int64
	)
	var parsers fastjson.ParserPool
	record := func(body []byte, at time.Time) {
		p := parsers.Get()
		if v, err := p.ParseBytes(body); err == nil {
			if sent := v.GetInt64("detail", "sent"); sent > 0 {
				latencies.add(at.Sub(time.Unix(0, sent)))
			}
		}
		parsers.Put(p)
		received.Add(1)
	}
	tr, err := newBenchTransport(*clientKind, url, (*workers+*receivers)*2)
	if err != nil {
		return fmt.Errorf("bench put-events: %w", err)
	}
	defer tr.close()
	c := &benchClient{tr: tr}
	rule := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	stopReceivers := func() {}
	var receives atomic.Int64 // ReceiveMessage answers, empty ones included
	if *targetKind == "queue" {
		queueURL, err := c.setupQueue(ctx, rule)
		if err != nil {
			return fmt.Errorf("bench put-events: setup: %w", err)
		}
		rctx, cancel := context.WithCancel(ctx)
		var rwg sync.WaitGroup
		for range *receivers {
			rwg.Add(1)
			go pprof.Do(rctx, pprof.Labels("part", "sink"), func(ctx context.Context) {
				defer rwg.Done()
				c.drain(ctx, queueURL, record, &receives)
			})
		}
		stopReceivers = func() { cancel(); rwg.Wait() }
		defer stopReceivers()
	}
	sinkLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	switch *sinkKind {
	case "minimal":
		sink := newBenchSink(sinkLn, record)
		go pprof.Do(ctx, pprof.Labels("part", "sink"), func(context.Context) { sink.serve() })
		defer sink.Close()
	case "net/http":
		bodies := sync.Pool{New: func() any { return new(bytes.Buffer) }}
		sink := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			now := time.Now()
			buf := bodies.Get().(*bytes.Buffer)
			buf.Reset()
			_, _ = buf.ReadFrom(r.Body)
			record(buf.Bytes(), now)
			bodies.Put(buf)
		})}
		go pprof.Do(ctx, pprof.Labels("part", "sink"), func(context.Context) { _ = sink.Serve(sinkLn) })
		defer sink.Close()
	default:
		sinkLn.Close()
		return fmt.Errorf("bench put-events: --sink %q: want minimal or net/http", *sinkKind)
	}

	if *targetKind == "http" {
		if err := c.setup(ctx, rule, "http://"+sinkLn.Addr().String()+"/"); err != nil {
			return fmt.Errorf("bench put-events: setup: %w", err)
		}
	}

	fmt.Fprintf(stdout, "sending for %s with %d workers (rate %s) to %s, target %s\n", *duration, *workers, rateText(*rate), url, *targetKind)
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		stopTrace := time.AfterFunc(2*time.Second, trace.Stop)
		defer func() {
			if stopTrace.Stop() {
				trace.Stop()
			}
		}()
	}
	// The run is profiled from here (setup aside): the server's CPU per
	// event comes from the samples labelled part=server (see cpuparts.ByLabel),
	// and --cpuprofile keeps the profile.
	prof, err := startRunProfile()
	if err != nil {
		return err
	}
	defer func() { _ = prof.stop("") }()
	var sent, failed atomic.Int64
	rss := newRSSWatch(time.Second)
	defer rss.stop()
	start := time.Now()
	end := start.Add(*duration)
	var tick <-chan time.Time
	if *rate > 0 {
		// One call (10 events) per tick.
		t := time.NewTicker(time.Duration(float64(time.Second) * 10 / float64(*rate)))
		defer t.Stop()
		tick = t.C
	}
	var wg sync.WaitGroup
	var took latencyHist // each PutEvents call's time, answer included
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go pprof.Do(ctx, pprof.Labels("part", "client"), func(ctx context.Context) {
			defer wg.Done()
			pc := &putCall{took: &took}
			for time.Now().Before(end) && ctx.Err() == nil {
				if tick != nil {
					select {
					case <-tick:
					case <-ctx.Done():
						return
					}
				}
				n, err := pc.put(ctx, c, rule)
				sent.Add(int64(n))
				if err != nil {
					failed.Add(10 - int64(n))
				}
			}
		})
	}
	wg.Wait()
	sendTime := time.Since(start)
	// Wait for the deliveries to drain (at most 30 s more).
	drain := time.Now().Add(30 * time.Second)
	for received.Load() < sent.Load() && time.Now().Before(drain) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	total := time.Since(start)
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			return err
		}
	}
	stopReceivers()
	if err := prof.stop(*cpuProfile); err != nil {
		return err
	}
	startRSS, peakRSS, endRSS := rss.stop()

	fmt.Fprintf(stdout, "put:       %d events in %s = %.0f events/s (%d failed)\n", sent.Load(), sendTime.Round(time.Millisecond), float64(sent.Load())/sendTime.Seconds(), failed.Load())
	if received.Load() >= sent.Load() {
		fmt.Fprintf(stdout, "delivered: %d events, all delivered after %s = %.0f events/s end to end\n", received.Load(), total.Round(time.Millisecond), float64(received.Load())/total.Seconds())
	} else {
		fmt.Fprintf(stdout, "delivered: %d of the %d events after %s (the rest not within 30 s of the last put)\n", received.Load(), sent.Load(), total.Round(time.Millisecond))
	}
	if latencies.count() > 0 {
		fmt.Fprintf(stdout, "latency PutEvents → target: %s\n", latencies.summary())
	}
	if took.count() > 0 {
		fmt.Fprintf(stdout, "PutEvents call (10 entries): %s\n", took.summary())
	}
	if *endpoint == "" && received.Load() > 0 {
		parts, all, err := prof.perUnit(received.Load())
		if err != nil {
			return fmt.Errorf("bench put-events: %w", err)
		}
		// Samples without a label are of goroutines JetStream starts on its
		// own (a stream's writer, for one) and of the garbage collector:
		// mostly the server's work, but not told apart.
		fmt.Fprintf(stdout, "cpu per delivered event: server %.1f µs (and %.1f µs unlabelled: JetStream's own goroutines, the garbage collector), load generator %.1f µs, target %.1f µs; whole process %.1f µs\n",
			parts["server"], parts[cpuparts.Unlabelled], parts["client"], parts["sink"], all)
	}
	if attempts != nil {
		first, retries, deferred, rerouted := attempts()
		fmt.Fprintf(stdout, "attempts:  %.0f first attempts (%.0f of them from the delivery stream: the target was slow), %.0f retries (a target's answer that failed or came late); %.0f bus messages routed again\n",
			first, deferred, retries, rerouted)
	}
	if n := receives.Load(); n > 0 {
		fmt.Fprintf(stdout, "receivers: %d ReceiveMessage answers, %.1f messages each\n", n, float64(received.Load())/float64(n))
	}
	if dir != "" {
		n := store.DirBytes(dir)
		fmt.Fprintf(stdout, "data directory: %d MB (%.0f bytes a delivered event; buses keep events for --bus-retention, 24h by default)\n",
			n>>20, float64(n)/float64(max(received.Load(), 1)))
	}
	if startRSS > 0 {
		fmt.Fprintf(stdout, "resident set (whole process): %d MB at the start, %d MB at most, %d MB at the end\n", startRSS>>20, peakRSS>>20, endRSS>>20)
	}
	if received.Load() < sent.Load() {
		return fmt.Errorf("bench put-events: %d events sent, %d delivered", sent.Load(), received.Load())
	}
	return nil
}

func perEvent(d time.Duration, n float64) float64 { return float64(d.Microseconds()) / n }

func rateText(r int) string {
	if r == 0 {
		return "unlimited"
	}
	return strconv.Itoa(r) + "/s"
}

// benchClient speaks just enough AWS JSON to set up the benchmark and send
// events; it does not sign requests (Conveyor accepts unsigned calls), so
// the client costs little of the machine the server runs on.
type benchClient struct {
	tr benchTransport
}

func (c *benchClient) call(ctx context.Context, op string, in any, out any) error {
	return c.callTarget(ctx, "AWSEvents."+op, in, out)
}

// callTarget calls the operation named by an X-Amz-Target header value.
func (c *benchClient) callTarget(ctx context.Context, target string, in any, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	data, err := c.raw(ctx, target, body, nil)
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// setupQueue makes a queue and a rule whose target it is, and returns the queue's URL.
func (c *benchClient) setupQueue(ctx context.Context, rule string) (string, error) {
	var q struct{ QueueUrl string }
	if err := c.callTarget(ctx, "AmazonSQS.CreateQueue", map[string]any{"QueueName": rule}, &q); err != nil {
		return "", err
	}
	var a struct{ Attributes map[string]string }
	if err := c.callTarget(ctx, "AmazonSQS.GetQueueAttributes", map[string]any{"QueueUrl": q.QueueUrl,
		"AttributeNames": []string{"QueueArn"}}, &a); err != nil {
		return "", err
	}
	if err := c.call(ctx, "PutRule", map[string]any{
		"Name": rule, "EventPattern": `{"source":["conveyor.bench"],"detail":{"rule":["` + rule + `"]}}`,
	}, nil); err != nil {
		return "", err
	}
	return q.QueueUrl, c.call(ctx, "PutTargets", map[string]any{
		"Rule": rule, "Targets": []map[string]any{{"Id": "queue", "Arn": a.Attributes["QueueArn"]}},
	}, nil)
}

// drain receives from the queue, 10 messages at a time with a long poll, records each
// body and deletes them in one batch, until ctx ends.
func (c *benchClient) drain(ctx context.Context, queueURL string, record func([]byte, time.Time), receives *atomic.Int64) {
	var p fastjson.Parser
	recv := []byte(`{"QueueUrl":` + strconv.Quote(queueURL) + `,"MaxNumberOfMessages":10,"WaitTimeSeconds":1}`)
	var del, out []byte
	for ctx.Err() == nil {
		var err error
		out, err = c.raw(ctx, "AmazonSQS.ReceiveMessage", recv, out[:0])
		if err != nil {
			continue
		}
		receives.Add(1)
		v, err := p.ParseBytes(out)
		if err != nil {
			continue
		}
		msgs := v.GetArray("Messages")
		if len(msgs) == 0 {
			continue
		}
		now := time.Now()
		for _, m := range msgs {
			record(m.GetStringBytes("Body"), now)
		}
		del = appendDeleteBatch(del[:0], queueURL, msgs)
		out, _ = c.raw(ctx, "AmazonSQS.DeleteMessageBatch", del, out[:0])
	}
}

// appendDeleteBatch appends the DeleteMessageBatch request that deletes
// msgs (ReceiveMessage's Messages) to b.
func appendDeleteBatch(b []byte, queueURL string, msgs []*fastjson.Value) []byte {
	b = append(b, `{"QueueUrl":`...)
	b = strconv.AppendQuote(b, queueURL)
	b = append(b, `,"Entries":[`...)
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Id":"`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","ReceiptHandle":`...)
		b = strconv.AppendQuote(b, string(m.GetStringBytes("ReceiptHandle")))
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// raw posts body to the operation named by target (AWS JSON 1.0 for SQS, 1.1
// for EventBridge) and appends the answer to out; an answer other than 200
// is an error.
func (c *benchClient) raw(ctx context.Context, target string, body, out []byte) ([]byte, error) {
	contentType := "application/x-amz-json-1.1"
	if strings.HasPrefix(target, "AmazonSQS.") {
		contentType = "application/x-amz-json-1.0"
	}
	start := len(out)
	status, out, err := c.tr.post(ctx, target, contentType, body, out)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("%s: %d %s: %s", target, status, http.StatusText(status), out[start:])
	}
	return out, err
}

func (c *benchClient) setup(ctx context.Context, rule, sinkURL string) error {
	var conn struct{ ConnectionArn string }
	if err := c.call(ctx, "CreateConnection", map[string]any{
		"Name": rule, "AuthorizationType": "API_KEY",
		"AuthParameters": map[string]any{"ApiKeyAuthParameters": map[string]string{"ApiKeyName": "x-bench", "ApiKeyValue": "1"}},
	}, &conn); err != nil {
		return err
	}
	var dest struct{ ApiDestinationArn string }
	if err := c.call(ctx, "CreateApiDestination", map[string]any{
		"Name": rule, "ConnectionArn": conn.ConnectionArn, "InvocationEndpoint": sinkURL,
		"HttpMethod": "POST", "InvocationRateLimitPerSecond": 1000000,
	}, &dest); err != nil {
		return err
	}
	if err := c.call(ctx, "PutRule", map[string]any{
		"Name": rule, "EventPattern": `{"source":["conveyor.bench"],"detail":{"rule":["` + rule + `"]}}`,
	}, nil); err != nil {
		return err
	}
	return c.call(ctx, "PutTargets", map[string]any{
		"Rule": rule, "Targets": []map[string]any{{"Id": "sink", "Arn": dest.ApiDestinationArn}},
	}, nil)
}

// putCall is one load generator's PutEvents request and response buffers,
// reused from call to call so that the generator takes little of the
// machine it measures. The request is the AWS JSON 1.1 one an SDK sends.
type putCall struct {
	body   []byte
	resp   []byte
	parser fastjson.Parser
	took   *latencyHist
}

// put sends one PutEvents call of 10 entries, each carrying its send time
// in the detail, and returns how many were accepted.
func (pc *putCall) put(ctx context.Context, c *benchClient, rule string) (int, error) {
	now := time.Now().UnixNano()
	b := append(pc.body[:0], `{"Entries":[`...)
	for i := range 10 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Source":"conveyor.bench","DetailType":"bench","Detail":"{\"rule\":\"`...)
		b = append(b, rule...)
		b = append(b, `\",\"sent\":`...)
		b = strconv.AppendInt(b, now, 10)
		b = append(b, `,\"seq\":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `}"}`...)
	}
	b = append(b, "]}"...)
	pc.body = b
	var err error
	pc.resp, err = c.raw(ctx, "AWSEvents.PutEvents", b, pc.resp[:0])
	pc.took.add(time.Duration(time.Now().UnixNano() - now))
	if err != nil {
		return 0, err
	}
	v, err := pc.parser.ParseBytes(pc.resp)
	if err != nil {
		return 0, fmt.Errorf("PutEvents: %w", err)
	}
	return 10 - v.GetInt("FailedEntryCount"), nil
}

// benchServer is a Conveyor a bench command runs in-process.
type benchServer struct {
	srv   *server.Server
	url   string
	dir   string // its data directory
	close func()
}

// startBenchServer starts a Conveyor in-process on dataDir (a temporary
// directory if empty, removed by close), listening on loopback, as
// `conveyor serve` runs (its memory target kept). Its goroutines are
// labelled part=server for the CPU profile (goroutines inherit profiler
// labels), apart from the bench's own.
func startBenchServer(ctx context.Context, dataDir string, stderr io.Writer) (*benchServer, error) {
	var cleanup []func()
	closeAll := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	dir := dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "conveyor-bench-")
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() { os.RemoveAll(d) })
		dir = d
	}
	cfg := server.Defaults()
	cfg.DataDir = dir
	mctx, stopMem := context.WithCancel(ctx)
	cleanup = append(cleanup, stopMem)
	go memlimit.Keep(mctx, cfg.MemoryTarget, time.Second)
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var (
		srv *server.Server
		err error
	)
	pprof.Do(ctx, pprof.Labels("part", "server"), func(ctx context.Context) { srv, err = server.New(ctx, cfg) })
	if err != nil {
		closeAll()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close(ctx)
		closeAll()
		return nil, err
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go pprof.Do(sctx, pprof.Labels("part", "server"), func(sctx context.Context) { done <- srv.Serve(sctx, ln) })
	cleanup = append(cleanup, func() { stop(); <-done })
	return &benchServer{srv: srv, url: "http://" + ln.Addr().String(), dir: dir, close: closeAll}, nil
}

// runProfile is a bench command's CPU profile of its run: the CPU a unit
// of work costs each part comes from the samples' part labels (see
// cpuparts.ByLabel), and --cpuprofile keeps it.
type runProfile struct {
	buf     bytes.Buffer
	running bool
}

func startRunProfile() (*runProfile, error) {
	p := &runProfile{}
	if err := pprof.StartCPUProfile(&p.buf); err != nil {
		return nil, err
	}
	p.running = true
	return p, nil
}

// stop stops the profile (again is fine) and writes it to path, if any.
func (p *runProfile) stop(path string) error {
	if p.running {
		pprof.StopCPUProfile()
		p.running = false
		if path != "" {
			return os.WriteFile(path, p.buf.Bytes(), 0o644)
		}
	}
	return nil
}

// perUnit returns the CPU time by part label, and in all, for each of n
// units of work (events, messages), in µs.
func (p *runProfile) perUnit(n int64) (parts map[string]float64, all float64, err error) {
	byLabel, err := cpuparts.ByLabel(p.buf.Bytes(), "part")
	if err != nil {
		return nil, 0, fmt.Errorf("read the profile: %w", err)
	}
	parts = make(map[string]float64, len(byLabel))
	var total time.Duration
	for k, d := range byLabel {
		parts[k] = perEvent(d, float64(n))
		total += d
	}
	return parts, perEvent(total, float64(n)), nil
}
