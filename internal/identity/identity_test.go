package identity_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/identity"
)

func TestParse(t *testing.T) {
	set, err := identity.Parse([]byte(`{"accessKeys": [
	  {"accessKeyId": "AKIAALICE", "secretAccessKey": "s1", "accountId": "111111111111", "userName": "alice"},
	  {"accessKeyId": "AKIAROOT", "secretAccessKey": "s2", "type": "Root"},
	  {"accessKeyId": "ASIACI", "secretAccessKey": "s3", "sessionToken": "tok", "accountId": "222222222222",
	   "type": "AssumedRole", "roleName": "deployer", "sessionName": "ci"}
	]}`), "000000000000", true)
	if err != nil {
		t.Fatal(err)
	}
	alice := set.Lookup("AKIAALICE")
	if alice == nil || alice.Secret != "s1" || alice.Principal.ARN != "arn:aws:iam::111111111111:user/alice" ||
		!strings.HasPrefix(alice.Principal.PrincipalID, "AIDA") || len(alice.Principal.PrincipalID) != 21 {
		t.Errorf("alice: %+v", alice)
	}
	root := set.Lookup("AKIAROOT")
	if root == nil || root.Principal.AccountID != "000000000000" || root.Principal.ARN != "arn:aws:iam::000000000000:root" ||
		root.Principal.PrincipalID != "000000000000" {
		t.Errorf("root: %+v", root)
	}
	ci := set.Lookup("ASIACI")
	if ci == nil || ci.SessionToken != "tok" || ci.Principal.ARN != "arn:aws:sts::222222222222:assumed-role/deployer/ci" ||
		ci.Principal.PrincipalID != ci.Principal.RoleID+":ci" || !strings.HasPrefix(ci.Principal.RoleID, "AROA") {
		t.Errorf("ci: %+v", ci)
	}
	if set.Lookup("AKIANOBODY") != nil || set.Len() != 3 {
		t.Error("unknown key found, or wrong count")
	}
	// Unique ids are stable: the same name gets the same id in another read.
	again, _ := identity.Parse([]byte(`{"accessKeys":[{"accessKeyId":"K2","secretAccessKey":"x","accountId":"111111111111","userName":"alice"}]}`), "000000000000", true)
	if again.Lookup("K2").Principal.PrincipalID != alice.Principal.PrincipalID {
		t.Error("the principal id of a user changes between reads")
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"not JSON", `{`, "unexpected EOF"},
		{"unknown field", `{"accessKeys":[{"accessKeyId":"K","secretAccessKey":"s","userName":"u","password":"x"}]}`, "unknown field"},
		{"no secret", `{"accessKeys":[{"accessKeyId":"K","userName":"u"}]}`, "has no secretAccessKey"},
		{"bad key id", `{"accessKeys":[{"accessKeyId":"K Y","secretAccessKey":"s","userName":"u"}]}`, "accessKeyId"},
		{"twice", `{"accessKeys":[{"accessKeyId":"K","secretAccessKey":"s","userName":"u"},{"accessKeyId":"K","secretAccessKey":"t","userName":"v"}]}`, "listed twice"},
		{"bad account", `{"accessKeys":[{"accessKeyId":"K","secretAccessKey":"s","userName":"u","accountId":"12"}]}`, "not 12 digits"},
		{"no user name", `{"accessKeys":[{"accessKeyId":"K","secretAccessKey":"s"}]}`, "not a valid IAM user name"},
		{"bad type", `{"accessKeys":[{"accessKeyId":"K","secretAccessKey":"s","type":"Group"}]}`, "is not IAMUser"},
		{"root with a name", `{"accessKeys":[{"accessKeyId":"K","secretAccessKey":"s","type":"Root","userName":"x"}]}`, "Root key has no"},
		{"role without session", `{"accessKeys":[{"accessKeyId":"K","secretAccessKey":"s","type":"AssumedRole","roleName":"r"}]}`, "sessionName"},
		{"trailing data", `{"accessKeys":[]} {}`, "data after"},
	} {
		_, err := identity.Parse([]byte(c.doc), "000000000000", true)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), `"s"`) {
			t.Errorf("%s: the error quotes a secret: %v", c.name, err)
		}
	}
	// Without verification, a key may come without its secret.
	if _, err := identity.Parse([]byte(`{"accessKeys":[{"accessKeyId":"K","userName":"u"}]}`), "000000000000", false); err != nil {
		t.Error(err)
	}
}

func TestFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	write := func(doc string) {
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"accessKeys":[{"accessKeyId":"K1","secretAccessKey":"s","userName":"one"}]}`)
	f, err := identity.Open(path, "000000000000", true)
	if err != nil {
		t.Fatal(err)
	}
	write(`{"accessKeys":[{"accessKeyId":"K2","secretAccessKey":"s","userName":"two"}]}`)
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if f.Current().Lookup("K1") != nil || f.Current().Lookup("K2") == nil {
		t.Error("reload did not replace the keys")
	}
	// A broken file keeps the keys in use.
	write(`{"accessKeys":[{"accessKeyId":"K3"`)
	if err := f.Reload(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("broken file: %v", err)
	}
	if f.Current().Lookup("K2") == nil {
		t.Error("a failed reload dropped the keys in use")
	}
}
