package catalog_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/secrets"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// filesHold says whether any file under dir holds s.
func filesHold(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = found || bytes.Contains(data, []byte(s))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func basicConnection(password string) func(*catalog.Connection) (*catalog.Connection, error) {
	return func(cur *catalog.Connection) (*catalog.Connection, error) {
		return &catalog.Connection{Name: "c", ARN: "arn:aws:events:us-east-1:000000000000:connection/c/1", AuthorizationType: "BASIC",
			Auth: catalog.ConnectionAuth{
				BasicAuthParameters: &catalog.BasicAuth{Username: "u", Password: password},
				InvocationHttpParameters: &catalog.ConnectionHttpParameters{HeaderParameters: []catalog.ConnectionParameter{
					{Key: "X-Token", Value: "token-" + password, IsValueSecret: true}, {Key: "X-Plain", Value: "plain-value"}}},
			}}, nil
	}
}

// Connection secrets are sealed in the bucket: neither the password nor a secret parameter
// (nor a password replaced by an update) is in the store's files, while the catalog reads
// them back in clear. Secrets written in clear before sealing are sealed, and their clear
// revisions erased, at start; another key is refused.
func TestSealedSecrets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := storetest.OpenDir(t, dir)
	// Before sealing existed: written in clear.
	plain, err := catalog.Open(ctx, st.JetStream(), catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.In(plain.Home()).MutateConnection(ctx, "c", basicConnection("old-password-1")); err != nil {
		t.Fatal(err)
	}
	plain.Close()
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !filesHold(t, dir, "old-password-1") {
		t.Fatal("the test cannot see a clear password in the store's files")
	}

	box, err := secrets.LoadOrCreateKey(filepath.Join(t.TempDir(), "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	st = storetest.OpenDir(t, dir)
	c, err := catalog.Open(ctx, st.JetStream(), catalog.Config{Secrets: box})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.In(c.Home()).MutateConnection(ctx, "c", basicConnection("new-password-2")); err != nil {
		t.Fatal(err)
	}
	conn, err := c.In(c.Home()).Connection(ctx, "c")
	if err != nil || conn.Auth.BasicAuthParameters.Password != "new-password-2" ||
		conn.Auth.InvocationHttpParameters.HeaderParameters[0].Value != "token-new-password-2" {
		t.Fatalf("connection read back: %+v %v", conn, err)
	}
	list, err := c.In(c.Home()).Connections(ctx)
	if err != nil || len(list) != 1 || list[0].Auth.BasicAuthParameters.Password != "new-password-2" {
		t.Fatalf("listed connection: %+v %v", list, err)
	}
	c.Close()
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"old-password-1", "new-password-2", "token-new-password-2"} {
		if filesHold(t, dir, secret) {
			t.Errorf("the store's files hold %q", secret)
		}
	}
	if !filesHold(t, dir, "plain-value") {
		t.Error("a parameter not marked secret was sealed too (or the files are not where the test looks)")
	}

	// Another key does not open them: the start is refused.
	other, err := secrets.LoadOrCreateKey(filepath.Join(t.TempDir(), "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	st = storetest.OpenDir(t, dir)
	if _, err = catalog.Open(ctx, st.JetStream(), catalog.Config{Secrets: other}); err == nil ||
		!strings.Contains(err.Error(), "another secrets key") {
		t.Errorf("another key: %v", err)
	}
}

// A start cut short while the bucket was written anew finishes from the backup: a whole
// backup replaces the bucket, a partial one is dropped.
func TestResealRecovers(t *testing.T) {
	ctx := context.Background()
	box, err := secrets.LoadOrCreateKey(filepath.Join(t.TempDir(), "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, complete := range []bool{true, false} {
		st := storetest.Open(t)
		js := st.JetStream()
		c, err := catalog.Open(ctx, js, catalog.Config{Secrets: box})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.In(c.Home()).CreateBus(ctx, catalog.Bus{Name: "live"}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		bk, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: catalog.DefaultBucket + "-reseal"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bk.Put(ctx, "bus.backedup", []byte(`{"Name":"backedup","Arn":"arn:aws:events:us-east-1:000000000000:event-bus/backedup"}`)); err != nil {
			t.Fatal(err)
		}
		if complete {
			if _, err := bk.Put(ctx, "complete", nil); err != nil {
				t.Fatal(err)
			}
		}
		c, err = catalog.Open(ctx, js, catalog.Config{Secrets: box})
		if err != nil {
			t.Fatal(err)
		}
		_, errBackedUp := c.In(c.Home()).Bus(ctx, "backedup")
		_, errLive := c.In(c.Home()).Bus(ctx, "live")
		if complete && (errBackedUp != nil || errLive == nil) || !complete && (errBackedUp == nil || errLive != nil) {
			t.Errorf("complete %v: backed-up bus: %v, live bus: %v", complete, errBackedUp, errLive)
		}
		if _, err := js.KeyValue(ctx, catalog.DefaultBucket+"-reseal"); err == nil {
			t.Errorf("complete %v: the backup bucket is still there", complete)
		}
		c.Close()
	}
}
