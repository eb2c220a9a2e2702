// Package servertest starts a whole Conveyor in-process for tests: embedded
// JetStream in a temporary directory, the APIs on 127.0.0.1:0, and AWS SDK
// for Go v2 clients pointed at it.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/conveyor/conveyor/internal/prom"
	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/secrets"
	"github.com/conveyor/conveyor/internal/server"
)

// AccessKeyID and SecretAccessKey are the credentials of the clients Start
// makes; Verified lists them in a key file.
const (
	AccessKeyID     = "AKIDCONVEYORTEST"
	SecretAccessKey = "secret"
)

// Verified configures the server to verify signatures (Config.AuthFile) with
// a key file that lists the clients' key, as the IAM user "tester" of the
// server's account.
func Verified(t testing.TB) func(*server.Config) {
	return func(c *server.Config) {
		path := filepath.Join(t.TempDir(), "keys.json")
		doc := `{"accessKeys":[{"accessKeyId":"` + AccessKeyID + `","secretAccessKey":"` + SecretAccessKey + `","userName":"tester"}]}`
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		c.AuthFile = path
	}
}

// Instance is a running Conveyor.
type Instance struct {
	Server *server.Server
	// URL is the base URL of the APIs, e.g. http://127.0.0.1:41234.
	URL string
	// Config is the configuration the server was started with.
	Config server.Config
	// Events is an EventBridge client for URL.
	Events *eventbridge.Client
	// CloudTrail is a CloudTrail client for URL.
	CloudTrail *cloudtrail.Client
	// SQS is an SQS client for URL.
	SQS *sqs.Client
	// Lambda is a Lambda client for URL.
	Lambda *lambda.Client

	cancel context.CancelFunc
	done   chan error
}

// Start starts a Conveyor on a fresh data directory (unless configure sets
// one) and stops it when the test ends.
func Start(t testing.TB, configure ...func(*server.Config)) *Instance {
	t.Helper()
	cfg := server.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, f := range configure {
		f(&cfg)
	}
	in, err := StartConfig(cfg)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	t.Cleanup(func() {
		if err := in.Stop(); err != nil {
			t.Errorf("servertest: stop: %v", err)
		}
	})
	return in
}

// StartConfig starts a Conveyor with cfg on 127.0.0.1:0 (cfg.Addr is
// ignored). The caller stops it with Stop.
func StartConfig(cfg server.Config) (*Instance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close(context.Background())
		return nil, err
	}
	sctx, scancel := context.WithCancel(context.Background())
	in := &Instance{
		Server: srv,
		URL:    "http://" + ln.Addr().String(),
		Config: cfg,
		cancel: scancel,
		done:   make(chan error, 1),
	}
	go func() { in.done <- srv.Serve(sctx, ln) }()
	in.Events = eventbridge.NewFromConfig(in.AWSConfig())
	in.CloudTrail = cloudtrail.NewFromConfig(in.AWSConfig())
	in.SQS = sqs.NewFromConfig(in.AWSConfig())
	in.Lambda = lambda.NewFromConfig(in.AWSConfig())
	return in, nil
}

// AWSConfig is an SDK configuration for the instance: its URL, region and a
// static test key, and no retries (tests want to see every error) but of
// the one error the client makes itself (see sdktest.Retryer).
func (in *Instance) AWSConfig() aws.Config {
	return aws.Config{
		Region:       in.Config.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(in.URL),
		Retryer:      sdktest.Retryer,
	}
}

// Stop shuts the instance down gracefully and waits for it.
func (in *Instance) Stop() error {
	if in.cancel == nil {
		return nil
	}
	in.cancel()
	in.cancel = nil
	return <-in.done
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// APIKeyName and APIKeyValue are the API key that APIDestination's
// connection sends with every request.
const (
	APIKeyName  = "x-api-key"
	APIKeyValue = "s3cr3t"
)

// APIDestination creates a connection (API key APIKeyName: APIKeyValue) and
// an API destination named name that POSTs to url, and returns the
// destination's ARN, for rule targets.
func APIDestination(t testing.TB, c *eventbridge.Client, name, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := c.CreateConnection(ctx, &eventbridge.CreateConnectionInput{
		Name:              aws.String(name + "-conn"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
				ApiKeyName: aws.String(APIKeyName), ApiKeyValue: aws.String(APIKeyValue),
			},
		},
	})
	if err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	dest, err := c.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{
		Name:               aws.String(name),
		ConnectionArn:      conn.ConnectionArn,
		InvocationEndpoint: aws.String(url),
		HttpMethod:         types.ApiDestinationHttpMethodPost,
	})
	if err != nil {
		t.Fatalf("CreateApiDestination: %v", err)
	}
	return aws.ToString(dest.ApiDestinationArn)
}

// SecretsKey makes a key file for Config.SecretsKeyFile, for servers that
// share one NATS server (and so must seal connection secrets alike).
func SecretsKey(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secrets.key")
	if _, err := secrets.LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Counter sums the values of the counter name in the instance's registry,
// over the series that carry every one of labelValues among their labels'
// values (all of them when none is given).
func (in *Instance) Counter(t testing.TB, name string, labelValues ...string) float64 {
	t.Helper()
	return prom.Sum(in.Server.Registry(), name, labelValues...)
}
