package secrets_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/secrets"
)

func TestSealOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	box, err := secrets.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	sealed := box.Seal("hunter2", "arn:x/Password")
	if strings.Contains(sealed, "hunter2") || !secrets.Sealed(sealed) || sealed == box.Seal("hunter2", "arn:x/Password") {
		t.Errorf("sealed: %q", sealed)
	}
	if got, err := box.Open(sealed, "arn:x/Password"); err != nil || got != "hunter2" {
		t.Errorf("open: %q %v", got, err)
	}
	// Bound to its context, and to its key.
	if _, err := box.Open(sealed, "arn:y/Password"); err != secrets.ErrWrongKey {
		t.Errorf("open in another context: %v", err)
	}
	again, err := secrets.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open(sealed, "arn:x/Password"); err != nil || got != "hunter2" {
		t.Errorf("open with the key read back: %q %v", got, err)
	}
	other, err := secrets.LoadOrCreateKey(filepath.Join(t.TempDir(), "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed, "arn:x/Password"); err != secrets.ErrWrongKey {
		t.Errorf("open with another key: %v", err)
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := box.Open(tampered, "arn:x/Password"); err != secrets.ErrWrongKey {
		t.Errorf("open tampered: %v", err)
	}
	// Values from before sealing pass through; empty stays empty.
	if got, _ := box.Open("clear", "c"); got != "clear" || box.Seal("", "c") != "" || secrets.Sealed("clear") {
		t.Error("clear values")
	}
}

func TestLoadKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		text string
		mode os.FileMode
		want string
	}{
		"open to others": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0o644, "readable by others"},
		"short":          {"AAAA\n", 0o600, "does not hold 32 bytes"},
		"not base64":     {"not a key at all!\n", 0o600, "does not hold 32 bytes"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(c.text), c.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, c.mode); err != nil {
			t.Fatal(err)
		}
		if _, err := secrets.LoadKey(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := secrets.LoadKey(filepath.Join(dir, "none")); err == nil {
		t.Error("missing key file loaded")
	}
}
