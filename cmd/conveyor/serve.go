package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/conveyor/conveyor/internal/function"
	"github.com/conveyor/conveyor/internal/inbound"
	"github.com/conveyor/conveyor/internal/s3gateway"
	"github.com/conveyor/conveyor/internal/server"
)

// serve runs `conveyor serve`. Every flag can also be set through an
// environment variable: --data-dir is CONVEYOR_DATA_DIR, and so on; a flag
// given on the command line wins.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, logLevel, err := serveConfig(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	// SIGHUP reads the key file of --auth or --identities again.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				_ = srv.ReloadKeys() // logged
			case <-ctx.Done():
				return
			}
		}
	}()
	return srv.Run(ctx)
}

// serveConfig reads the flags of `conveyor serve`, with defaults taken from
// the environment (getenv) and then from server.Defaults.
func serveConfig(args []string, getenv func(string) string, stderr io.Writer) (server.Config, slog.Level, error) {
	fs, finish := serveFlags(getenv, stderr)
	if err := fs.Parse(args); err != nil {
		return server.Config{}, 0, err
	}
	return finish()
}

// serveFlags builds the flag set of `conveyor serve`, with defaults taken
// from the environment (getenv) and then from server.Defaults. Once fs has
// parsed the arguments, finish returns the configuration. Tests ask fs which
// flags exist (deploy/compose.yaml names only flags that do).
func serveFlags(getenv func(string) string, stderr io.Writer) (fs *flag.FlagSet, finish func() (server.Config, slog.Level, error)) {
	cfg := server.Defaults()
	fs = flag.NewFlagSet("conveyor serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv("CONVEYOR_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	str := func(p *string, name, usage string) {
		fs.StringVar(p, name, env(name, *p), usage+" (env CONVEYOR_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))+")")
	}
	var envErr error
	num := func(p *int, name, usage string) {
		def := *p
		if v := env(name, ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil && envErr == nil {
				envErr = fmt.Errorf("environment CONVEYOR_%s: %w", strings.ToUpper(strings.ReplaceAll(name, "-", "_")), err)
			}
			def = n
		}
		fs.IntVar(p, name, def, usage+" (env CONVEYOR_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))+")")
	}
	str(&cfg.Addr, "addr", "listen address of the AWS APIs, /healthz and /metrics")
	str(&cfg.DataDir, "data-dir", "directory of the embedded JetStream store and the CloudTrail index")
	str(&cfg.Region, "region", "AWS region in ARNs and events")
	str(&cfg.Account, "account", "AWS account id in ARNs and events")
	str(&cfg.NATSURL, "nats", "URL of an existing NATS server or cluster (default: embedded)")
	num(&cfg.Replicas, "replicas", "JetStream replicas for streams and buckets with --nats")
	str(&cfg.Sync, "sync", `JetStream fsync policy: "" (every 2 minutes; survives kill -9, not an OS crash) or "always"`)
	memTarget := int(cfg.MemoryTarget >> 20)
	num(&memTarget, "memory-target-mib", "resident set to aim for, in MiB: Go's soft memory limit, raised to 1.25 times the live heap when that is more; 0: Go's default, GOMEMLIMIT wins")
	maxStore := int(cfg.MaxStore >> 20)
	num(&maxStore, "max-store-mib", "size limit of the embedded store in MiB (default: what the disk holds, raised as space is freed)")
	num(&cfg.MaxRulesPerBus, "max-rules-per-bus", "rule limit per event bus")
	num(&cfg.MaxPatternLength, "max-pattern-length", "event pattern size limit in characters")
	str(&cfg.SecretsKeyFile, "secrets-key", "key file sealing connection secrets at rest: 32 bytes in base64, mode 600 (default: made in the data directory; required with --nats)")
	str(&cfg.AuthFile, "auth", "key file (JSON, see README): verify every API call's SigV4 signature against it; reloaded on SIGHUP")
	str(&cfg.IdentitiesFile, "identities", "key file naming the principal and account of keys, without verifying signatures (local work); reloaded on SIGHUP")
	trusted := env("trusted-sources", "")
	fs.StringVar(&trusted, "trusted-sources", trusted, `comma-separated access key ids allowed to put events with an "aws." source; needs --auth (env CONVEYOR_TRUSTED_SOURCES)`)
	funcs := &functionFlag{}
	if v := env("function", ""); v != "" {
		specs, err := function.ParseSpecs(v)
		if err != nil && envErr == nil {
			envErr = fmt.Errorf("environment CONVEYOR_FUNCTION: %w", err)
		}
		funcs.specs = specs
	}
	fs.Var(funcs, "function", "local function NAME=COMMAND run for Lambda ARN targets ending in :function:NAME; repeatable "+
		"(env CONVEYOR_FUNCTION, entries separated by newlines or ';')")
	gateways := &s3GatewayFlag{}
	if v := env("s3-gateway", ""); v != "" {
		specs, err := s3gateway.ParseSpecs(v)
		if err != nil && envErr == nil {
			envErr = fmt.Errorf("environment CONVEYOR_S3_GATEWAY: %w", err)
		}
		gateways.specs = specs
	}
	fs.Var(gateways, "s3-gateway", "S3 audit gateway ADDR=BACKEND_URL: listen on ADDR, forward to the S3-compatible storage, "+
		"record every call; repeatable (env CONVEYOR_S3_GATEWAY, entries separated by ';')")
	dur := func(p *time.Duration, name, usage string) {
		def := *p
		if v := env(name, ""); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil && envErr == nil {
				envErr = fmt.Errorf("environment CONVEYOR_%s: %w", strings.ToUpper(strings.ReplaceAll(name, "-", "_")), err)
			}
			def = d
		}
		fs.DurationVar(p, name, def, usage+" (env CONVEYOR_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))+")")
	}
	dur(&cfg.HTTP.ReadTimeout, "read-timeout", "time a client has to send a whole request, body included")
	dur(&cfg.HTTP.WriteTimeout, "write-timeout", "time from a request's headers to the end of its answer (at least 25s: SQS long polls wait 20s)")
	dur(&cfg.HTTP.IdleTimeout, "idle-timeout", "time a kept-alive connection may wait for its next request")
	num(&cfg.HTTP.MaxConnections, "max-connections", "connections served at once; more wait to be accepted")
	dur(&cfg.BusRetention, "bus-retention", "how long a bus keeps its events, routed or not (archives and retries are kept apart)")
	dur(&cfg.FunctionTimeout, "function-timeout", "time limit of one run of a local function")
	dur(&cfg.AuditRetention, "audit-retention", "how long CloudTrail records are kept (default 2160h, 90 days)")
	dataEvents := env("audit-data-events", "") == "true"
	fs.BoolVar(&cfg.AuditDataEvents, "audit-data-events", dataEvents, "record data events too (PutEvents, SQS message calls, Lambda Invoke, S3 object calls); never in the event history (env CONVEYOR_AUDIT_DATA_EVENTS=true)")
	num(&cfg.FunctionConcurrency, "function-concurrency", "runs of one local function at once")
	str(&cfg.LambdaEndpoint, "lambda-endpoint", "AWS Lambda API URL for functions that are not local (credentials: AWS_ACCESS_KEY_ID… or a profile)")
	str(&cfg.LambdaRegion, "lambda-region", "region the Lambda API requests are signed for (default --region)")
	keys := &credFlag{parse: inbound.ParseKey}
	basics := &credFlag{parse: inbound.ParseBasic}
	for _, c := range []struct {
		f    *credFlag
		name string
	}{{keys, "inbound-key"}, {basics, "inbound-basic"}} {
		for _, v := range strings.Fields(env(c.name, "")) {
			if err := c.f.add(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("environment CONVEYOR_%s: %w", strings.ToUpper(strings.ReplaceAll(c.name, "-", "_")), err)
			}
		}
	}
	fs.Var(keys, "inbound-key", "API key [BUS/]HEADER=VALUE accepted by POST /inbound/…; repeatable (env CONVEYOR_INBOUND_KEY, separated by blanks)")
	fs.Var(basics, "inbound-basic", "basic auth [BUS/]USER:PASSWORD accepted by POST /inbound/…; repeatable (env CONVEYOR_INBOUND_BASIC, separated by blanks)")
	level := env("log-level", "info")
	fs.StringVar(&level, "log-level", level, "debug, info, warn or error (env CONVEYOR_LOG_LEVEL)")
	// Once fs has parsed the arguments into cfg and the flag values above.
	return fs, func() (server.Config, slog.Level, error) {
		if envErr != nil {
			return cfg, 0, envErr
		}
		if fs.NArg() > 0 {
			return cfg, 0, fmt.Errorf("serve: unexpected arguments %q", fs.Args())
		}
		if maxStore < 0 {
			return cfg, 0, fmt.Errorf("serve: --max-store-mib %d is negative", maxStore)
		}
		cfg.MaxStore = int64(maxStore) << 20
		if memTarget < 0 {
			return cfg, 0, fmt.Errorf("serve: --memory-target-mib %d is negative", memTarget)
		}
		cfg.MemoryTarget = int64(memTarget) << 20
		for _, k := range strings.Split(trusted, ",") {
			if k = strings.TrimSpace(k); k != "" {
				cfg.TrustedSources = append(cfg.TrustedSources, k)
			}
		}
		cfg.Functions = funcs.specs
		cfg.Inbound = append(keys.creds, basics.creds...)
		cfg.S3Gateways = gateways.specs
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return cfg, 0, fmt.Errorf("serve: --log-level: %w", err)
		}
		return cfg, lv, nil
	}
}

// functionFlag is the repeatable --function NAME=COMMAND. Given on the
// command line, it replaces the functions of CONVEYOR_FUNCTION.
type functionFlag struct {
	specs []function.Spec
	set   bool
}

func (f *functionFlag) String() string {
	if f == nil {
		return ""
	}
	names := make([]string, len(f.specs))
	for i, s := range f.specs {
		names[i] = s.Name
	}
	return strings.Join(names, ",")
}

func (f *functionFlag) Set(v string) error {
	if !f.set {
		f.specs, f.set = nil, true
	}
	s, err := function.ParseSpec(v)
	if err != nil {
		return err
	}
	f.specs = append(f.specs, s)
	return nil
}

// credFlag is a repeatable inbound credential flag. Given on the command
// line, it replaces the credentials of its environment variable.
type credFlag struct {
	parse func(string) (inbound.Credential, error)
	creds []inbound.Credential
	set   bool
}

func (f *credFlag) add(v string) error {
	c, err := f.parse(v)
	if err != nil {
		return err
	}
	f.creds = append(f.creds, c)
	return nil
}

// String does not show the secrets.
func (f *credFlag) String() string {
	if f == nil || len(f.creds) == 0 {
		return ""
	}
	return fmt.Sprintf("%d credentials", len(f.creds))
}

func (f *credFlag) Set(v string) error {
	if !f.set {
		f.creds, f.set = nil, true
	}
	return f.add(v)
}
