package audit

import (
	"regexp"
	"strings"

	"github.com/conveyor/conveyor/internal/identity"
)

// IdentityUnknown is the userIdentity type of a call that carried no access
// key, or one that failed authentication.
const IdentityUnknown = "Unknown"

// authenticationFailures are the error codes of calls refused for their
// credentials (see awsapi.SigV4Verifier).
var authenticationFailures = set("MissingAuthenticationTokenException", "UnrecognizedClientException",
	"InvalidSignatureException", "IncompleteSignatureException", "SignatureDoesNotMatch",
	"InvalidAccessKeyId", "MissingSecurityHeader", "InvalidClientTokenId", "MissingAuthenticationToken")

// IsAuthenticationFailure says whether errorCode refuses a call for its
// credentials: its caller is not known, whatever key it named.
func IsAuthenticationFailure(errorCode string) bool {
	return errorCode != "" && authenticationFailures[errorCode]
}

var accountID = regexp.MustCompile(`^\d{12}$`)

// userIdentity derives the record's userIdentity from the call.
//
// A principal the server knows (package identity) is shown as it is. A call
// refused for its credentials is Unknown, with the key it claimed. Any other
// key is an IAM user whose name and principal ID are the key itself:
// Conveyor without a key file accepts any key, as local AWS emulators do;
// calling every such caller Root would merge them all into one identity,
// while naming the user after the key keeps "who did what" answerable
// (Username lookups tell callers apart) without claiming a user name nobody
// configured.
func userIdentity(c Call, account string) UserIdentity {
	switch {
	case IsAuthenticationFailure(c.ErrorCode) || c.AccessKeyID == "":
		return UserIdentity{Type: IdentityUnknown, AccountID: account, AccessKeyID: c.AccessKeyID}
	case c.Identity != nil:
		p := c.Identity
		id := UserIdentity{Type: p.Type, PrincipalID: p.PrincipalID, ARN: p.ARN, AccountID: p.AccountID,
			AccessKeyID: c.AccessKeyID, UserName: p.UserName}
		if p.Type == identity.TypeAssumedRole {
			id.SessionContext = &SessionContext{SessionIssuer: SessionIssuer{Type: "Role", PrincipalID: p.RoleID,
				ARN: "arn:aws:iam::" + p.AccountID + ":role/" + p.RoleName, AccountID: p.AccountID, UserName: p.RoleName}}
		}
		return id
	default:
		return UserIdentity{Type: identity.TypeIAMUser, PrincipalID: c.AccessKeyID,
			ARN: "arn:aws:iam::" + account + ":user/" + c.AccessKeyID, AccountID: account,
			AccessKeyID: c.AccessKeyID, UserName: c.AccessKeyID}
	}
}

// sessionName is the role session an AssumedRole's principal ID ends in
// ("AROA…:session").
func sessionName(principalID string) string {
	_, s, _ := strings.Cut(principalID, ":")
	return s
}
