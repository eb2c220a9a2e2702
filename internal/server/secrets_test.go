package server_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// Connection secrets are sealed at rest: after a connection is made and its key replaced,
// no file of the data directory holds either key, nor a secret parameter; the key that seals
// them was made in the data directory, readable by its owner only. The same data directory
// opens again with its secrets intact.
func TestSecretsSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	cfg := func(c *server.Config) { c.DataDir = dir }
	in := servertest.Start(t, cfg)
	ctx := context.Background()
	auth := func(key string) *types.CreateConnectionAuthRequestParameters {
		return &types.CreateConnectionAuthRequestParameters{
			ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String(key)},
			InvocationHttpParameters: &types.ConnectionHttpParameters{HeaderParameters: []types.ConnectionHeaderParameter{
				{Key: aws.String("X-Signing"), Value: aws.String("param-" + key), IsValueSecret: true}}},
		}
	}
	if _, err := in.Events.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("hook"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey, AuthParameters: auth("sk-first-1111")}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Events.UpdateConnection(ctx, &eventbridge.UpdateConnectionInput{Name: aws.String("hook"),
		AuthParameters: &types.UpdateConnectionAuthRequestParameters{
			ApiKeyAuthParameters: &types.UpdateConnectionApiKeyAuthRequestParameters{ApiKeyValue: aws.String("sk-second-2222")}}}); err != nil {
		t.Fatal(err)
	}
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range []string{"sk-first-1111", "sk-second-2222", "param-sk-first-1111"} {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds %q", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, server.SecretsKeyName))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("secrets key: %v %v", info, err)
	}

	// Opened again, deliveries use the secrets in clear.
	in = servertest.Start(t, cfg)
	s := newSink(t)
	conn, err := in.Events.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("hook")})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := in.Events.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("d"),
		ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String(s.srv.URL), HttpMethod: types.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatal(err)
	}
	putRule(t, in.Events, "", "all", `{"source":["app"]}`, types.Target{Id: aws.String("d"), Arn: dest.ApiDestinationArn})
	if _, err := in.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String("{}")}}}); err != nil {
		t.Fatal(err)
	}
	s.wait(t, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if got := s.heads[0].Get("X-Api-Key"); got != "sk-second-2222" || s.heads[0].Get("X-Signing") != "param-sk-first-1111" {
		t.Errorf("delivery after restart sent x-api-key %q, x-signing %q", got, s.heads[0].Get("X-Signing"))
	}
}
