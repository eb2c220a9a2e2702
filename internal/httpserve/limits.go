package httpserve

import (
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound what one client may hold. A zero duration or count means no
// bound.
type Limits struct {
	// ReadHeaderTimeout bounds the arrival of a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the arrival of a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its answer; it must outlast the longest wait a handler
	// makes on purpose (an SQS long poll: 20 s). A handler that streams
	// lifts it for its request with Unbounded.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes int
	// MaxConnections bounds the connections served at once; more wait to
	// be accepted.
	MaxConnections int
}

// Defaults are the limits of `conveyor serve`'s API port.
func Defaults() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		MaxConnections:    4096,
	}
}

// Server returns an http.Server for h with the limits' timeouts and header
// bound (the connection cap is the listener's: see Listen).
func (l Limits) Server(h http.Handler, errorLog *log.Logger) *http.Server {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
	if hs.IdleTimeout == 0 && hs.ReadTimeout > 0 {
		// net/http would take ReadTimeout as the idle bound; no bound was
		// asked for.
		hs.IdleTimeout = -1
	}
	return hs
}

// Listen returns ln with the connection cap: Accept waits while
// MaxConnections connections are open.
func (l Limits) Listen(ln net.Listener) net.Listener {
	if l.MaxConnections <= 0 {
		return ln
	}
	return &capped{Listener: ln, slots: make(chan struct{}, l.MaxConnections), done: make(chan struct{})}
}

// Unbounded lifts the write bound of w's request (for an answer that
// streams for as long as the client listens). The read bound of the body
// still holds.
func Unbounded(w http.ResponseWriter) error {
	return http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

// capped is a listener that holds a slot per open connection.
type capped struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (c *capped) Accept() (net.Conn, error) {
	select {
	case c.slots <- struct{}{}:
	case <-c.done:
		return nil, net.ErrClosed
	}
	conn, err := c.Listener.Accept()
	if err != nil {
		<-c.slots
		return nil, err
	}
	return &slotConn{Conn: conn, release: func() { <-c.slots }}, nil
}

func (c *capped) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	return c.Listener.Close()
}

// slotConn gives its slot back when closed.
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
