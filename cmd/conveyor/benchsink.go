package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// benchSink is the HTTP target of `conveyor bench put-events`: a minimal
// HTTP/1.1 server (persistent connections, bodies with a Content-Length;
// anything else gets an error answer and the connection closed) that hands
// each request body and its arrival time to record, then answers 200. The
// target runs on the machine it measures, so it does only that much: no
// header map, no goroutine per request besides the connection's, no
// background read.
type benchSink struct {
	ln     net.Listener
	record func(body []byte, at time.Time)

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newBenchSink(ln net.Listener, record func(body []byte, at time.Time)) *benchSink {
	return &benchSink{ln: ln, record: record, conns: map[net.Conn]struct{}{}}
}

// serve accepts connections until Close.
func (s *benchSink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (s *benchSink) Close() error {
	s.mu.Lock()
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

const (
	sinkOK          = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	sinkOKClose     = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	sinkBadRequest  = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	sinkNeedsLength = "HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	sinkMaxBody     = 1 << 20
)

var errMalformedHTTP = errors.New("bench: malformed HTTP message")

// serveConn answers the requests of one connection, one after the other.
func (s *benchSink) serveConn(c net.Conn) {
	r := bufio.NewReaderSize(c, 16<<10)
	var body []byte
	for {
		n, keep, answer, err := readSinkHead(r)
		if err != nil {
			if answer != "" {
				_, _ = io.WriteString(c, answer)
			}
			return
		}
		if cap(body) < n {
			body = make([]byte, n)
		}
		if _, err := io.ReadFull(r, body[:n]); err != nil {
			return
		}
		s.record(body[:n], time.Now())
		reply := sinkOK
		if !keep {
			reply = sinkOKClose
		}
		if _, err := io.WriteString(c, reply); err != nil || !keep {
			return
		}
	}
}

// readSinkHead reads a request line and headers, and returns the body's
// length and whether the connection stays open. On a request it does not
// take, answer is what to send before closing.
func readSinkHead(r *bufio.Reader) (n int, keep bool, answer string, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, false, "", err
	}
	switch {
	case bytes.HasSuffix(line, []byte(" HTTP/1.1\r\n")):
		keep = true
	case bytes.HasSuffix(line, []byte(" HTTP/1.0\r\n")):
	default:
		return 0, false, sinkBadRequest, errMalformedHTTP
	}
	n, keep, chunked, err := readHeaders(r, keep, sinkMaxBody)
	switch {
	case errors.Is(err, errMalformedHTTP):
		return 0, false, sinkBadRequest, err
	case err != nil:
		return 0, false, "", err
	case chunked:
		return 0, false, sinkNeedsLength, errMalformedHTTP
	}
	return max(n, 0), keep, "", nil
}

// readHeaders reads an HTTP/1.1 message's header lines up to the empty one
// and returns the body's Content-Length (-1 without one), whether the
// connection stays open (keep, unless a Connection header says otherwise)
// and whether the body is chunked. A malformed header or a length past
// limit is errMalformedHTTP.
func readHeaders(r *bufio.Reader, keep bool, limit int) (n int, stays, chunked bool, err error) {
	n = -1
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return 0, false, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			return n, keep, chunked, nil
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, false, errMalformedHTTP
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			v, err := strconv.Atoi(string(value))
			if err != nil || v < 0 || v > limit {
				return 0, false, false, errMalformedHTTP
			}
			n = v
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = true
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keep = true
			}
		}
	}
}
