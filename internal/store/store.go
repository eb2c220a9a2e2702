package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Sync values for Config.Sync.
const (
	// SyncDefault keeps JetStream's default: fsync every two minutes.
	SyncDefault = ""
	// SyncAlways fsyncs every write before it is acknowledged.
	SyncAlways = "always"
)

// Config says where the store keeps its data.
type Config struct {
	// DataDir is the directory of the embedded server's file store. Required
	// unless NATSURL is set.
	DataDir string
	// NATSURL, when set, selects an external NATS server (or cluster) instead
	// of the embedded one, for example "nats://127.0.0.1:4222".
	NATSURL string
	// Sync is SyncDefault ("") or SyncAlways ("always"); it applies to the
	// embedded server only (an external server has its own configuration).
	Sync string
	// Replicas is the replica count of the streams this package creates
	// (default 1). Useful with an external cluster only.
	Replicas int
	// BusMaxAge bounds how long a bus stream keeps events (default 24h,
	// EventBridge's longest retry window). Zero means the default; negative
	// means no limit. Existing bus streams take it when next opened. It
	// must outlast the longest time events may wait to be routed (a router
	// down or behind); retries are kept in the delivery stream, archives in
	// their own streams, so neither depends on it.
	BusMaxAge time.Duration
	// MaxStore bounds the embedded server's file store, in bytes. Writes past
	// it fail cleanly. 0: what the disk holds, by JetStream's rule, raised
	// as space is freed (see space.go).
	MaxStore int64
	// RequestTimeout bounds the wait for JetStream's answer: to every
	// asynchronous publish, and to other requests whose context has no
	// deadline of its own (default [DefaultRequestTimeout]).
	RequestTimeout time.Duration
	// Logger receives the store's and the embedded server's log lines
	// (default slog.Default()).
	Logger *slog.Logger
}

// DefaultRequestTimeout is how long a request waits for JetStream's answer
// by default: what JetStream's client gives a request without a deadline.
// Its asynchronous publishes have no bound of their own: without one, a
// write to a stream whose leader has lost its quorum (two of three servers
// down), or whose acknowledgement was lost with a broken connection, would
// wait as long as its caller, and an API call would never answer. A write
// that timed out may still be stored later: callers report it as failed,
// never as stored.
const DefaultRequestTimeout = 5 * time.Second

// Store is an open connection to JetStream, plus the embedded server when
// there is one.
type Store struct {
	cfg    Config
	log    *slog.Logger
	srv    *server.Server // nil in external mode
	nc     *nats.Conn
	js     jetstream.JetStream
	pub    *publisher // the hot paths' publishes (publish.go)
	closed chan struct{}
	health health
}

// Open starts the embedded server (or connects to Config.NATSURL) and returns
// a Store ready to use.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	switch cfg.Sync {
	case SyncDefault, SyncAlways:
	default:
		return nil, fmt.Errorf("store: sync %q: want %q or %q", cfg.Sync, SyncDefault, SyncAlways)
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.BusMaxAge == 0 {
		cfg.BusMaxAge = 24 * time.Hour
	}
	if cfg.BusMaxAge < 0 {
		cfg.BusMaxAge = 0
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{cfg: cfg, log: cfg.Logger, closed: make(chan struct{})}

	connOpts := []nats.Option{
		nats.Name("conveyor"),
		nats.ClosedHandler(func(*nats.Conn) { close(s.closed) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			s.log.Warn("nats client error", "subject", subj, "err", err)
		}),
	}
	url := cfg.NATSURL
	var watch *server.Options // the options to raise the store limit of (space.go)
	if url == "" {
		if cfg.DataDir == "" {
			return nil, errors.New("store: DataDir is required for the embedded server")
		}
		srv, opts, err := startEmbedded(cfg)
		if err != nil {
			return nil, err
		}
		s.srv = srv
		if opts.JetStreamMaxStore > 0 && cfg.MaxStore == 0 {
			base := *opts
			watch = &base
		}
		connOpts = append(connOpts, nats.InProcessServer(srv), nats.NoReconnect())
	} else {
		connOpts = append(connOpts, nats.MaxReconnects(-1), nats.RetryOnFailedConnect(false))
	}
	nc, err := nats.Connect(url, connOpts...)
	if err != nil {
		s.shutdownServer()
		return nil, fmt.Errorf("store: connect to nats: %w", err)
	}
	s.nc = nc
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(cfg.RequestTimeout),
		jetstream.WithDefaultTimeout(cfg.RequestTimeout))
	if err != nil {
		nc.Close()
		s.shutdownServer()
		return nil, fmt.Errorf("store: jetstream: %w", err)
	}
	p := provisioning{JetStream: js}
	if cfg.Replicas > 1 {
		if p.leader, err = nc.JetStream(nats.MaxWait(cfg.RequestTimeout)); err != nil {
			nc.Close()
			s.shutdownServer()
			return nil, fmt.Errorf("store: jetstream: %w", err)
		}
	}
	s.js = p
	if s.pub, err = newPublisher(nc, s.closed, cfg.RequestTimeout); err != nil {
		nc.Close()
		s.shutdownServer()
		return nil, err
	}
	// Fail now, not at the first publish, when the server has no JetStream.
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		s.shutdownServer()
		return nil, fmt.Errorf("store: jetstream account info: %w", err)
	}
	if watch != nil {
		go s.watchSpace(*watch, watch.StoreDir)
	}
	return s, nil
}

func startEmbedded(cfg Config) (*server.Server, *server.Options, error) {
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("store: data dir: %w", err)
	}
	maxStore := cfg.MaxStore
	if maxStore == 0 {
		maxStore = initialMaxStore(dir) // see space.go
	}
	opts := &server.Options{
		ServerName:        "conveyor",
		DontListen:        true,
		JetStream:         true,
		StoreDir:          dir,
		NoSigs:            true,
		SyncAlways:        cfg.Sync == SyncAlways,
		JetStreamMaxStore: maxStore,
		// Events are at most 256 KB, queue messages 1 MiB with their attributes; a message
		// carries headers besides.
		MaxPayload: 4 << 20,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("store: embedded nats-server: %w", err)
	}
	srv.SetLoggerV2(&serverLogger{log: cfg.Logger.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, nil, errors.New("store: embedded nats-server did not become ready in 30s")
	}
	return srv, opts, nil
}

// Unavailable reports whether err says that JetStream did not answer (no
// stream leader, no quorum, no connection, no acknowledgement in time)
// rather than that it refused (a full store, a message too large). A write
// that failed so may be tried again once the cluster is whole again.
func Unavailable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jsClusterNotAvailable
	}
	return errors.Is(err, jetstream.ErrAsyncPublishTimeout) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrConnectionClosed) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting)
}

// jsClusterNotAvailable is JetStream's "JetStream system temporarily
// unavailable" (nats-server's JSClusterNotAvailErr).
const jsClusterNotAvailable jetstream.ErrorCode = 10008

// JetStream returns the JetStream context of the store's connection.
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Conn returns the store's NATS connection.
func (s *Store) Conn() *nats.Conn { return s.nc }

// Replicas is the replica count to use for streams created on this store.
func (s *Store) Replicas() int { return s.cfg.Replicas }

// Embedded reports whether the store runs its own in-process server.
func (s *Store) Embedded() bool { return s.srv != nil }

// Close drains the connection (pending publishes complete, subscriptions
// stop) and shuts the embedded server down, flushing its file store. It waits
// until ctx is done at most; the server is shut down either way.
func (s *Store) Close(ctx context.Context) error {
	var errs []error
	if s.nc != nil && !s.nc.IsClosed() {
		if err := s.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("store: drain: %w", err))
			s.nc.Close()
		}
		select {
		case <-s.closed:
		case <-ctx.Done():
			s.nc.Close()
			errs = append(errs, fmt.Errorf("store: drain: %w", ctx.Err()))
		}
	}
	s.shutdownServer()
	return errors.Join(errs...)
}

func (s *Store) shutdownServer() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// serverLogger adapts nats-server's logger interface to slog.
type serverLogger struct{ log *slog.Logger }

func (l *serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }

// MsgGone reports whether err says the message asked for (to read or
// delete) is not in the stream: already deleted, purged or expired. A
// delete of a message JetStream does not have is answered with its
// JSNoMessageFoundErr (err_code 10057), which nats.go passes on only as
// text after ErrMsgDeleteUnsuccessful.
func MsgGone(err error) bool {
	return errors.Is(err, jetstream.ErrMsgNotFound) ||
		(errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) && strings.Contains(err.Error(), "err_code=10057"))
}
