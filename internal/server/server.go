package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/conveyor/conveyor/internal/archive"
	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/cloudtrail"
	"github.com/conveyor/conveyor/internal/console"
	"github.com/conveyor/conveyor/internal/datadir"
	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/eventbridge"
	"github.com/conveyor/conveyor/internal/httpserve"
	"github.com/conveyor/conveyor/internal/identity"
	"github.com/conveyor/conveyor/internal/inbound"
	"github.com/conveyor/conveyor/internal/ingest"
	"github.com/conveyor/conveyor/internal/lambda"
	"github.com/conveyor/conveyor/internal/memlimit"
	"github.com/conveyor/conveyor/internal/peers"
	"github.com/conveyor/conveyor/internal/router"
	"github.com/conveyor/conveyor/internal/rulestats"
	"github.com/conveyor/conveyor/internal/schedule"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/sqs"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/tail"
	"github.com/conveyor/conveyor/internal/targets"
	"github.com/conveyor/conveyor/pattern"
)

// Server is one Conveyor process: the store, the catalog, the router, the
// delivery runner and the HTTP APIs, wired together.
type Server struct {
	cfg      Config
	log      *slog.Logger
	registry *prometheus.Registry

	lock *datadir.Lock
	// keys is the key file of --auth or --identities (nil without), and
	// stats keeps the last hour of each rule's counters; stopStats stops its sampling.
	stats     *rulestats.Stats
	stopStats func()
	// tails serves the console's live tails.
	tails *tail.Hub
	// peers counts the Conveyors sharing the NATS server (nil with the
	// embedded one).
	peers *peers.Counter
	// authenticator the APIs' authentication it makes.
	keys          *identity.File
	authenticator awsapi.Authenticator
	// scopes are the accounts and regions whose default bus is known to exist.
	scopes   *scopes
	store    *store.Store
	catalog  *catalog.Catalog
	queue    *delivery.Queue
	queues   *sqs.Service
	targets  *targets.Registry
	runner   *delivery.Runner
	router   *router.Router
	audit    *audit.Audit
	imports  *importClaims
	sched    *schedule.Scheduler
	archives *archive.Service
	lambda   *lambda.Service
	api      *awsapi.Server
	inbound  *inbound.Handler
	handler  http.Handler
	closeErr error
	// s3gateways listen from New until Serve serves them (s3gateway.go).
	s3gateways []s3Gateway
	s3addrs    []string
	// stopWatches ends the catalog watches the server follows itself.
	stopWatches context.CancelFunc
}

// minWriteTimeout is the shortest write bound the API port may have: an SQS
// long poll waits up to 20 s before it answers.
const minWriteTimeout = 25 * time.Second

// New opens the store (starting the embedded NATS server unless
// cfg.NATSURL is set), loads the catalog (creating the default bus on the
// first start) and starts routing and delivery. Serve or Run then serves
// the APIs; Close stops everything.
func New(ctx context.Context, cfg Config) (s *Server, err error) {
	def := Defaults()
	if cfg.Region == "" {
		cfg.Region = def.Region
	}
	if cfg.Account == "" {
		cfg.Account = def.Account
	}
	if cfg.DataDir == "" && cfg.NATSURL == "" {
		cfg.DataDir = def.DataDir
	}
	if cfg.MaxRulesPerBus == 0 {
		cfg.MaxRulesPerBus = def.MaxRulesPerBus
	}
	if cfg.MaxPatternLength == 0 {
		cfg.MaxPatternLength = def.MaxPatternLength
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = def.ShutdownTimeout
	}
	if cfg.HTTP == (httpserve.Limits{}) {
		cfg.HTTP = def.HTTP
	}
	if w := cfg.HTTP.WriteTimeout; w > 0 && w < minWriteTimeout {
		return nil, fmt.Errorf("server: write timeout %v is shorter than an SQS long poll needs (%v)", w, minWriteTimeout)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// A line logged in an API call says who made it.
	cfg.Logger = slog.New(awsapi.CallerLogHandler(cfg.Logger.Handler()))
	if cfg.AuthFile != "" && cfg.IdentitiesFile != "" {
		return nil, errors.New("server: a key file for verification (--auth) and one without (--identities) cannot be given together")
	}
	if len(cfg.TrustedSources) > 0 && cfg.AuthFile == "" {
		return nil, errors.New("server: --trusted-sources needs --auth: without verified signatures anyone can name a trusted key")
	}
	s = &Server{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry(), scopes: &scopes{}, imports: newImportClaims()}
	if s.keys, s.authenticator, err = openKeys(cfg); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// A failed start stops what it started (the error returns set s to
	// nil, so the deferred call keeps its own reference).
	built := s
	defer func() {
		if err != nil {
			built.shutdown(context.Background())
		}
	}()

	// One process at a time on a data directory: taken before the store,
	// the index or a listener opens anything in it.
	if cfg.DataDir != "" {
		if s.lock, err = datadir.Acquire(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	s.store, err = store.Open(ctx, store.Config{
		DataDir:   filepath.Join(cfg.DataDir),
		NATSURL:   cfg.NATSURL,
		Sync:      cfg.Sync,
		MaxStore:  cfg.MaxStore,
		BusMaxAge: cfg.BusRetention,
		Replicas:  cfg.Replicas,
		Logger:    cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if !s.store.Embedded() {
		// Other Conveyors may share the deliveries: rate limits are split.
		if s.peers, err = peers.Start(ctx, s.store.Conn(), cfg.Logger); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		counter := s.peers
		s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "conveyor_peers",
			Help: "Conveyor processes on this NATS server or cluster, this one included."},
			func() float64 { return float64(counter.Count()) }))
	}
	box, err := openSecretsKey(cfg)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.catalog, err = catalog.Open(ctx, s.store.JetStream(), catalog.Config{
		Replicas: s.store.Replicas(),
		Region:   cfg.Region,
		Account:  cfg.Account,
		Logger:   cfg.Logger,
		Secrets:  box,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.scopes.cat = s.catalog
	if _, err = s.catalog.In(scope.Scope{Account: cfg.Account, Region: cfg.Region}).EnsureDefault(ctx); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.queue, err = delivery.NewQueue(ctx, s.store)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.queues, err = sqs.New(ctx, sqs.Config{Store: s.store, Region: cfg.Region, Account: cfg.Account,
		Catalog: s.catalog, Deliveries: s.queue, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	logDir := ""
	if cfg.DataDir != "" {
		logDir = filepath.Join(cfg.DataDir, "logs")
	}
	var run context.Context
	run, s.stopWatches = context.WithCancel(context.Background())
	dests, err := newDestinations(ctx, run, s.catalog, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	// The router is the bus targets' putter; it is created after the
	// runner, which needs the registry first.
	putter := &lazyPutter{cat: s.catalog}
	// The Lambda API: functions kept in the store.
	codeDir := ""
	if cfg.DataDir != "" {
		codeDir = filepath.Join(cfg.DataDir, "lambda")
	}
	if s.lambda, err = lambda.New(ctx, lambda.Config{Store: s.store, Replicas: s.store.Replicas(),
		Account: cfg.Account, Region: cfg.Region, Logger: cfg.Logger, CodeDir: codeDir, Queues: s.queues,
		Locals: cfg.Functions, DefaultTimeout: cfg.FunctionTimeout, Secrets: box, Registerer: s.registry}); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	fns, err := newFunctions(ctx, cfg, s.lambda)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.targets = targets.NewRegistry(targets.Config{
		Functions:    fns,
		Destinations: dests,
		Putter:       putter,
		Queues:       s.queues,
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
		LogDir:       logDir,
		Permit:       s.permit,
		Peers:        s.peers.Count,
	})
	// A delivery attempt must outlast the longest local function.
	invokeTimeout, ackWait := time.Duration(0), time.Duration(0)
	if t := fns.MaxTimeout() + 5*time.Second; t > 10*time.Second {
		invokeTimeout, ackWait = t, t+30*time.Second
	}
	popts := []pattern.Option{pattern.WithMaxLength(cfg.MaxPatternLength)}
	s.archives, err = archive.New(ctx, archive.Config{Store: s.store, Catalog: s.catalog, PatternOptions: popts, Logger: cfg.Logger,
		ReplayPause: cfg.ReplayPause,
		AfterWrite: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return s.router.WaitCatalog(ctx)
		}})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if s.tails, err = tail.New(s.store.Conn(), s.log); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.runner, err = delivery.NewRunner(s.queue, delivery.Config{
		Outcomes:         s.tails.Outcome,
		Invoker:          s.archives.Invoker(s.targets),
		Registerer:       s.registry,
		Logger:           cfg.Logger,
		BackoffBase:      cfg.RetryBackoff,
		DeadLetterQueues: s.queues,
		InvokeTimeout:    invokeTimeout,
		AckWait:          ackWait,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.router, err = router.New(router.Config{
		Store:          s.store,
		Catalog:        s.catalog,
		Queue:          s.queue,
		Runner:         s.runner,
		Logger:         cfg.Logger,
		Registerer:     s.registry,
		PatternOptions: popts,
		AckWait:        cfg.RouteAckWait,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	putter.r = s.router
	if err = s.router.Start(ctx); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.sched, err = schedule.New(ctx, schedule.Config{Catalog: s.catalog, JetStream: s.store.JetStream(), Router: s.router,
		Replicas: s.store.Replicas(), Clock: cfg.Clock, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err = s.sched.Start(ctx); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err = s.archives.Start(s.router); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	events := awsapi.NewEventBridge()
	api, err := eventbridge.New(eventbridge.Config{
		Catalog:          s.catalog,
		MaxRulesPerBus:   cfg.MaxRulesPerBus,
		MaxPatternLength: cfg.MaxPatternLength,
		Logger:           cfg.Logger,
		Targets:          s.targets, // PutTargets accepts what delivery can reach
		// Read your writes: an answered PutRule or PutTargets routes the
		// next event with the new rules.
		AfterWrite: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return s.router.WaitCatalog(ctx)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	api.Register(events)
	conveyorEvents := eventbridge.NewConveyorService()
	api.RegisterConveyor(conveyorEvents)
	s.stats = rulestats.New(s.registry)
	statsDone := make(chan struct{})
	s.stopStats = sync.OnceFunc(func() { close(statsDone) })
	go s.stats.Run(time.Minute, statsDone)
	awsapi.Handle(conveyorEvents, "GetRuleMetrics", s.getRuleMetrics)
	awsapi.Handle(conveyorEvents, "ListRecentEvents", s.listRecentEvents)
	s.archives.Register(events)
	in, err := ingest.New(ingest.Config{
		Store:          s.store,
		Catalog:        s.catalog,
		Buses:          s.router,
		Region:         cfg.Region,
		Account:        cfg.Account,
		TrustedKeys:    cfg.TrustedSources,
		PatternOptions: popts,
		Registerer:     s.registry,
		Logger:         cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	in.Register(events)
	queues, conveyorQueues := awsapi.NewSQS(), sqs.NewConveyorService()
	queues.SetModel(awsapi.MustLoadModel("sqs"))
	s.queues.Register(queues, conveyorQueues)
	s.registry.MustRegister(s.queues.Collector())
	functions := awsapi.NewLambda()
	s.lambda.Register(functions)
	s.api, err = awsapi.NewServer(awsapi.Config{Logger: cfg.Logger, Authenticator: s.authenticator,
		Account: cfg.Account, Region: cfg.Region}, events, conveyorEvents, queues, conveyorQueues, functions)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	// CloudTrail: every call recorded, searchable, and put on the bus.
	s.audit, err = audit.New(ctx, audit.Options{
		Config: audit.Config{
			AccountID:  cfg.Account,
			Region:     cfg.Region,
			DataEvents: cfg.AuditDataEvents,
		},
		Store:     s.store,
		Replicas:  s.store.Replicas(),
		IndexPath: filepath.Join(cfg.DataDir, "cloudtrail-index.db"),
		Retention: cfg.AuditRetention,
		Exclusive: cfg.NATSURL == "",
		Logger:    cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	// A call that can change something is journaled before it runs, and
	// its record is stored before it answers (see audit's Journal, Commit).
	journal := s.audit.Journal()
	s.api.BeforeInvoke(func(ctx context.Context, c *awsapi.Call) error {
		if err := s.scopes.ensure(ctx, c.Caller); err != nil {
			return err
		}
		return journal.Intend(ctx, c)
	})
	s.api.ObserveBeforeAnswer(s.audit.Recorder().Commit)
	calls, err := newAPICalls(s.registry, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.api.Observe(calls.observe)
	s.registry.MustRegister(s.audit.Collectors()...)
	if err = cloudtrail.Register(s.api, s.audit.Index()); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.audit.StartForwarding(s.router)
	if s.inbound, err = newInbound(cfg, s); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err = s.openS3Gateways(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// routes is the HTTP surface: the AWS APIs on POST /, /healthz, /metrics.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// /healthz tells a load balancer the truth: 503 while the store does not
	// take writes (full, or unreachable), with the reason.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.store.Health(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "unhealthy:", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	s.inbound.Register(mux) // POST /inbound/{bus}, POST /inbound/s3/{bus}
	mux.HandleFunc("POST "+ImportPath, s.handleImport)
	mux.Handle("GET "+lambda.CodePath, s.lambda.CodeHandler()) // GetFunction's Code.Location
	api := s.api
	ccfg := console.Config{API: api, Verified: s.cfg.AuthFile != "", Region: s.cfg.Region, Account: s.cfg.Account,
		Version: Version(), Logger: s.log, Tail: s.tail}
	if s.keys != nil {
		ccfg.Keys = func(id string) *identity.Key { return s.keys.Current().Lookup(id) }
	}
	mux.Handle(console.Prefix, console.New(ccfg))
	mux.Handle("GET /console", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	mux.Handle("GET /{$}", s.home(api))
	mux.Handle("/", api)
	return mux
}

// Handler returns the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Registry returns the server's Prometheus registry.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully:
// requests in flight finish (their events are stored before they answer),
// routing and delivery stop, and the store is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := s.cfg.HTTP.Server(s.handler, slog.NewLogLogger(s.log.Handler(), slog.LevelWarn))
	ln = s.cfg.HTTP.Listen(ln)
	// Waiting ReceiveMessage calls answer at once when shutdown begins.
	hs.RegisterOnShutdown(s.queues.Drain)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	stopGateways := s.serveS3Gateways()
	s.log.Info("conveyor serving", "addr", ln.Addr().String(), "region", s.cfg.Region, "account", s.cfg.Account,
		"data_dir", s.cfg.DataDir, "nats", s.cfg.NATSURL, "auth", s.authMode())
	if s.cfg.AuthFile == "" && !loopback(ln.Addr().String()) {
		s.log.Warn("conveyor accepts every request as whoever it names: it listens beyond this machine without --auth, "+
			"so anyone who reaches the port can act as any key and write the audit trail", "addr", ln.Addr().String())
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.log.Info("conveyor shutting down")
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	stopGateways()
	s.shutdown(sctx)
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, s.closeErr)
}

// Run listens on the configured address and serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		s.shutdown(context.Background())
		return fmt.Errorf("server: %w", err)
	}
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	go memlimit.Keep(mctx, s.cfg.MemoryTarget, time.Second)
	return s.Serve(ctx, ln)
}

// Close stops routing and delivery and closes the store, without serving
// (for a Server that was never served).
func (s *Server) Close(ctx context.Context) error {
	s.shutdown(ctx)
	return s.closeErr
}

// shutdown stops the parts in the reverse order of their start. It is safe
// to call on a partly built server, and more than once.
func (s *Server) shutdown(ctx context.Context) {
	if s.stopWatches != nil {
		s.stopWatches()
	}
	if s.tails != nil {
		s.tails.Close()
		s.tails = nil
	}
	if s.stopStats != nil {
		s.stopStats()
	}
	s.closeS3Gateways()
	if s.audit != nil {
		// Flush the records of the calls answered so far to the audit log.
		if err := s.audit.Close(ctx); err != nil {
			s.closeErr = errors.Join(s.closeErr, err)
		}
		s.audit = nil
	}
	if s.sched != nil {
		s.sched.Close()
		s.sched = nil
	}
	if s.archives != nil {
		s.archives.Close()
	}
	if s.lambda != nil {
		s.lambda.Close()
		s.lambda = nil
	}
	if s.router != nil {
		s.router.Close()
		s.router = nil
	}
	if s.runner != nil {
		if err := s.runner.Close(ctx); err != nil {
			s.closeErr = errors.Join(s.closeErr, err)
		}
		s.runner = nil
	}
	if s.queues != nil {
		s.queues.Close()
		s.queues = nil
	}
	if s.targets != nil {
		if err := s.targets.Close(); err != nil {
			s.closeErr = errors.Join(s.closeErr, err)
		}
		s.targets = nil
	}
	if s.catalog != nil {
		s.catalog.Close()
	}
	if s.peers != nil {
		s.peers.Stop()
		s.peers = nil
	}
	if s.store != nil {
		if err := s.store.Close(ctx); err != nil {
			s.closeErr = errors.Join(s.closeErr, err)
		}
		s.store = nil
	}
	if s.lock != nil {
		if err := s.lock.Release(); err != nil {
			s.closeErr = errors.Join(s.closeErr, err)
		}
		s.lock = nil
	}
}

// lazyPutter lets the target registry, built before the router, put events
// on buses through it.
type lazyPutter struct {
	r   *router.Router
	cat *catalog.Catalog
}

func (p *lazyPutter) PutEvent(ctx context.Context, busARN string, event []byte) error {
	if p.r == nil {
		return errors.New("server: the router is not running yet")
	}
	sc, ref, ok := catalog.ParseResourceARN(busARN)
	if !ok || ref.Kind != catalog.KindBus {
		return fmt.Errorf("%s is not an event bus ARN: %w", busARN, delivery.ErrNotFound)
	}
	err := p.r.PutEvent(ctx, p.cat.BusID(sc, ref.Name), event)
	if errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("event bus %s: %w", busARN, delivery.ErrNotFound)
	}
	return err
}

// tail sends fn the live tail of bus name of scope sc (console.Config.Tail).
func (s *Server) tail(ctx context.Context, sc scope.Scope, name string, filter []byte, fn func(tail.Item) error) error {
	in := s.catalog.In(sc)
	if _, err := in.Bus(ctx, name); err != nil {
		return err
	}
	rules := func(ctx context.Context) ([]tail.Rule, error) {
		rs, err := in.Rules(ctx, name)
		if err != nil {
			return nil, err
		}
		out := make([]tail.Rule, len(rs))
		for i, r := range rs {
			out[i] = tail.Rule{Name: r.Name, EventPattern: r.EventPattern, Enabled: r.State == "ENABLED"}
		}
		return out, nil
	}
	return s.tails.Watch(ctx, s.catalog.BusID(sc, name), filter, rules, fn)
}

// getRuleMetricsInput names a bus (default: the default bus).
type getRuleMetricsInput struct {
	EventBusName *string `json:"EventBusName"`
}

// RuleMetrics is one rule's counters over the last hour (rulestats.Series by counter name:
// Matched, Invoked, Failed, DeadLettered, Dropped, FailedToDeadLetter).
type RuleMetrics struct {
	Name    string                      `json:"Name"`
	Metrics map[string]rulestats.Series `json:"Metrics"`
}

type getRuleMetricsOutput struct {
	Rules []RuleMetrics `json:"Rules"`
}

// getRuleMetrics (ConveyorEvents.GetRuleMetrics) answers the last hour of the counters of the
// rules of a bus of the caller's account and region, as this Conveyor counted them.
func (s *Server) getRuleMetrics(ctx context.Context, in *getRuleMetricsInput) (*getRuleMetricsOutput, error) {
	sc := awsapi.CallerFrom(ctx).ScopeOr(scope.Scope{Account: s.cfg.Account, Region: s.cfg.Region})
	name := catalog.DefaultBusName
	if in.EventBusName != nil && *in.EventBusName != "" {
		name = *in.EventBusName
	}
	if _, err := s.catalog.In(sc).Bus(ctx, name); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return nil, awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Event bus %s does not exist.", name)
		}
		return nil, err
	}
	out := &getRuleMetricsOutput{Rules: []RuleMetrics{}}
	for rule, m := range s.stats.Rules(s.catalog.BusID(sc, name)) {
		out.Rules = append(out.Rules, RuleMetrics{Name: rule, Metrics: m})
	}
	sort.Slice(out.Rules, func(i, j int) bool { return out.Rules[i].Name < out.Rules[j].Name })
	return out, nil
}

// listRecentEventsInput names a bus (default: the default bus) and how many events to list.
type listRecentEventsInput struct {
	EventBusName *string `json:"EventBusName"`
	// MaxResults is at most 100 (default 20).
	MaxResults *int `json:"MaxResults"`
}

type listRecentEventsOutput struct {
	// Events are the bus's latest events, newest first, each as the JSON a target receives.
	Events []string `json:"Events"`
}

// listRecentEvents (ConveyorEvents.ListRecentEvents) answers the latest events the bus's stream
// still holds (--bus-retention), newest first: samples for the console's sandbox.
func (s *Server) listRecentEvents(ctx context.Context, in *listRecentEventsInput) (*listRecentEventsOutput, error) {
	sc := awsapi.CallerFrom(ctx).ScopeOr(scope.Scope{Account: s.cfg.Account, Region: s.cfg.Region})
	name := catalog.DefaultBusName
	if in.EventBusName != nil && *in.EventBusName != "" {
		name = *in.EventBusName
	}
	n := 20
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, awsapi.ValidationError("MaxResults must be between 1 and 100.")
		}
		n = *in.MaxResults
	}
	if _, err := s.catalog.In(sc).Bus(ctx, name); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return nil, awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Event bus %s does not exist.", name)
		}
		return nil, err
	}
	out := &listRecentEventsOutput{Events: []string{}}
	st, err := s.store.JetStream().Stream(ctx, store.BusStream(s.catalog.BusID(sc, name)))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return out, nil // nothing was ever put on it
	}
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	for seq := info.State.LastSeq; seq >= info.State.FirstSeq && seq > 0 && len(out.Events) < n; seq-- {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		// The message's events, newest first.
		start := len(out.Events)
		for ev := range store.Batched(m.Data) {
			out.Events = append(out.Events, string(ev))
		}
		slices.Reverse(out.Events[start:])
		out.Events = out.Events[:min(len(out.Events), n)]
	}
	return out, nil
}
