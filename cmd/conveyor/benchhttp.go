package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"sync"
	"time"
)

// benchTransport posts one AWS JSON request (the operation named by an
// X-Amz-Target value) and appends the answer's body to out; close closes
// its idle connections.
type benchTransport interface {
	post(ctx context.Context, target, contentType string, body, out []byte) (status int, resp []byte, err error)
	close()
}

// newBenchTransport returns the bench commands' client for the server at
// url: kind "minimal" (benchConns) or "net/http" (an http.Client keeping up
// to conns idle connections).
func newBenchTransport(kind, url string, conns int) (benchTransport, error) {
	switch kind {
	case "minimal":
		return newBenchConns(url)
	case "net/http":
		return netHTTPTransport{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}, url: url}, nil
	}
	return nil, fmt.Errorf("--client %q: want minimal or net/http", kind)
}

// netHTTPTransport posts through net/http to the server at url.
type netHTTPTransport struct {
	client *http.Client
	url    string
}

func (t netHTTPTransport) close() { t.client.CloseIdleConnections() }

func (t netHTTPTransport) post(ctx context.Context, target, contentType string, body, out []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url+"/", bytes.NewReader(body))
	if err != nil {
		return 0, out, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", target)
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, out, err
	}
	defer resp.Body.Close()
	buf := bytes.NewBuffer(out)
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

// benchConns is the bench commands' minimal HTTP/1.1 client (the
// counterpart of benchSink): persistent connections to one server, one
// request at a time on each, answers with a Content-Length (an answer
// without one, chunked, is an error). The load generator runs on the
// machine it measures, so it does only that much: no header map, no
// goroutine besides its caller's, one write a request.
type benchConns struct {
	addr string // host:port to dial
	host string // the Host header's value

	mu   sync.Mutex
	idle []*benchConn
}

type benchConn struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte
}

// benchMaxAnswer bounds an answer's body.
const benchMaxAnswer = 64 << 20

func newBenchConns(url string) (*benchConns, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("the minimal client speaks http://, not %s (--client net/http does)", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &benchConns{addr: addr, host: u.Host}, nil
}

func (p *benchConns) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, bc := range p.idle {
		bc.c.Close()
	}
	p.idle = nil
}

func (p *benchConns) post(ctx context.Context, target, contentType string, body, out []byte) (int, []byte, error) {
	bc, err := p.conn(ctx)
	if err != nil {
		return 0, out, err
	}
	b := append(bc.req[:0], "POST / HTTP/1.1\r\nHost: "...)
	b = append(b, p.host...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, contentType...)
	b = append(b, "\r\nX-Amz-Target: "...)
	b = append(b, target...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	bc.req = b
	// An ended context interrupts the call: its connection's deadline
	// passes, and the connection is not used again.
	stop := context.AfterFunc(ctx, func() { _ = bc.c.SetDeadline(time.Unix(1, 0)) })
	status, out, keep, err := bc.roundTrip(out)
	if !stop() {
		keep, err = false, ctx.Err()
	}
	if err != nil || !keep {
		bc.c.Close()
		return status, out, err
	}
	p.mu.Lock()
	p.idle = append(p.idle, bc)
	p.mu.Unlock()
	return status, out, nil
}

// conn takes an idle connection, or dials one.
func (p *benchConns) conn(ctx context.Context) (*benchConn, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		bc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return bc, nil
	}
	p.mu.Unlock()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	return &benchConn{c: c, r: bufio.NewReaderSize(c, 16<<10)}, nil
}

// roundTrip writes the request in bc.req and reads its answer, whose body
// it appends to out; keep says whether the connection may carry another.
func (bc *benchConn) roundTrip(out []byte) (status int, resp []byte, keep bool, err error) {
	if _, err := bc.c.Write(bc.req); err != nil {
		return 0, out, false, err
	}
	line, err := bc.r.ReadSlice('\n')
	if err != nil {
		return 0, out, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, out, false, errMalformedHTTP
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, out, false, errMalformedHTTP
	}
	n, keep, chunked, err := readHeaders(bc.r, line[7] == '1', benchMaxAnswer)
	switch {
	case err != nil:
		return status, out, false, err
	case chunked || n < 0:
		return status, out, false, errors.New("bench: an answer without a Content-Length")
	}
	start := len(out)
	out = append(out, make([]byte, n)...)
	if _, err := io.ReadFull(bc.r, out[start:]); err != nil {
		return status, out[:start], false, err
	}
	return status, out, keep, nil
}
