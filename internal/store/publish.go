package store

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/valyala/fastjson"
)

// The publishes of the hot paths (events on buses, queue messages, queue
// journals) go through the store's own asynchronous publisher: the same
// protocol as nats.go's (a publish with a reply subject; JetStream answers
// on it once the message is stored), but the acknowledgement is read by
// hand, not by encoding/json's reflection (which was 5% of the CPU of a
// queue target's delivery), and a future is one channel.

// publisher publishes with replies on its own inbox.
type publisher struct {
	nc     *nats.Conn
	prefix string // the reply subjects' prefix, "_INBOX.<nuid>."
	closed <-chan struct{}
	// timeout bounds the wait for an acknowledgement (as nats.go's
	// publish-async timeout does).
	timeout time.Duration

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]*AckFuture
}

// An AckFuture is a publish's acknowledgement to come.
type AckFuture struct {
	p   *publisher
	id  uint64
	ch  chan struct{}
	seq uint64
	err error
	// deadline is when the publish is given up (publisher.expire).
	deadline time.Time
}

func newPublisher(nc *nats.Conn, closed <-chan struct{}, timeout time.Duration) (*publisher, error) {
	p := &publisher{nc: nc, prefix: nats.NewInbox() + ".", closed: closed, timeout: timeout, waiting: map[uint64]*AckFuture{}}
	if _, err := nc.Subscribe(p.prefix+"*", p.reply); err != nil {
		return nil, fmt.Errorf("store: publisher: %w", err)
	}
	go p.expire()
	return p, nil
}

// expire fails the publishes not acknowledged by their deadlines, sweeping
// a few times a timeout and at least every expirePrecision (one sweep, not
// a timer a publish), until the store closes.
func (p *publisher) expire() {
	t := time.NewTicker(max(min(p.timeout/4, expirePrecision), 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.closed:
			return
		case now := <-t.C:
			p.mu.Lock()
			for id, f := range p.waiting {
				if now.After(f.deadline) {
					delete(p.waiting, id)
					f.err = jetstream.ErrAsyncPublishTimeout
					close(f.ch)
				}
			}
			p.mu.Unlock()
		}
	}
}

// PublishAsync publishes m (its subject must be a stream's) and returns the
// future of its acknowledgement. JetStream's publish options are headers:
// set them on m (jetstream.MsgIDHeader, ExpectedLastSubjSeqHeader, MsgTTLHeader...).
func (s *Store) PublishAsync(m *nats.Msg) (*AckFuture, error) {
	return s.pub.publish(m, 0)
}

// expirePrecision is how late past its deadline a publish may be given up.
const expirePrecision = 250 * time.Millisecond

// Publish publishes m as PublishAsync does and waits for its
// acknowledgement: its sequence in the stream, or why it is not stored.
func (s *Store) Publish(ctx context.Context, m *nats.Msg) (uint64, error) {
	return s.PublishWithin(ctx, m, 0)
}

// PublishWithin is Publish that gives up (jetstream.ErrAsyncPublishTimeout)
// when no acknowledgement came within d (give or take expirePrecision), or
// the store's request timeout if that is shorter, or d is 0: a deadline
// that costs the caller no context and no timer.
func (s *Store) PublishWithin(ctx context.Context, m *nats.Msg, d time.Duration) (uint64, error) {
	f, err := s.pub.publish(m, d)
	if err != nil {
		return 0, err
	}
	return f.Wait(ctx)
}

func (p *publisher) publish(m *nats.Msg, within time.Duration) (*AckFuture, error) {
	if within <= 0 || within > p.timeout {
		within = p.timeout
	}
	deadline := time.Now().Add(within)
	p.mu.Lock()
	p.next++
	f := &AckFuture{p: p, id: p.next, ch: make(chan struct{}), deadline: deadline}
	p.waiting[f.id] = f
	p.mu.Unlock()
	var reply [64]byte // one allocation, the string's, for the usual prefix
	m.Reply = string(strconv.AppendUint(append(reply[:0], p.prefix...), f.id, 10))
	if err := p.nc.PublishMsg(m); err != nil {
		p.forget(f.id)
		return nil, fmt.Errorf("store: publish on %s: %w", m.Subject, err)
	}
	return f, nil
}

func (p *publisher) forget(id uint64) {
	p.mu.Lock()
	delete(p.waiting, id)
	p.mu.Unlock()
}

// reply settles the future a reply is for.
func (p *publisher) reply(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[len(p.prefix):], 10, 64)
	if err != nil {
		return
	}
	p.mu.Lock()
	f := p.waiting[id]
	delete(p.waiting, id)
	p.mu.Unlock()
	if f == nil {
		return // its waiter gave up
	}
	f.seq, f.err = parseAck(m)
	close(f.ch)
}

// parseAck reads JetStream's answer to a publish: {"stream":…,"seq":…}, or
// {"error":{"code":…,"err_code":…,"description":…}}, or a 503 status
// without data when no stream stores the subject.
func parseAck(m *nats.Msg) (uint64, error) {
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		return 0, jetstream.ErrNoStreamResponse
	}
	// The usual answer, {"stream":"…","seq":n…}, is read without a parse.
	if !bytes.Contains(m.Data, []byte(`"error"`)) && bytes.Contains(m.Data, []byte(`"stream":`)) {
		if i := bytes.Index(m.Data, []byte(`"seq":`)); i >= 0 {
			var seq uint64
			d := m.Data[i+len(`"seq":`):]
			n := 0
			for ; n < len(d) && d[n] >= '0' && d[n] <= '9' && n < 20; n++ {
				seq = seq*10 + uint64(d[n]-'0')
			}
			if n > 0 && n < 20 && seq > 0 {
				return seq, nil
			}
		}
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(m.Data)
	if err != nil {
		return 0, fmt.Errorf("store: malformed publish acknowledgement %q: %w", m.Data, err)
	}
	if e := v.Get("error"); e != nil {
		return 0, &jetstream.APIError{Code: e.GetInt("code"), ErrorCode: jetstream.ErrorCode(e.GetInt("err_code")),
			Description: string(e.GetStringBytes("description"))}
	}
	seq := v.GetUint64("seq")
	if seq == 0 || v.Get("stream") == nil {
		return 0, fmt.Errorf("store: malformed publish acknowledgement %q", m.Data)
	}
	return seq, nil
}

// Wait returns the stored message's stream sequence, or why it was not
// stored; ctx ending, the store's request timeout passing
// (jetstream.ErrAsyncPublishTimeout) or the store closing gives up (the
// message may be stored or not).
func (f *AckFuture) Wait(ctx context.Context) (uint64, error) {
	select {
	case <-f.ch:
		return f.seq, f.err
	case <-ctx.Done():
		f.p.forget(f.id)
		return 0, ctx.Err()
	case <-f.p.closed:
		f.p.forget(f.id)
		return 0, fmt.Errorf("store: closed before the publish was acknowledged: %w", nats.ErrConnectionClosed)
	}
}
