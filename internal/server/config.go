package server

import (
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conveyor/conveyor/internal/clock"
	"github.com/conveyor/conveyor/internal/function"
	"github.com/conveyor/conveyor/internal/httpserve"
	"github.com/conveyor/conveyor/internal/inbound"
	"github.com/conveyor/conveyor/internal/s3gateway"
)

// Config is everything `conveyor serve` can be told. The zero value of a
// field means its default (see Defaults).
type Config struct {
	// Addr is the HTTP listen address (host:port) for the AWS APIs,
	// /healthz and /metrics.
	Addr string
	// DataDir holds the embedded JetStream store and the CloudTrail index.
	DataDir string
	// Region and Account are the AWS region and account id that ARNs and
	// events carry.
	Region  string
	Account string
	// NATSURL, when set, connects to an existing NATS server or cluster
	// instead of starting the embedded one.
	NATSURL string
	// Replicas is the JetStream replica count for streams and buckets in
	// NATSURL mode (1 with the embedded server).
	Replicas int
	// Sync is the JetStream fsync policy: "" (JetStream's default, every two
	// minutes: survives a crash of the process, not of the OS) or "always".
	Sync string
	// MaxStore bounds the embedded store's size in bytes (0: what the disk
	// holds).
	MaxStore int64
	// MemoryTarget is the resident set Run aims for, in bytes: the Go
	// runtime's soft memory limit, raised to 1.25 times the live heap when
	// that is more (see package memlimit); 0 leaves the runtime's default.
	MemoryTarget int64
	// BusRetention is how long a bus stream keeps its events, routed or not
	// (default 24h; see store.Config.BusMaxAge).
	BusRetention time.Duration
	// MaxRulesPerBus is the rule limit per event bus (AWS's default: 300).
	MaxRulesPerBus int
	// MaxPatternLength is the event pattern size limit in characters.
	MaxPatternLength int
	// AuthFile, when set, is a key file (package identity) whose keys are
	// the only ones the APIs accept: every call's SigV4 signature is
	// verified against its key's secret, and the key's principal and
	// account are the caller's. It is read again by Reload.
	AuthFile string
	// IdentitiesFile, for a server that does not verify signatures, is a
	// key file that names the principal and account of the keys it lists
	// (secrets may be left out); other keys are accepted as they are.
	// It cannot be set with AuthFile.
	IdentitiesFile string
	// SecretsKeyFile is the key that seals connection secrets in the store
	// (package secrets). Default: <DataDir>/secrets.key, made on the first
	// start. With NATSURL it must be given: every Conveyor sharing the NATS
	// server needs the same key.
	SecretsKeyFile string
	// TrustedSources lists access key ids allowed to put events whose
	// source begins with "aws." (test rigs and adapters that emit service
	// events). It needs AuthFile: an unverified key can be named by anyone.
	TrustedSources []string
	// Functions are the local functions that Lambda ARN targets run
	// (package function).
	Functions []function.Spec
	// FunctionTimeout bounds one run of a local function (default
	// function.DefaultTimeout); FunctionConcurrency bounds the runs of one
	// local function at once (default function.DefaultConcurrency).
	FunctionTimeout     time.Duration
	FunctionConcurrency int
	// LambdaEndpoint, when set, is the AWS Lambda API that invokes the
	// functions that are not local, signed for LambdaRegion (default
	// Region) with LambdaCredentials (nil: the AWS SDK's default chain,
	// e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
	LambdaEndpoint    string
	LambdaRegion      string
	LambdaCredentials aws.CredentialsProvider
	// Inbound are the credentials the inbound endpoints (POST /inbound/…,
	// package inbound) accept; with none they are disabled.
	Inbound []inbound.Credential
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration
	// HTTP bounds what one client of the API port may hold: timeouts and the
	// connection cap (default httpserve.Defaults). WriteTimeout must outlast
	// an SQS long poll (20 s).
	HTTP httpserve.Limits
	// AuditRetention is how long CloudTrail records are kept (default 90
	// days).
	AuditRetention time.Duration
	// AuditDataEvents records data events (PutEvents, SQS message calls)
	// too; they never show in the event history, as on AWS.
	AuditDataEvents bool
	// MaxImportBytes bounds one CloudTrail log file posted to ImportPath
	// (default DefaultMaxImportBytes).
	MaxImportBytes int64
	// S3Gateways are the S3 audit gateways to run (package s3gateway): each
	// listens on its Addr and forwards to its Backend, recording every
	// request.
	S3Gateways []s3gateway.Spec
	// Clock drives scheduled rules (the system clock if nil; tests inject
	// a clocktest.Manual).
	Clock clock.Clock
	// ReplayPause is a pause between batches of a replay (none by default;
	// tests slow replays down to cancel them).
	ReplayPause time.Duration
	// RetryBackoff is the first retry delay of a failed delivery; later
	// retries double it (with jitter) up to five minutes. Zero means one
	// second. Tests make it small.
	RetryBackoff time.Duration
	// RouteAckWait is how long an event routed from a bus may go without
	// acknowledgement or a report of progress before its bus hands it out
	// again: after a crash, how long the events being delivered wait to be
	// routed again. Zero means ten seconds. Tests make it small.
	RouteAckWait time.Duration
}

// Defaults returns the configuration `conveyor serve` starts with.
func Defaults() Config {
	return Config{
		Addr:             "127.0.0.1:4010",
		DataDir:          "./conveyor-data",
		Region:           "us-east-1",
		Account:          "000000000000",
		Replicas:         1,
		MaxRulesPerBus:   300,
		MaxPatternLength: 2048,
		ShutdownTimeout:  30 * time.Second,
		HTTP:             httpserve.Defaults(),
		BusRetention:     24 * time.Hour,
		MemoryTarget:     256 << 20,

		FunctionTimeout:     function.DefaultTimeout,
		FunctionConcurrency: function.DefaultConcurrency,
	}
}
