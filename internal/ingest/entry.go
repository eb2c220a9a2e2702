package ingest

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/event"
)

// Limits of PutEvents.
const (
	// MaxEntries is the number of entries one PutEvents call may carry.
	MaxEntries = 10
	// MaxRequestSize is the largest total entry size (see Entry.Size) of one PutEvents call:
	// 256 KB.
	MaxRequestSize = 256 * 1024
	// TimeEntrySize is what a set Time counts for in an entry's size.
	TimeEntrySize = 14
)

// Per-entry error codes of PutEvents (PutEventsResultEntry.ErrorCode).
const (
	CodeInvalidArgument        = "InvalidArgument"
	CodeMalformedDetail        = "MalformedDetail"
	CodeNotAuthorizedForSource = "NotAuthorizedForSourceException"
	CodeResourceNotFound       = "ResourceNotFoundException"
)

// Entry is one PutEvents request entry (PutEventsRequestEntry on the wire).
type Entry struct {
	Source       string            `json:"Source,omitempty"`
	DetailType   string            `json:"DetailType,omitempty"`
	Detail       string            `json:"Detail,omitempty"`
	Resources    []string          `json:"Resources,omitempty"`
	Time         *awsapi.Timestamp `json:"Time,omitempty"`
	EventBusName string            `json:"EventBusName,omitempty"`
	TraceHeader  string            `json:"TraceHeader,omitempty"`
}

// EntryError is a failed entry's ErrorCode and ErrorMessage as PutEvents reports them in its
// result entries (the call itself succeeds).
type EntryError struct {
	Code    string
	Message string
}

// Error implements error.
func (e *EntryError) Error() string { return e.Code + ": " + e.Message }

var (
	errNoSource     = &EntryError{CodeInvalidArgument, "Parameter Source is not valid. Reason: Source is a required argument."}
	errNoDetailType = &EntryError{CodeInvalidArgument, "Parameter DetailType is not valid. Reason: DetailType is a required argument."}
	errNoDetail     = &EntryError{CodeInvalidArgument, "Parameter Detail is not valid. Reason: Detail is a required argument."}
	errMalformed    = &EntryError{CodeMalformedDetail, "Detail is malformed."}
	errAWSSource    = &EntryError{CodeNotAuthorizedForSource, "Not authorized for the source."}
)

// Validate checks the entry as EventBridge does before accepting it, in AWS's order: Source,
// DetailType and Detail present; Detail a JSON object nested at most event.MaxDetailDepth deep;
// Source not in the reserved "aws." namespace unless trusted (Conveyor's own CloudTrail events
// are). It returns nil for a good entry. The bus is the caller's to check.
func (e *Entry) Validate(trusted bool) *EntryError {
	switch {
	case e.Source == "":
		return errNoSource
	case e.DetailType == "":
		return errNoDetailType
	case e.Detail == "":
		return errNoDetail
	case !event.ValidDetail(e.Detail):
		return errMalformed
	case !trusted && strings.HasPrefix(e.Source, "aws."):
		return errAWSSource
	}
	return nil
}

// Size is the entry's size by AWS's rule: 14 bytes for Time when it is set, plus the UTF-8
// bytes of Source, DetailType, Detail and each Resource.
func (e *Entry) Size() int {
	n := len(e.Source) + len(e.DetailType) + len(e.Detail)
	if e.Time != nil {
		n += TimeEntrySize
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// RequestSize is the total of Size over entries.
func RequestSize(entries []Entry) int {
	n := 0
	for i := range entries {
		n += entries[i].Size()
	}
	return n
}

// ErrRequestTooLarge is the ValidationException for entries whose total size exceeds
// MaxRequestSize.
func ErrRequestTooLarge() *awsapi.Error {
	return awsapi.ValidationError("Total size of the entries in the request is over the limit.")
}

var (
	busNameRe     = regexp.MustCompile(`^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+$`)
	busNameReText = `(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+`
	endpointRe    = regexp.MustCompile(`^[A-Za-z0-9\-]+[\.][A-Za-z0-9\-]+$`)
	endpointText  = `^[A-Za-z0-9\-]+[\.][A-Za-z0-9\-]+$`
)

// ValidateRequest checks a PutEvents request against the API model's constraints (1 to 10
// entries; per entry EventBusName 1–1600 characters matching AWS's pattern, TraceHeader 1–500;
// EndpointId if set) and the 256 KB size limit. Such failures reject the whole call with a
// ValidationException, unlike Entry.Validate's per-entry errors. endpointID nil or "" means
// no endpoint (an empty EndpointId is treated as absent, not as a too-short id).
func ValidateRequest(entries []Entry, endpointID *string) error {
	v := awsapi.NewValidator()
	if entries == nil {
		v.Required("entries", false)
	} else if len(entries) < 1 || len(entries) > MaxEntries {
		v.Count("entries", len(entries), renderEntries(entries), 1, MaxEntries)
	}
	if endpointID != nil && *endpointID != "" {
		v.Length("endpointId", *endpointID, 1, 50)
		v.Pattern("endpointId", *endpointID, endpointRe, endpointText)
	}
	for i := range entries {
		e := &entries[i]
		field := "entries." + strconv.Itoa(i+1) + ".member."
		if e.EventBusName != "" {
			v.Length(field+"eventBusName", e.EventBusName, 1, 1600)
			v.Pattern(field+"eventBusName", e.EventBusName, busNameRe, busNameReText)
		}
		if e.TraceHeader != "" {
			v.Length(field+"traceHeader", e.TraceHeader, 1, 500)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if RequestSize(entries) > MaxRequestSize {
		return ErrRequestTooLarge()
	}
	return nil
}

// renderEntries prints the entry list the way AWS prints it in validation messages: its
// internal model's fields, lower-case, without Resources and Detail, with the KMS key and
// internal metadata no caller sets.
func renderEntries(entries []Entry) string {
	items := make([]string, len(entries))
	for i := range entries {
		e := &entries[i]
		var t string
		if e.Time != nil {
			t = e.Time.UTC().Format("Mon Jan 02 15:04:05 UTC 2006") // as Java prints a Date
		}
		items[i] = "PutEventsRequestEntry(time=" + orNull(t) + ", source=" + orNull(e.Source) +
			", detailType=" + orNull(e.DetailType) + ", eventBusName=" + orNull(e.EventBusName) +
			", traceHeader=" + orNull(e.TraceHeader) + ", kmsKeyIdentifier=null, internalMetadata=null)"
	}
	return awsapi.RenderList(items)
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// Envelope returns the event an accepted entry becomes: Time defaults to now, Resources to [],
// Detail is copied verbatim.
func (e *Entry) Envelope(id, account, region string, now time.Time) *event.Event {
	t := now
	if e.Time != nil && !e.Time.IsZero() {
		t = e.Time.Time
	}
	res := e.Resources
	if res == nil {
		res = []string{}
	}
	return &event.Event{Version: event.Version, ID: id, DetailType: e.DetailType, Source: e.Source, Account: account,
		Time: t, Region: region, Resources: res, Detail: json.RawMessage(e.Detail)}
}
