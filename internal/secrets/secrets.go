package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// prefix marks a sealed value; the version lets a later format (another cipher, a rotated
// key) be told apart.
const prefix = "conveyor:sealed:v1:"

// ErrWrongKey is returned for a sealed value that this key did not seal (or that was changed).
var ErrWrongKey = errors.New("secrets: the value was not sealed with this key, or was altered")

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: key of %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal returns plaintext sealed, bound to context (say, the ARN and field it belongs to: a
// sealed value moved to another place does not open). The empty string stays empty.
func (b *Box) Seal(plaintext, context string) string {
	if plaintext == "" {
		return ""
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secrets: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return prefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open returns the plaintext of a value Seal returned with the same context. A value that is
// not sealed (written before sealing existed) is returned as it is.
func (b *Box) Open(value, context string) (string, error) {
	raw, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return value, nil
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", ErrWrongKey
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], []byte(context))
	if err != nil {
		return "", ErrWrongKey
	}
	return string(plain), nil
}

// Sealed says whether value is sealed (or empty: nothing to seal).
func Sealed(value string) bool {
	return value == "" || strings.HasPrefix(value, prefix)
}

// LoadKey reads a key file: KeySize bytes, base64 (standard, with or without padding) on one
// line. The file must not be readable by others.
func LoadKey(path string) (*Box, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secrets: key file %s is readable by others (mode %v); chmod 600 it", path, info.Mode().Perm())
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: key file: %w", err)
	}
	s := strings.TrimRight(strings.TrimSpace(string(text)), "=")
	key, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("secrets: key file %s does not hold %d bytes in base64 (make one with: head -c %d /dev/urandom | base64)", path, KeySize, KeySize)
	}
	return New(key)
}

// LoadOrCreateKey reads the key file at path, or creates it with a new random key (mode 0600)
// when there is none.
func LoadOrCreateKey(path string) (*Box, error) {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return LoadKey(path)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		return LoadKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: create key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("secrets: write key file: %w", err)
	}
	return New(key)
}
