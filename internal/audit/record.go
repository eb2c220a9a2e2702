package audit

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/conveyor/conveyor/internal/identity"
	"github.com/conveyor/conveyor/internal/scope"
)

// Values of fixed record fields, as AWS writes them.
const (
	EventVersion       = "1.11"
	EventTypeAPICall   = "AwsApiCall"
	CategoryManagement = "Management"
	CategoryData       = "Data"
	// Hidden replaces a secret or a data-event payload in requestParameters.
	Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"
	// TimeFormat is the layout of eventTime: ISO-8601, UTC, whole seconds.
	TimeFormat = "2006-01-02T15:04:05Z"
)

// Size bounds of a record. CloudTrail truncates a field whose contents exceed its maximum
// size and marks it with omitted: true; a requestParameters or responseElements over 100 KB
// is replaced by {"omitted":true}. Conveyor does the same and also cuts long strings (a
// header-borne user agent or access key, an error message quoting its input) and lists of
// resources, so that a record stays well inside the audit log's message size (and, on the
// bus, about EventBridge's 256 KB) whatever the request held.
const (
	// MaxElementsSize bounds requestParameters and responseElements, as JSON.
	MaxElementsSize = 100 << 10
	// MaxStringField bounds every string field of a record, in bytes; a longer one is cut
	// and ends in "...".
	MaxStringField = 1 << 10
	// MaxResources bounds the resources a record lists.
	MaxResources = 10
)

// Omitted replaces an element over MaxElementsSize.
var Omitted = json.RawMessage(`{"omitted":true}`)

// Record is one CloudTrail record, with AWS's field names and order.
type Record struct {
	EventVersion      string          `json:"eventVersion"`
	UserIdentity      UserIdentity    `json:"userIdentity"`
	EventTime         string          `json:"eventTime"`
	EventSource       string          `json:"eventSource"`
	EventName         string          `json:"eventName"`
	AWSRegion         string          `json:"awsRegion"`
	SourceIPAddress   string          `json:"sourceIPAddress"`
	UserAgent         string          `json:"userAgent"`
	ErrorCode         string          `json:"errorCode,omitempty"`
	ErrorMessage      string          `json:"errorMessage,omitempty"`
	RequestParameters json.RawMessage `json:"requestParameters"`
	ResponseElements  json.RawMessage `json:"responseElements"`
	// AdditionalEventData is data the service adds; Conveyor adds it to a
	// record recovered from an intent (see Journal).
	AdditionalEventData json.RawMessage `json:"additionalEventData,omitempty"`
	RequestID           string          `json:"requestID"`
	EventID             string          `json:"eventID"`
	ReadOnly            bool            `json:"readOnly"`
	Resources           []Resource      `json:"resources,omitempty"`
	EventType           string          `json:"eventType"`
	ManagementEvent     bool            `json:"managementEvent"`
	RecipientAccountID  string          `json:"recipientAccountId"`
	EventCategory       string          `json:"eventCategory"`

	// rawJSON says RequestParameters, ResponseElements and
	// AdditionalEventData are known to be JSON (Build made or checked
	// them): Marshal does not check them again.
	rawJSON bool
	// converted says RequestParameters and ResponseElements are the
	// converter's output (Build's), compact already: appendJSON copies
	// them without compacting them again.
	converted bool
}

// UserIdentity says who made the call.
type UserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
	// SessionContext says which role an AssumedRole's session is of.
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext is userIdentity.sessionContext of an assumed role.
type SessionContext struct {
	SessionIssuer SessionIssuer `json:"sessionIssuer"`
}

// SessionIssuer is the role a session was assumed from.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// Resource is a resource the call names.
type Resource struct {
	Type string `json:"type"`
	ARN  string `json:"ARN"`
}

// Marshal returns the record as JSON, as encoding/json writes it without
// HTML escaping (AWS writes '<' and '&' as they are), by hand (see
// AppendJSON). Its JSON members must be valid JSON.
func (r *Record) Marshal() ([]byte, error) {
	for _, raw := range [...]json.RawMessage{r.RequestParameters, r.ResponseElements, r.AdditionalEventData} {
		if !r.rawJSON && len(raw) > 0 && !json.Valid(raw) {
			return nil, fmt.Errorf("audit: marshal record %s: a member is not JSON", r.EventID)
		}
	}
	return r.AppendJSON(make([]byte, 0, 1024)), nil
}

// ParseRecord decodes a record written by Marshal (or by AWS).
func ParseRecord(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("audit: parse record: %w", err)
	}
	return &r, nil
}

// Time returns eventTime as a time.Time; a record with an unreadable time
// reads as the zero time.
func (r *Record) Time() time.Time {
	t, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Username is the user name the event history shows for the record: the IAM
// user's name, "root" for the account's root user, else the principal ID.
func (r *Record) Username() string {
	id := r.UserIdentity
	switch {
	case id.UserName != "":
		return id.UserName
	case id.Type == identity.TypeRoot:
		return "root"
	case id.Type == identity.TypeAssumedRole:
		return sessionName(id.PrincipalID)
	default:
		return id.PrincipalID
	}
}

// Scope is the account and region the call was made in: its
// recipientAccountId and awsRegion.
func (r *Record) Scope() scope.Scope {
	return scope.Scope{Account: r.RecipientAccountID, Region: r.AWSRegion}
}

// Service is the service part of eventSource: "events" for
// events.amazonaws.com.
func (r *Record) Service() string {
	return serviceOf(r.EventSource)
}

// bound applies the size bounds (see MaxElementsSize).
func (r *Record) bound() {
	if len(r.RequestParameters) > MaxElementsSize {
		r.RequestParameters = Omitted
	}
	if len(r.ResponseElements) > MaxElementsSize {
		r.ResponseElements = Omitted
	}
	if len(r.Resources) > MaxResources {
		r.Resources = r.Resources[:MaxResources]
	}
	id := &r.UserIdentity
	for _, f := range []*string{&r.EventVersion, &r.EventTime, &r.EventSource, &r.EventName, &r.AWSRegion,
		&r.SourceIPAddress, &r.UserAgent, &r.ErrorCode, &r.ErrorMessage, &r.RequestID, &r.EventID,
		&r.EventType, &r.RecipientAccountID, &r.EventCategory,
		&id.Type, &id.PrincipalID, &id.ARN, &id.AccountID, &id.AccessKeyID, &id.UserName} {
		*f = cut(*f)
	}
	for i := range r.Resources {
		r.Resources[i].Type, r.Resources[i].ARN = cut(r.Resources[i].Type), cut(r.Resources[i].ARN)
	}
}

// cut shortens s to MaxStringField bytes (on a rune boundary), ending in "...".
func cut(s string) string {
	if len(s) <= MaxStringField {
		return s
	}
	n := MaxStringField - len("...")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
