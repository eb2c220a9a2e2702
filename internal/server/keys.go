package server

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/identity"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/secrets"
)

// openKeys reads the key file the configuration names (if any) and returns
// the authenticator of the APIs: SigV4 verification with AuthFile, a key
// directory that believes signatures with IdentitiesFile, none otherwise.
func openKeys(cfg Config) (*identity.File, awsapi.Authenticator, error) {
	switch {
	case cfg.AuthFile != "":
		f, err := identity.Open(cfg.AuthFile, cfg.Account, true)
		if err != nil {
			return nil, nil, fmt.Errorf("--auth: %w", err)
		}
		return f, &awsapi.SigV4Verifier{Keys: func(id string) *identity.Key { return f.Current().Lookup(id) }}, nil
	case cfg.IdentitiesFile != "":
		f, err := identity.Open(cfg.IdentitiesFile, cfg.Account, false)
		if err != nil {
			return nil, nil, fmt.Errorf("--identities: %w", err)
		}
		return f, awsapi.KeyDirectory{Keys: func(id string) *identity.Key { return f.Current().Lookup(id) }}, nil
	}
	return nil, nil, nil
}

// ReloadKeys reads the key file again (on SIGHUP): calls signed with a key
// it no longer lists are refused from now on, and new keys are accepted. If
// the file cannot be read or is not valid, the keys in use stay and the
// error says why. Without a key file it does nothing.
func (s *Server) ReloadKeys() error {
	if s.keys == nil {
		return nil
	}
	if err := s.keys.Reload(); err != nil {
		s.log.Error("key file not reloaded; the keys in use stay", "path", s.keys.Path(), "err", err)
		return err
	}
	s.log.Info("key file reloaded", "path", s.keys.Path(), "keys", s.keys.Current().Len())
	return nil
}

// authMode names how calls are authenticated, for the start-up log.
func (s *Server) authMode() string {
	switch {
	case s.cfg.AuthFile != "":
		return "sigv4"
	case s.cfg.IdentitiesFile != "":
		return "none (key names from --identities)"
	}
	return "none"
}

// authenticateImport checks the signature of a CloudTrail import (signed for
// the service "cloudtrail"; the body is streamed, so its hash may be
// UNSIGNED-PAYLOAD) and returns the scope the import goes to: the verified
// caller's account and region. Without --auth every import from loopback is
// accepted, into Conveyor's account and region.
func (s *Server) authenticateImport(r *http.Request) (scope.Scope, *awsapi.Error) {
	def := scope.Scope{Account: s.cfg.Account, Region: s.cfg.Region}
	v, ok := s.authenticator.(*awsapi.SigV4Verifier)
	if !ok {
		return def, nil
	}
	c := awsapi.Caller{Account: def.Account, Region: def.Region}
	if sig, ok := awsapi.ParseSigV4(r.Header.Get("Authorization")); ok {
		c.Region = sig.Region
	}
	if err := v.AuthenticateStream(r, "cloudtrail", &c); err != nil {
		return scope.Scope{}, err
	}
	return c.ScopeOr(def), nil
}

// SecretsKeyName is the file in the data directory that holds the key
// sealing connection secrets when no other is configured.
const SecretsKeyName = "secrets.key"

// openSecretsKey reads (or, in the data directory, makes) the key that seals
// connection secrets.
func openSecretsKey(cfg Config) (*secrets.Box, error) {
	switch {
	case cfg.SecretsKeyFile != "":
		return secrets.LoadKey(cfg.SecretsKeyFile)
	case cfg.NATSURL != "":
		return nil, errors.New("--nats needs --secrets-key: every Conveyor sharing the NATS server seals connection secrets with the same key " +
			"(make one with: head -c 32 /dev/urandom | base64 > secrets.key; chmod 600 secrets.key)")
	}
	return secrets.LoadOrCreateKey(filepath.Join(cfg.DataDir, SecretsKeyName))
}
