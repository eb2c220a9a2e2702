package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
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
}

// UserIdentity says who made the call.
type UserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// Resource is a resource the call names.
type Resource struct {
	Type string `json:"type"`
	ARN  string `json:"ARN"`
}

// Marshal returns the record as JSON, without HTML escaping (AWS writes '<'
// and '&' as they are).
func (r *Record) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("audit: marshal record %s: %w", r.EventID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
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
	case id.Type == IdentityRoot:
		return "root"
	default:
		return id.PrincipalID
	}
}

// Service is the service part of eventSource: "events" for
// events.amazonaws.com.
func (r *Record) Service() string {
	return serviceOf(r.EventSource)
}
