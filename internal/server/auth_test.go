package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

func eventsAs(in *servertest.Instance, key, secret string) *eventbridge.Client {
	return eventbridge.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
}

// recordIdentity is what a record says about its caller.
type recordIdentity struct {
	UserIdentity struct {
		Type, PrincipalID, ARN, AccountID, AccessKeyID, UserName string
	}
	ErrorCode         string
	RequestParameters json.RawMessage
}

func parseRecord(t *testing.T, raw string) recordIdentity {
	t.Helper()
	var r recordIdentity
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// With --auth, a verified key's principal is the caller in the record; a wrong secret, an
// unknown key and an unsigned call are refused with AWS's errors, change nothing, and are
// recorded as Unknown callers with the error and without what they sent.
func TestVerifiedIdentities(t *testing.T) {
	in := servertest.Start(t, servertest.Verified(t))
	ctx := context.Background()
	if _, err := in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	rec := parseRecord(t, history(t, in, "CreateEventBus", 1)[0])
	if id := rec.UserIdentity; id.Type != "IAMUser" || id.UserName != "tester" || id.ARN != "arn:aws:iam::000000000000:user/tester" ||
		id.AccessKeyID != servertest.AccessKeyID || !strings.HasPrefix(id.PrincipalID, "AIDA") {
		t.Errorf("verified caller recorded as %+v", id)
	}

	for _, c := range []struct {
		name, key, secret, code string
	}{
		{"wrong secret", servertest.AccessKeyID, "guess", "InvalidSignatureException"},
		{"unknown key", "AKIDMALLORY", "x", "UnrecognizedClientException"},
	} {
		_, err := eventsAs(in, c.key, c.secret).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("forged")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	anon := eventbridge.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
		Credentials: aws.AnonymousCredentials{}})
	_, err := anon.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("forged")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %v", err)
	}
	if _, err := in.Events.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("forged")}); err == nil {
		t.Error("a refused call created its bus")
	}
	recs := history(t, in, "CreateEventBus", 4)
	failures := map[string]recordIdentity{}
	for _, raw := range recs {
		if r := parseRecord(t, raw); r.ErrorCode != "" {
			failures[r.ErrorCode] = r
		}
	}
	for code, key := range map[string]string{"InvalidSignatureException": servertest.AccessKeyID,
		"UnrecognizedClientException": "AKIDMALLORY", "MissingAuthenticationTokenException": ""} {
		r, ok := failures[code]
		if !ok {
			t.Errorf("no record of the call refused with %s", code)
			continue
		}
		if r.UserIdentity.Type != "Unknown" || r.UserIdentity.AccessKeyID != key || r.UserIdentity.UserName != "" ||
			string(r.RequestParameters) != "" && string(r.RequestParameters) != "null" {
			t.Errorf("%s recorded as %+v, parameters %s", code, r.UserIdentity, r.RequestParameters)
		}
	}
	for _, raw := range recs {
		if strings.Contains(raw, "guess") {
			t.Errorf("a record holds the secret that was tried: %s", raw)
		}
	}
}

// SIGHUP's reload: a key removed from the file is refused from then on, a key added is
// accepted, and a broken file keeps the keys in use.
func TestReloadKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	write := func(doc string) {
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"accessKeys":[{"accessKeyId":"AKIDOLD","secretAccessKey":"old-secret","userName":"old"}]}`)
	in := servertest.Start(t, func(c *server.Config) { c.AuthFile = path })
	ctx := context.Background()
	list := func(key, secret string) error {
		_, err := eventsAs(in, key, secret).ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
		return err
	}
	if err := list("AKIDOLD", "old-secret"); err != nil {
		t.Fatal(err)
	}
	write(`{"accessKeys":[{"accessKeyId":"AKIDNEW","secretAccessKey":"new-secret","userName":"new"}]}`)
	if err := in.Server.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	if err := list("AKIDOLD", "old-secret"); err == nil {
		t.Error("a key removed from the file is still accepted")
	}
	if err := list("AKIDNEW", "new-secret"); err != nil {
		t.Errorf("a key added to the file: %v", err)
	}
	write(`{"accessKeys":[`)
	if err := in.Server.ReloadKeys(); err == nil {
		t.Error("a broken key file was loaded")
	}
	if err := list("AKIDNEW", "new-secret"); err != nil {
		t.Errorf("after a failed reload: %v", err)
	}
}

// Without --auth, --identities names the principal and account of the keys it lists (and
// believes every signature); other keys are IAM users named after themselves.
func TestIdentitiesWithoutVerification(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids.json")
	if err := os.WriteFile(path, []byte(`{"accessKeys":[{"accessKeyId":"`+servertest.AccessKeyID+`","userName":"dev"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	in := servertest.Start(t, func(c *server.Config) { c.IdentitiesFile = path })
	ctx := context.Background()
	if _, err := in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	// Not verified: a wrong secret is believed.
	if _, err := eventsAs(in, "AKIDOTHER", "whatever").CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	users := map[string]bool{}
	for _, raw := range history(t, in, "CreateEventBus", 2) {
		users[parseRecord(t, raw).UserIdentity.UserName] = true
	}
	if !users["dev"] || !users["AKIDOTHER"] {
		t.Errorf("recorded users %v, want dev and AKIDOTHER", users)
	}
}

// The start refuses what cannot be enforced or is contradictory.
func TestAuthConfigRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  func(*server.Config)
		want string
	}{
		{"trusted sources without auth", func(c *server.Config) { c.TrustedSources = []string{"AKID"} }, "--trusted-sources needs --auth"},
		{"both key files", func(c *server.Config) { c.AuthFile, c.IdentitiesFile = "a", "b" }, "cannot be given together"},
		{"missing key file", func(c *server.Config) { c.AuthFile = filepath.Join(t.TempDir(), "none.json") }, "--auth"},
	} {
		cfg := server.Defaults()
		cfg.DataDir = t.TempDir()
		c.cfg(&cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		srv, err := server.New(ctx, cfg)
		cancel()
		if err == nil {
			_ = srv.Close(context.Background())
			t.Errorf("%s: started", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// With --auth, a CloudTrail import must be signed (its body streamed, so UNSIGNED-PAYLOAD).
func TestImportNeedsSignature(t *testing.T) {
	in := servertest.Start(t, servertest.Verified(t))
	const file = `{"Records":[]}`
	post := func(sign bool, secret string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, in.URL+server.ImportPath, strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if sign {
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: secret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "cloudtrail", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post(false, ""); status != http.StatusForbidden || !strings.Contains(body, "MissingAuthenticationTokenException") {
		t.Errorf("unsigned import: %d %s", status, body)
	}
	if status, body := post(true, "guess"); status != http.StatusBadRequest || !strings.Contains(body, "InvalidSignatureException") {
		t.Errorf("wrongly signed import: %d %s", status, body)
	}
	if status, body := post(true, servertest.SecretAccessKey); status != http.StatusOK {
		t.Errorf("signed import: %d %s", status, body)
	}
}
