package plainhttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Client sends requests to http:// endpoints over
// kept-alive HTTP/1.1 connections, one request at a time per connection,
// without net/http's Transport: that costs three goroutines, a dozen
// channel operations and about sixty allocations per request, which at
// thousands of deliveries a second was a third of Conveyor's CPU. It speaks
// only what a delivery or a load generator needs: a request with a
// Content-Length body; an answer's status, its body read (Content-Length,
// chunked, or up to the connection's end) and dropped or kept. https
// endpoints, and http ones that a proxy setting covers, go through net/http
// (the caller's choice).
type Client struct {
	dialer net.Dialer

	mu   sync.Mutex
	idle map[string][]*plainConn // by host:port, most recently used last
	// reaping is set while a goroutine closes connections idle longer than
	// plainIdleTimeout; it runs while any connection is idle.
	reaping bool
}

// Pool limits, as Conveyor's net/http clients have them.
const (
	plainMaxIdlePerHost = 256
	plainIdleTimeout    = 90 * time.Second
	// plainMaxDrain is the most body bytes read from an answer to keep its
	// connection; a longer body closes the connection instead.
	plainMaxDrain = 64 << 10
	// MaxAnswer bounds an answer's body kept for the caller.
	MaxAnswer = 64 << 20
)

type plainConn struct {
	c        net.Conn
	r        *bufio.Reader
	w        []byte // the request being written
	host     string
	lastUsed time.Time
}

// New returns a client with no connection yet.
func New() *Client {
	return &Client{
		dialer: net.Dialer{KeepAlive: 30 * time.Second},
		idle:   map[string][]*plainConn{},
	}
}

// errPlainStale means a reused connection failed before any byte of an
// answer arrived: the server had closed it while idle.
var errPlainStale = errors.New("kept-alive connection closed by the server")

// Do sends one request and returns the answer's status code. The exchange
// ends at deadline or ctx's, whichever comes first, or when ctx is
// cancelled. header holds canonical names; body is sent with a
// Content-Length when withBody. With answer nil the answer's body is
// dropped (up to 64 KiB, else the connection closes); otherwise
// it is appended to *answer (up to MaxAnswer bytes).
func (p *Client) Do(ctx context.Context, deadline time.Time, method string, u *url.URL, header http.Header, body []byte, withBody bool, answer *[]byte) (int, error) {
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	host := hostPort(u)
	for attempt := 0; ; attempt++ {
		pc, reused, err := p.get(ctx, host)
		if err != nil {
			return 0, err
		}
		mark := 0
		if answer != nil {
			mark = len(*answer)
		}
		status, keep, err := pc.roundTrip(ctx, deadline, method, u, header, body, withBody, reused, answer)
		if err != nil {
			if answer != nil {
				*answer = (*answer)[:mark]
			}
			pc.c.Close()
			if errors.Is(err, errPlainStale) && attempt == 0 && ctx.Err() == nil {
				// A delivery may be sent twice (at least once): try again on
				// a new connection.
				continue
			}
			return 0, err
		}
		if keep {
			p.put(pc)
		} else {
			pc.c.Close()
		}
		return status, nil
	}
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// get returns an idle connection to host (reused true) or a new one.
func (p *Client) get(ctx context.Context, host string) (*plainConn, bool, error) {
	now := time.Now()
	p.mu.Lock()
	conns := p.idle[host]
	// The oldest are first: drop those idle too long.
	stale := 0
	for stale < len(conns) && now.Sub(conns[stale].lastUsed) > plainIdleTimeout {
		conns[stale].c.Close()
		stale++
	}
	if stale > 0 {
		conns = append(conns[:0], conns[stale:]...)
	}
	var pc *plainConn
	if n := len(conns); n > 0 {
		pc = conns[n-1]
		conns[n-1] = nil
		conns = conns[:n-1]
	}
	p.idle[host] = conns
	p.mu.Unlock()
	if pc != nil {
		return pc, true, nil
	}
	c, err := p.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, false, err
	}
	return &plainConn{c: c, r: bufio.NewReaderSize(c, 4096), host: host}, false, nil
}

func (p *Client) put(pc *plainConn) {
	pc.lastUsed = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	conns := p.idle[pc.host]
	if len(conns) >= plainMaxIdlePerHost {
		pc.c.Close()
		return
	}
	p.idle[pc.host] = append(conns, pc)
	if !p.reaping {
		p.reaping = true
		go p.reap(plainIdleTimeout / 3)
	}
}

// reap closes, every period, the connections idle longer than
// plainIdleTimeout (those of a destination no longer used would stay open
// otherwise), until none is idle.
func (p *Client) reap(period time.Duration) {
	for {
		time.Sleep(period)
		if !p.reapOnce(time.Now()) {
			return
		}
	}
}

// reapOnce closes the connections idle too long at now, and reports
// whether any connection is still idle (else reaping stops).
func (p *Client) reapOnce(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for host, conns := range p.idle {
		stale := 0
		for stale < len(conns) && now.Sub(conns[stale].lastUsed) > plainIdleTimeout {
			conns[stale].c.Close()
			stale++
		}
		if stale == len(conns) {
			delete(p.idle, host)
		} else if stale > 0 {
			p.idle[host] = append(conns[:0], conns[stale:]...)
		}
	}
	if len(p.idle) == 0 {
		p.reaping = false
		return false
	}
	return true
}

// roundTrip writes the request and reads the answer's head and body. keep
// says whether the connection may carry another request.
func (pc *plainConn) roundTrip(ctx context.Context, deadline time.Time, method string, u *url.URL, header http.Header, body []byte, withBody, reused bool, answer *[]byte) (status int, keep bool, err error) {
	if err := pc.c.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	// Cancelling ctx (a shutdown) ends the exchange at once.
	stop := context.AfterFunc(ctx, func() { _ = pc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	w := append(pc.w[:0], method...)
	w = append(w, ' ')
	w = append(w, u.RequestURI()...)
	w = append(w, " HTTP/1.1\r\nHost: "...)
	w = append(w, u.Host...)
	w = append(w, "\r\n"...)
	for k, vs := range header {
		for _, v := range vs {
			w = append(w, k...)
			w = append(w, ": "...)
			w = append(w, v...)
			w = append(w, "\r\n"...)
		}
	}
	if withBody {
		w = append(w, "Content-Length: "...)
		w = strconv.AppendInt(w, int64(len(body)), 10)
		w = append(w, "\r\n"...)
	}
	w = append(w, "\r\n"...)
	if withBody && len(body) <= 16<<10 {
		w = append(w, body...)
		body = nil
	}
	pc.w = w
	if len(pc.w) > 64<<10 {
		pc.w = nil // do not keep a large buffer
	}
	if _, err := pc.c.Write(w); err != nil {
		return 0, false, pc.failed(err, reused, ctx)
	}
	if withBody && len(body) > 0 {
		if _, err := pc.c.Write(body); err != nil {
			return 0, false, pc.failed(err, reused, ctx)
		}
	}
	for {
		status, keep, err = pc.readAnswer(method, answer)
		if err != nil {
			return 0, false, pc.failed(err, reused, ctx)
		}
		// 1xx answers (other than 101) come before the real one.
		if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
			reused = false
			continue
		}
		return status, keep, nil
	}
}

// failed words an exchange's error: stale when a reused connection ended
// before any answer, the context's error when it ended the exchange.
func (pc *plainConn) failed(err error, reused bool, ctx context.Context) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	if reused && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isConnReset(err)) {
		return fmt.Errorf("%w: %v", errPlainStale, err)
	}
	return err
}

func isConnReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

var errPlainAnswer = errors.New("malformed HTTP answer")

// readAnswer reads one answer: its status line, headers and body, which it
// appends to *answer, or drops when answer is nil.
func (pc *plainConn) readAnswer(method string, answer *[]byte) (status int, keep bool, err error) {
	line, err := pc.readLine()
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(rest) < 3 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("%w: status line %q", errPlainAnswer, line)
	}
	status, err = strconv.Atoi(string(rest[:3]))
	if err != nil || status < 100 || status > 999 || (len(rest) > 3 && rest[3] != ' ') {
		return 0, false, fmt.Errorf("%w: status line %q", errPlainAnswer, line)
	}
	keep = bytes.Equal(proto, []byte("HTTP/1.1"))
	length, chunked := int64(-1), false
	for {
		h, err := pc.readLine()
		if err != nil {
			return 0, false, err
		}
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("%w: header line %q", errPlainAnswer, h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return 0, false, fmt.Errorf("%w: Content-Length %q", errPlainAnswer, value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				keep = false // an encoding we do not read: the body ends with the connection
			} else {
				chunked = true
			}
		case bytes.EqualFold(name, []byte("Connection")):
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				if bytes.EqualFold(tok, []byte("close")) {
					keep = false
				} else if bytes.EqualFold(tok, []byte("keep-alive")) && !bytes.Equal(proto, []byte("HTTP/1.1")) {
					keep = true
				}
			}
		}
	}
	switch {
	case status < 200, status == http.StatusNoContent, status == http.StatusNotModified, method == http.MethodHead:
		// No body.
	case answer != nil:
		// A body up to the connection's end leaves nothing to reuse.
		return status, keep && (chunked || length >= 0), pc.keepBody(answer, chunked, length)
	case chunked:
		if !keep {
			return status, false, nil
		}
		if err := pc.readChunked(nil, plainMaxDrain); err != nil {
			return status, false, nil // the status is known; the connection is not reused
		}
	case length >= 0:
		if length > plainMaxDrain {
			return status, false, nil
		}
		if _, err := pc.r.Discard(int(length)); err != nil {
			return status, false, nil
		}
	default:
		// The body runs to the connection's end: the status is all we need.
		return status, false, nil
	}
	return status, keep, nil
}

// keepBody appends an answer's body to *answer: chunked, length bytes, or
// up to the connection's end.
func (pc *plainConn) keepBody(answer *[]byte, chunked bool, length int64) error {
	switch {
	case chunked:
		return pc.readChunked(answer, MaxAnswer)
	case length >= 0:
		if length > MaxAnswer {
			return fmt.Errorf("%w: a body of %d bytes", errPlainAnswer, length)
		}
		start := len(*answer)
		*answer = append(*answer, make([]byte, length)...)
		_, err := io.ReadFull(pc.r, (*answer)[start:])
		return err
	default:
		b, err := io.ReadAll(io.LimitReader(pc.r, MaxAnswer))
		*answer = append(*answer, b...)
		return err
	}
}

// readLine reads a line without its CRLF (or LF).
func (pc *plainConn) readLine() ([]byte, error) {
	line, err := pc.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line longer than %d bytes", errPlainAnswer, pc.r.Size())
		}
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// readChunked reads a chunked body (and its trailer) up to limit bytes,
// appending it to *answer, or dropping it when answer is nil.
func (pc *plainConn) readChunked(answer *[]byte, limit int) error {
	total := 0
	for {
		line, err := pc.readLine()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errPlainAnswer, line)
		}
		if n == 0 {
			for {
				t, err := pc.readLine()
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		total += int(n)
		if total > limit {
			return errPlainAnswer
		}
		if answer != nil {
			start := len(*answer)
			*answer = append(*answer, make([]byte, n)...)
			if _, err := io.ReadFull(pc.r, (*answer)[start:]); err != nil {
				return err
			}
		} else if _, err := pc.r.Discard(int(n)); err != nil {
			return err
		}
		if crlf, err := pc.readLine(); err != nil || len(crlf) != 0 {
			return fmt.Errorf("%w: chunk not followed by CRLF", errPlainAnswer)
		}
	}
}

// ValidHeader reports whether name and value can be sent as they are: a
// token for the name, no control characters (but tab) in the value.
func ValidHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
