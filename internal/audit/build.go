package audit

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/conveyor/conveyor/internal/identity"
)

// Call is what a record is built from: one API call, as the protocol layer
// saw it. It does not depend on package awsapi so that other front doors (an
// S3 gateway, an import of AWS log files) can record calls too.
type Call struct {
	// Service is the service's short name: "events", "sqs", "cloudtrail", "s3".
	Service   string
	Operation string

	AccessKeyID string
	// Identity is the principal the key stands for, when the server knows it
	// (see package identity); nil otherwise.
	Identity *identity.Principal `json:",omitempty"`
	// Account is the account the call acted in (recipientAccountId);
	// default: Config.AccountID.
	Account   string `json:",omitempty"`
	Region    string // the region the call was made to; default: Config.Region
	SourceIP  string
	UserAgent string
	RequestID string
	// EventID is the record's eventID; when empty, Build makes a random one.
	EventID string

	// Request is the request body as the client sent it (the service's JSON,
	// PascalCase members); it is converted to CloudTrail's form.
	Request []byte
	// Parameters, when set, is requestParameters already in CloudTrail's
	// form, used as is instead of Request.
	Parameters json.RawMessage `json:",omitempty"`
	// Resources, when set, lists the resources the call touched, used as is
	// instead of those derived from Request (an S3 gateway names buckets
	// and objects from the URL).
	Resources []Resource
	// Response is the successful call's output as the service's JSON.
	Response []byte
	// Output is the successful call's output value; the Recorder marshals it
	// into Response when Response is nil.
	Output any
	// ErrorCode and ErrorMessage are set when the call failed.
	ErrorCode    string
	ErrorMessage string
	// AdditionalEventData, when set, is the record's additionalEventData.
	AdditionalEventData json.RawMessage `json:",omitempty"`

	// Time is when the call was received.
	Time time.Time

	// conv is what the call's intent derived from Request (see
	// intentNote), taken as it is; nil to derive it.
	conv *conversion
	// intent is the record its intent stored, from which its own record is
	// made (see recordParts); nil to build it.
	intent *recordParts
}

// conversion is what a record takes from its call's request alone: its
// requestParameters (within the record's bounds) and the request members
// its resources are named from. A journaled call's intent derives it, and
// the call's record takes it as it is.
type conversion struct {
	params  json.RawMessage
	in      members
	reqJSON bool // the request was found to be JSON
}

// parameters is the requestParameters of c: none without a conversion.
func (c *conversion) parameters() json.RawMessage {
	if c == nil {
		return nil
	}
	return c.params
}

// Config holds the settings records are built with.
type Config struct {
	// AccountID is the account every call is made to (recipientAccountId).
	AccountID string
	// Region is the default awsRegion.
	Region string
	// DataEvents switches on the recording of data events (PutEvents, SQS
	// message calls, S3 object calls). Off by default, as on AWS.
	DataEvents bool
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if !accountID.MatchString(c.AccountID) {
		return fmt.Errorf("audit: account %q is not 12 digits", c.AccountID)
	}
	if c.Region == "" {
		return fmt.Errorf("audit: no region")
	}
	return nil
}

// eventIDSpace is the UUID namespace of the event IDs derived from request
// IDs.
var eventIDSpace = uuid.MustParse("2f0c5b8e-7a43-4f6e-9a0d-3c1e6b2d9f47")

// EventIDOf returns the eventID of the record of the call with requestID: a
// UUID derived from it (version 5), so that every record of one call, the
// one stored after it answered and one recovered from its intent (see
// Journal), has the same eventID and is stored once. "" for "".
func EventIDOf(requestID string) string {
	if requestID == "" {
		return ""
	}
	// uuid.NewSHA1, without its hash's and sum's allocations: this is on
	// every recorded call's path.
	var buf [len(eventIDSpace) + 64]byte
	sum := sha1.Sum(append(append(buf[:0], eventIDSpace[:]...), requestID...))
	var id uuid.UUID
	copy(id[:], sum[:])
	id[6] = id[6]&0x0f | 0x50 // version 5
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id.String()
}

// Builder builds records from calls.
type Builder struct {
	cfg Config
	// newID makes event IDs; tests replace it.
	newID func() string
	// writers convert requests and responses (see paramWriter).
	writers paramWriters
}

// NewBuilder returns a Builder for cfg.
func NewBuilder(cfg Config) (*Builder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Builder{cfg: cfg, newID: func() string { return uuid.NewString() }}, nil
}

// Build returns the record of a call; ok is false when the call is not
// recorded (a data event while data-event logging is off).
func (b *Builder) Build(c Call) (*Record, bool) {
	rec := new(Record)
	if _, ok := b.build(rec, c); !ok {
		return nil, false
	}
	return rec, true
}

// build is Build into rec (which the recorder keeps on its stack); it
// returns the request's conversion too.
func (b *Builder) build(rec *Record, c Call) (*conversion, bool) {
	source := EventSource(c.Service)
	// A call refused for its credentials is a management event whatever it
	// asked for: who tried to get in matters more than what they sent.
	authFailed := IsAuthenticationFailure(c.ErrorCode)
	data := IsDataEvent(source, c.Operation) && !authFailed
	if data && !b.cfg.DataEvents {
		return nil, false
	}
	readOnly := IsReadOnly(source, c.Operation)
	region, account := b.where(c)
	t := c.Time
	if t.IsZero() {
		t = time.Now()
	}
	*rec = Record{
		EventVersion: EventVersion,
		UserIdentity: userIdentity(c, account),
		// TimeFormat is RFC 3339 in UTC without fractions, which Format
		// writes without parsing a layout.
		EventTime:           t.UTC().Format(time.RFC3339),
		EventSource:         source,
		EventName:           EventName(c.Service, c.Operation),
		AWSRegion:           region,
		SourceIPAddress:     c.SourceIP,
		UserAgent:           c.UserAgent,
		ErrorCode:           c.ErrorCode,
		ErrorMessage:        c.ErrorMessage,
		AdditionalEventData: c.AdditionalEventData,
		RequestID:           c.RequestID,
		EventID:             c.EventID,
		ReadOnly:            readOnly,
		EventType:           EventTypeAPICall,
		ManagementEvent:     !data,
		RecipientAccountID:  account,
		EventCategory:       CategoryManagement,
	}
	if rec.EventID == "" {
		rec.EventID = b.newID()
	}
	if data {
		rec.EventCategory = CategoryData
	}
	// The response's members that name resources: read as it is
	// converted, else on their own.
	var out members
	if c.ErrorCode == "" {
		respJSON := false
		if !readOnly {
			// An output that is not JSON is recorded as none.
			capture := memberCapture{m: &out}
			rec.ResponseElements, respJSON, _ = b.writers.recordJSON(c.Response, data, &capture)
		}
		if !respJSON {
			out = responseMembers(c.Response, false)
		}
	}
	var conv *conversion
	rec.Resources, conv = b.requestPart(c, source, region, account, data, authFailed, &out)
	rec.RequestParameters = conv.parameters()
	// Both converted here (or by the call's intent), unless the caller
	// gave the parameters.
	rec.converted = c.Parameters == nil
	// What Build converted is JSON; what the caller gave is checked once.
	rec.rawJSON = (c.Parameters == nil || c.conv != nil || json.Valid(c.Parameters)) &&
		(c.AdditionalEventData == nil || json.Valid(c.AdditionalEventData))
	rec.bound()
	return conv, true
}

// where is the region and account a call's record names: the call's, or
// the configured ones.
func (b *Builder) where(c Call) (region, account string) {
	region, account = c.Region, c.Account
	if region == "" {
		region = b.cfg.Region
	}
	if account == "" {
		account = b.cfg.AccountID
	}
	return region, account
}

// requestPart is what a call's record says of its request: the resources
// it names, and its conversion (requestParameters among it), within the
// record's bounds (see Record.bound); no conversion for a call whose
// parameters are not kept. Build and the intent journal share it. out
// holds the members of the response that name resources.
func (b *Builder) requestPart(c Call, source, region, account string, data, authFailed bool, out *members) ([]Resource, *conversion) {
	if authFailed {
		// Nobody known sent it: neither its parameters nor the resources
		// it names are kept.
		return nil, nil
	}
	conv := c.conv
	if conv == nil {
		conv = &conversion{}
		captured := false
		if c.Parameters != nil {
			conv.params = c.Parameters
		} else {
			// A request that is not JSON was refused by the protocol layer;
			// its record still says who tried what, with no parameters.
			// Its members that name resources are read as it is
			// converted.
			capture := memberCapture{m: &conv.in, exact: true}
			conv.params, conv.reqJSON, _ = b.writers.recordJSON(c.Request, data, &capture)
			captured = conv.reqJSON && !capture.entries
		}
		if len(conv.params) > MaxElementsSize {
			conv.params = Omitted
		}
		if !captured {
			conv.in = members{}
			if c.Resources == nil {
				conv.in = requestMembers(c.Request, conv.reqJSON)
			}
		}
	}
	var resources []Resource
	if c.Resources != nil {
		resources = slices.Clone(c.Resources) // bound may cut them
	} else {
		resources = resourcesOf(serviceOf(source), c.Operation, region, account, &conv.in, out)
	}
	if len(resources) > MaxResources {
		resources = resources[:MaxResources]
	}
	for i := range resources {
		resources[i].Type, resources[i].ARN = cut(resources[i].Type), cut(resources[i].ARN)
	}
	return resources, conv
}
