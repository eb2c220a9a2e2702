package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fastjson"

	"github.com/conveyor/conveyor/internal/cpuparts"
)

// benchQueue runs `conveyor bench queue`: --clients clients, each on its
// own, looping over a round on one queue: SendMessageBatch of ten
// messages, ReceiveMessage of up to ten, DeleteMessageBatch of what it
// received (AWS JSON 1.0, as the SDKs speak it, through benchClient: the
// clients take little of the machine). It reports the messages sent, and
// deleted (a message counts once it was sent, received and deleted), per
// second, each call's time, the time from a message's send to its receive,
// and the CPU a message costs the server and the clients.
//
// Without --endpoint it starts a Conveyor in-process on a temporary data
// directory (embedded JetStream), so the numbers are the server's alone.
func benchQueue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conveyor bench queue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "URL of a running Conveyor (default: start one in-process)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	clients := fs.Int("clients", 8, "concurrent clients, each sending, receiving and deleting in turn")
	dataDir := fs.String("data-dir", "", "data directory of the in-process server (default: a temporary one)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	clientKind := fs.String("client", "minimal", "the clients' HTTP client: minimal (a lean HTTP/1.1 client, so that the clients take little of the machine) or net/http")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 1 {
		return errors.New("bench queue: --clients must be at least 1")
	}
	url := *endpoint
	if url == "" {
		in, err := startBenchServer(ctx, *dataDir, stderr)
		if err != nil {
			return err
		}
		defer in.close()
		url = in.url
	}
	tr, err := newBenchTransport(*clientKind, url, *clients*2)
	if err != nil {
		return fmt.Errorf("bench queue: %w", err)
	}
	defer tr.close()
	c := &benchClient{tr: tr}
	var q struct{ QueueUrl string }
	if err := c.callTarget(ctx, "AmazonSQS.CreateQueue", map[string]any{"QueueName": fmt.Sprintf("bench-%d", time.Now().UnixNano())}, &q); err != nil {
		return fmt.Errorf("bench queue: setup: %w", err)
	}

	fmt.Fprintf(stdout, "sending for %s with %d clients to %s\n", *duration, *clients, q.QueueUrl)
	prof, err := startRunProfile()
	if err != nil {
		return err
	}
	defer func() { _ = prof.stop("") }()
	rss := newRSSWatch(time.Second)
	defer rss.stop()
	var (
		sent, deleted      atomic.Int64
		send, receive, del latencyHist
		wait               latencyHist // a message's send to its receive
		failed             atomic.Pointer[error]
		wg                 sync.WaitGroup
		start              = time.Now()
		end                = start.Add(*duration)
		drainEnd           = end.Add(30 * time.Second)
		stillSending       atomic.Int64 // clients that have not stopped sending
		drained            = func() bool { return stillSending.Load() == 0 && deleted.Load() >= sent.Load() }
		errf               = func(err error) { failed.CompareAndSwap(nil, &err) }
	)
	stillSending.Store(int64(*clients))
	for range *clients {
		wg.Add(1)
		go pprof.Do(ctx, pprof.Labels("part", "client"), func(ctx context.Context) {
			defer wg.Done()
			r := newQueueRound(q.QueueUrl)
			sending := true
			for ctx.Err() == nil && failed.Load() == nil {
				if sending && !time.Now().Before(end) {
					sending = false
					stillSending.Add(-1)
				}
				if !sending && (drained() || !time.Now().Before(drainEnd)) {
					return
				}
				if sending {
					if err := r.send(ctx, c, &send); err != nil {
						errf(err)
						return
					}
					sent.Add(10)
				}
				n, err := r.receive(ctx, c, &receive, &wait)
				if err != nil {
					errf(err)
					return
				}
				if n == 0 {
					continue
				}
				if err := r.delete(ctx, c, &del); err != nil {
					errf(err)
					return
				}
				deleted.Add(int64(n))
			}
		})
	}
	wg.Wait()
	sendTime, deletedTime := *duration, time.Since(start)
	if err := prof.stop(*cpuProfile); err != nil {
		return err
	}
	startRSS, peakRSS, endRSS := rss.stop()
	if p := failed.Load(); p != nil {
		return fmt.Errorf("bench queue: %w", *p)
	}
	fmt.Fprintf(stdout, "sent:      %d messages in %s = %.0f messages/s\n", sent.Load(), sendTime, float64(sent.Load())/sendTime.Seconds())
	fmt.Fprintf(stdout, "deleted:   %d messages sent, received and deleted, the last after %s = %.0f messages/s\n",
		deleted.Load(), deletedTime.Round(time.Millisecond), float64(deleted.Load())/deletedTime.Seconds())
	fmt.Fprintf(stdout, "calls:     SendMessageBatch %s\n           ReceiveMessage   %s\n           DeleteMessageBatch %s\n", send.summary(), receive.summary(), del.summary())
	if wait.count() > 0 {
		fmt.Fprintf(stdout, "latency send → receive: %s\n", wait.summary())
	}
	if *endpoint == "" && deleted.Load() > 0 {
		parts, all, err := prof.perUnit(deleted.Load())
		if err != nil {
			return fmt.Errorf("bench queue: %w", err)
		}
		fmt.Fprintf(stdout, "cpu per message: server %.1f µs (and %.1f µs unlabelled: JetStream's own goroutines, the garbage collector), clients %.1f µs; whole process %.1f µs\n",
			parts["server"], parts[cpuparts.Unlabelled], parts["client"], all)
	}
	if startRSS > 0 {
		fmt.Fprintf(stdout, "resident set (whole process): %d MB at the start, %d MB at most, %d MB at the end\n", startRSS>>20, peakRSS>>20, endRSS>>20)
	}
	if deleted.Load() < sent.Load() {
		return fmt.Errorf("bench queue: %d messages sent, %d deleted", sent.Load(), deleted.Load())
	}
	return nil
}

// queueRound is one client's requests and answers, reused from round to
// round so that the client takes little of the machine it measures.
type queueRound struct {
	queueURL           string
	sendBody, recvBody []byte
	delBody, out       []byte
	parser, body       fastjson.Parser
	msgs               []*fastjson.Value
}

func newQueueRound(queueURL string) *queueRound {
	r := &queueRound{queueURL: queueURL}
	r.recvBody = []byte(`{"QueueUrl":` + strconv.Quote(queueURL) + `,"MaxNumberOfMessages":10}`)
	return r
}

// send sends ten messages, each carrying its send time.
func (r *queueRound) send(ctx context.Context, c *benchClient, took *latencyHist) error {
	now := time.Now().UnixNano()
	b := append(r.sendBody[:0], `{"QueueUrl":`...)
	b = strconv.AppendQuote(b, r.queueURL)
	b = append(b, `,"Entries":[`...)
	for i := range 10 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Id":"`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","MessageBody":"{\"sent\":`...)
		b = strconv.AppendInt(b, now, 10)
		b = append(b, `,\"order\":{\"id\":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,\"items\":[\"a\",\"b\"]}}"}`...)
	}
	r.sendBody = append(b, "]}"...)
	var err error
	r.out, err = c.raw(ctx, "AmazonSQS.SendMessageBatch", r.sendBody, r.out[:0])
	took.add(time.Duration(time.Now().UnixNano() - now))
	if err != nil {
		return err
	}
	v, err := r.parser.ParseBytes(r.out)
	if err != nil {
		return fmt.Errorf("SendMessageBatch: %w", err)
	}
	if ok := v.GetArray("Successful"); len(ok) != 10 {
		return fmt.Errorf("SendMessageBatch: %d of 10 sent: %s", len(ok), r.out)
	}
	return nil
}

// receive receives up to ten messages and returns how many.
func (r *queueRound) receive(ctx context.Context, c *benchClient, took, wait *latencyHist) (int, error) {
	began := time.Now()
	var err error
	r.out, err = c.raw(ctx, "AmazonSQS.ReceiveMessage", r.recvBody, r.out[:0])
	now := time.Now()
	took.add(now.Sub(began))
	if err != nil {
		return 0, err
	}
	v, err := r.parser.ParseBytes(r.out)
	if err != nil {
		return 0, fmt.Errorf("ReceiveMessage: %w", err)
	}
	r.msgs = v.GetArray("Messages")
	for _, m := range r.msgs {
		if b, err := r.body.ParseBytes(m.GetStringBytes("Body")); err == nil {
			if sent := b.GetInt64("sent"); sent > 0 {
				wait.add(now.Sub(time.Unix(0, sent)))
			}
		}
	}
	return len(r.msgs), nil
}

// delete deletes the messages the last receive got.
func (r *queueRound) delete(ctx context.Context, c *benchClient, took *latencyHist) error {
	r.delBody = appendDeleteBatch(r.delBody[:0], r.queueURL, r.msgs)
	began := time.Now()
	var err error
	r.out, err = c.raw(ctx, "AmazonSQS.DeleteMessageBatch", r.delBody, r.out[:0])
	took.add(time.Since(began))
	if err != nil {
		return err
	}
	v, err := r.parser.ParseBytes(r.out)
	if err != nil {
		return fmt.Errorf("DeleteMessageBatch: %w", err)
	}
	if f := v.GetArray("Failed"); len(f) > 0 {
		return fmt.Errorf("DeleteMessageBatch: %d failed: %s", len(f), r.out)
	}
	return nil
}
