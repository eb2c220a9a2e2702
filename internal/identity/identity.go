package identity

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
)

// Principal types, as CloudTrail's userIdentity.type names them.
const (
	TypeIAMUser     = "IAMUser"
	TypeAssumedRole = "AssumedRole"
	TypeRoot        = "Root"
)

// Principal is who an access key stands for: CloudTrail's userIdentity without the key.
type Principal struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	// UserName is the IAM user's name (IAMUser only).
	UserName string `json:"userName,omitempty"`
	// RoleName and SessionName name the assumed role and its session (AssumedRole only);
	// RoleID is the role's unique id (AROA…).
	RoleName    string `json:"roleName,omitempty"`
	RoleID      string `json:"roleId,omitempty"`
	SessionName string `json:"sessionName,omitempty"`
}

// Key is one access key of the file.
type Key struct {
	AccessKeyID string
	Secret      string
	// SessionToken, when set, must come with every request signed with the key
	// (X-Amz-Security-Token), as with AWS's temporary credentials.
	SessionToken string
	Principal    Principal
}

// Set is the keys of one version of the file. It is immutable.
type Set struct {
	keys map[string]*Key
}

// Lookup returns the key with id, or nil.
func (s *Set) Lookup(id string) *Key {
	if s == nil {
		return nil
	}
	return s.keys[id]
}

// Len is the number of keys.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// file is the documented format:
//
//	{"accessKeys": [
//	  {"accessKeyId": "AKIAALICE", "secretAccessKey": "…", "accountId": "111111111111", "userName": "alice"},
//	  {"accessKeyId": "AKIAROOT", "secretAccessKey": "…", "accountId": "111111111111", "type": "Root"},
//	  {"accessKeyId": "ASIACI", "secretAccessKey": "…", "sessionToken": "…", "accountId": "222222222222",
//	   "type": "AssumedRole", "roleName": "deployer", "sessionName": "ci"}
//	]}
type file struct {
	AccessKeys []entry `json:"accessKeys"`
}

type entry struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
	AccountID       string `json:"accountId"`
	Type            string `json:"type"`
	UserName        string `json:"userName"`
	RoleName        string `json:"roleName"`
	SessionName     string `json:"sessionName"`
	PrincipalID     string `json:"principalId"`
}

var (
	accessKeyID = regexp.MustCompile(`^\w{1,128}$`)
	accountID   = regexp.MustCompile(`^\d{12}$`)
	// IAM user and role names, and role session names.
	iamName     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// Parse reads a key file. Without requireSecrets, entries may omit their secret (a
// key-to-account map for a server that does not verify signatures). defaultAccount is the
// account of entries that name none.
func Parse(data []byte, defaultAccount string, requireSecrets bool) (*Set, error) {
	var f file
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if dec.More() {
		return nil, errors.New("identity: data after the JSON object")
	}
	s := &Set{keys: make(map[string]*Key, len(f.AccessKeys))}
	for i, e := range f.AccessKeys {
		k, err := e.key(defaultAccount, requireSecrets)
		if err != nil {
			return nil, fmt.Errorf("identity: accessKeys[%d]: %w", i, err)
		}
		if _, dup := s.keys[k.AccessKeyID]; dup {
			return nil, fmt.Errorf("identity: accessKeys[%d]: access key %s is listed twice", i, k.AccessKeyID)
		}
		s.keys[k.AccessKeyID] = k
	}
	return s, nil
}

func (e entry) key(defaultAccount string, requireSecrets bool) (*Key, error) {
	if !accessKeyID.MatchString(e.AccessKeyID) {
		return nil, fmt.Errorf("accessKeyId %q is not 1 to 128 letters, digits and underscores", e.AccessKeyID)
	}
	if requireSecrets && e.SecretAccessKey == "" {
		return nil, fmt.Errorf("access key %s has no secretAccessKey", e.AccessKeyID)
	}
	acct := e.AccountID
	if acct == "" {
		acct = defaultAccount
	}
	if !accountID.MatchString(acct) {
		return nil, fmt.Errorf("access key %s: accountId %q is not 12 digits", e.AccessKeyID, acct)
	}
	k := &Key{AccessKeyID: e.AccessKeyID, Secret: e.SecretAccessKey, SessionToken: e.SessionToken}
	p := Principal{Type: e.Type, AccountID: acct, PrincipalID: e.PrincipalID}
	switch e.Type {
	case "", TypeIAMUser:
		p.Type = TypeIAMUser
		if !iamName.MatchString(e.UserName) {
			return nil, fmt.Errorf("access key %s: userName %q is not a valid IAM user name", e.AccessKeyID, e.UserName)
		}
		if e.RoleName != "" || e.SessionName != "" {
			return nil, fmt.Errorf("access key %s: an IAMUser has no roleName or sessionName", e.AccessKeyID)
		}
		p.UserName = e.UserName
		p.ARN = "arn:aws:iam::" + acct + ":user/" + e.UserName
		if p.PrincipalID == "" {
			p.PrincipalID = uniqueID("AIDA", p.ARN)
		}
	case TypeAssumedRole:
		if !iamName.MatchString(e.RoleName) {
			return nil, fmt.Errorf("access key %s: roleName %q is not a valid IAM role name", e.AccessKeyID, e.RoleName)
		}
		if !sessionName.MatchString(e.SessionName) {
			return nil, fmt.Errorf("access key %s: sessionName %q is not a valid role session name", e.AccessKeyID, e.SessionName)
		}
		if e.UserName != "" {
			return nil, fmt.Errorf("access key %s: an AssumedRole has no userName", e.AccessKeyID)
		}
		p.RoleName, p.SessionName = e.RoleName, e.SessionName
		p.RoleID = uniqueID("AROA", "arn:aws:iam::"+acct+":role/"+e.RoleName)
		p.ARN = "arn:aws:sts::" + acct + ":assumed-role/" + e.RoleName + "/" + e.SessionName
		if p.PrincipalID == "" {
			p.PrincipalID = p.RoleID + ":" + e.SessionName
		}
	case TypeRoot:
		if e.UserName != "" || e.RoleName != "" || e.SessionName != "" {
			return nil, fmt.Errorf("access key %s: a Root key has no userName, roleName or sessionName", e.AccessKeyID)
		}
		p.ARN = "arn:aws:iam::" + acct + ":root"
		if p.PrincipalID == "" {
			p.PrincipalID = acct
		}
	default:
		return nil, fmt.Errorf("access key %s: type %q is not IAMUser, AssumedRole or Root", e.AccessKeyID, e.Type)
	}
	k.Principal = p
	return k, nil
}

// uniqueID is a stable IAM-style unique id (prefix and 17 characters) for arn: the same name
// in the same account always has the same id, across reloads and restarts.
func uniqueID(prefix, arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return prefix + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

// File is a key file that can be reloaded: Current is always a whole version of it.
type File struct {
	path           string
	defaultAccount string
	requireSecrets bool
	cur            atomic.Pointer[Set]
}

// Open reads the key file at path (see Parse).
func Open(path, defaultAccount string, requireSecrets bool) (*File, error) {
	f := &File{path: path, defaultAccount: defaultAccount, requireSecrets: requireSecrets}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Reload reads the file again. On error the keys in use stay as they were.
func (f *File) Reload() error {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	s, err := Parse(data, f.defaultAccount, f.requireSecrets)
	if err != nil {
		return fmt.Errorf("%w (in %s)", err, f.path)
	}
	f.cur.Store(s)
	return nil
}

// Current returns the keys of the last successful read.
func (f *File) Current() *Set { return f.cur.Load() }

// Path is the file's path.
func (f *File) Path() string { return f.path }
