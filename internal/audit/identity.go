package audit

import (
	"fmt"
	"regexp"
)

// Identity types a configured identity can have.
const (
	IdentityIAMUser = "IAMUser"
	IdentityRoot    = "Root"
	// IdentityUnknown is used for a call that carried no access key.
	IdentityUnknown = "Unknown"
)

// Identity is what the configuration says about one access key.
type Identity struct {
	// Type is IAMUser (the default) or Root.
	Type string `json:"type,omitempty"`
	// UserName is the IAM user's name (IAMUser only).
	UserName string `json:"userName,omitempty"`
	// PrincipalID is the user's unique ID (AIDA…); default: the access key.
	PrincipalID string `json:"principalId,omitempty"`
	// AccountID defaults to the server's account.
	AccountID string `json:"accountId,omitempty"`
}

var iamUserName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// Validate says whether the identity can be used for key.
func (id Identity) Validate(key string) error {
	switch id.Type {
	case "", IdentityIAMUser:
		if id.UserName != "" && !iamUserName.MatchString(id.UserName) {
			return fmt.Errorf("audit: identity for %s: user name %q is not a valid IAM user name", key, id.UserName)
		}
	case IdentityRoot:
		if id.UserName != "" {
			return fmt.Errorf("audit: identity for %s: a Root identity has no user name", key)
		}
	default:
		return fmt.Errorf("audit: identity for %s: type %q is not IAMUser or Root", key, id.Type)
	}
	if id.AccountID != "" && !accountID.MatchString(id.AccountID) {
		return fmt.Errorf("audit: identity for %s: account %q is not 12 digits", key, id.AccountID)
	}
	return nil
}

var accountID = regexp.MustCompile(`^\d{12}$`)

// userIdentity derives the record's userIdentity from the access key that
// signed the call.
//
// A key that the configuration does not name is an IAM user whose name and
// principal ID are the key itself (or, for the name, the principal an
// authenticator found for the key). Conveyor accepts any key by default, as
// local AWS emulators do; calling every such caller Root would merge them all
// into one identity, while naming the user after the key keeps "who did what"
// answerable (Username lookups tell callers apart) without claiming a user
// name nobody configured.
func (b *Builder) userIdentity(key, principal string) UserIdentity {
	if key == "" {
		return UserIdentity{Type: IdentityUnknown, AccountID: b.cfg.AccountID}
	}
	id, ok := b.cfg.Identities[key]
	if !ok {
		id = Identity{Type: IdentityIAMUser, UserName: key}
		if principal != "" && iamUserName.MatchString(principal) {
			id.UserName = principal
		}
	}
	acct := id.AccountID
	if acct == "" {
		acct = b.cfg.AccountID
	}
	if id.Type == IdentityRoot {
		return UserIdentity{
			Type:        IdentityRoot,
			PrincipalID: acct,
			ARN:         "arn:aws:iam::" + acct + ":root",
			AccountID:   acct,
			AccessKeyID: key,
		}
	}
	name := id.UserName
	if name == "" {
		name = key
	}
	principalID := id.PrincipalID
	if principalID == "" {
		principalID = key
	}
	return UserIdentity{
		Type:        IdentityIAMUser,
		PrincipalID: principalID,
		ARN:         "arn:aws:iam::" + acct + ":user/" + name,
		AccountID:   acct,
		AccessKeyID: key,
		UserName:    name,
	}
}
