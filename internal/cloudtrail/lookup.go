package cloudtrail

import (
	"github.com/conveyor/conveyor/internal/scope"

	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
)

// History is what LookupEvents reads: the audit index.
type History interface {
	Lookup(ctx context.Context, q audit.Query) (*audit.Page, error)
}

var _ History = (*audit.Index)(nil)

// Limits of LookupEvents, as AWS documents them.
const (
	DefaultMaxResults = 50
	MaxMaxResults     = 50
	maxValueLen       = 2000
)

// LookupEventsInput is the request of LookupEvents.
type LookupEventsInput struct {
	LookupAttributes []LookupAttribute
	StartTime        *awsapi.Timestamp
	EndTime          *awsapi.Timestamp
	EventCategory    *string
	MaxResults       *int64
	NextToken        *string
}

// LookupAttribute is one filter of LookupEvents.
type LookupAttribute struct {
	AttributeKey   *string
	AttributeValue *string
}

// LookupEventsOutput is the response of LookupEvents.
type LookupEventsOutput struct {
	Events    []Event `json:"Events"`
	NextToken string  `json:"NextToken,omitempty"`
}

// Event is one event of the history, as LookupEvents returns it.
type Event struct {
	EventId         string           //nolint:revive // AWS's member name
	EventName       string           `json:",omitempty"`
	ReadOnly        string           `json:",omitempty"`
	AccessKeyId     string           `json:",omitempty"` //nolint:revive // AWS's member name
	EventTime       awsapi.Timestamp `json:",omitzero"`
	EventSource     string           `json:",omitempty"`
	Username        string           `json:",omitempty"`
	Resources       []Resource       `json:"Resources"`
	CloudTrailEvent string
}

// Resource is a resource an event names.
type Resource struct {
	ResourceType string `json:",omitempty"`
	ResourceName string `json:",omitempty"`
}

// Register serves the CloudTrail API (both X-Amz-Target spellings: the AWS
// CLI's com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.* and the Go
// SDK's CloudTrail_20131101.*) on srv, answering from h.
func Register(srv *awsapi.Server, h History) error {
	svc := awsapi.NewCloudTrail()
	Handlers(svc, h)
	if err := srv.Register(svc); err != nil {
		return fmt.Errorf("cloudtrail: %w", err)
	}
	return nil
}

// Handlers registers the CloudTrail operations on svc (a service made by
// awsapi.NewCloudTrail).
func Handlers(svc *awsapi.Service, h History) {
	awsapi.Handle(svc, "LookupEvents", func(ctx context.Context, in *LookupEventsInput) (*LookupEventsOutput, error) {
		return LookupEvents(ctx, h, in)
	})
}

// LookupEvents answers one LookupEvents request.
func LookupEvents(ctx context.Context, h History, in *LookupEventsInput) (*LookupEventsOutput, error) {
	q, insight, err := query(in, time.Now())
	if err != nil {
		return nil, err
	}
	out := &LookupEventsOutput{Events: []Event{}}
	if insight {
		// Conveyor has no CloudTrail Insights: an account without Insights
		// events gets an empty list from AWS too.
		return out, nil
	}
	// An account's event history holds its calls in the region asked.
	if c := awsapi.CallerFrom(ctx); c.Account != "" && c.Region != "" {
		q.Scope = scope.Scope{Account: c.Account, Region: c.Region}.String()
	}
	page, err := h.Lookup(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: lookup: %w", err)
	}
	for _, r := range page.Results {
		out.Events = append(out.Events, eventOf(r))
	}
	if page.Next != nil {
		out.NextToken = encodeToken(*page.Next, paramsHash(in))
	}
	return out, nil
}

func eventOf(r audit.Result) Event {
	rec := r.Record
	e := Event{
		EventId:         rec.EventID,
		EventName:       rec.EventName,
		ReadOnly:        strconv.FormatBool(rec.ReadOnly),
		AccessKeyId:     rec.UserIdentity.AccessKeyID,
		EventTime:       awsapi.NewTimestamp(rec.Time()),
		EventSource:     rec.EventSource,
		Username:        rec.Username(),
		Resources:       []Resource{},
		CloudTrailEvent: string(r.JSON),
	}
	for _, res := range rec.Resources {
		e.Resources = append(e.Resources, Resource{ResourceType: res.Type, ResourceName: audit.ResourceName(res.ARN)})
	}
	return e
}

// query validates a request as AWS does and turns it into an index query.
// insight is set for EventCategory "insight". now is the end of a lookup
// without EndTime.
func query(in *LookupEventsInput, now time.Time) (q audit.Query, insight bool, err error) {
	if in.EventCategory != nil {
		if *in.EventCategory != "insight" {
			return q, false, awsapi.Errorf(awsapi.CodeInvalidEventCategoryException,
				"The event category %s is not valid. Valid values: insight.", *in.EventCategory)
		}
		insight = true
	}
	switch n := len(in.LookupAttributes); {
	case n > 1:
		return q, false, awsapi.Errorf(awsapi.CodeInvalidLookupAttributesException,
			"You can specify only one lookup attribute; %d were specified.", n)
	case n == 1:
		a := in.LookupAttributes[0]
		if a.AttributeKey == nil {
			return q, false, awsapi.Errorf(awsapi.CodeInvalidLookupAttributesException, "AttributeKey is required.")
		}
		key := audit.Attribute(*a.AttributeKey)
		if !slices.Contains(audit.Attributes, key) {
			return q, false, awsapi.Errorf(awsapi.CodeInvalidLookupAttributesException,
				"Invalid AttributeKey %q. Valid values: %s.", *a.AttributeKey, keyList(audit.Attributes))
		}
		if insight && key != audit.AttrEventID && key != audit.AttrEventName && key != audit.AttrEventSource {
			return q, false, awsapi.Errorf(awsapi.CodeInvalidLookupAttributesException,
				"The AttributeKey %s is not supported for Insights events. Valid values: EventId, EventName, EventSource.", key)
		}
		if a.AttributeValue == nil {
			return q, false, awsapi.Errorf(awsapi.CodeInvalidLookupAttributesException, "AttributeValue is required.")
		}
		if n := valueLen(*a.AttributeValue); n < 1 || n > maxValueLen {
			return q, false, awsapi.Errorf(awsapi.CodeInvalidLookupAttributesException,
				"AttributeValue must be between 1 and %d characters long.", maxValueLen)
		}
		q.Attribute, q.Value = key, *a.AttributeValue
	}
	if in.StartTime != nil {
		q.Start = in.StartTime.Time
	}
	if in.EndTime != nil {
		q.End = in.EndTime.Time
	}
	// A lookup without EndTime ends now, as the history does: a StartTime
	// after it (a year-9999 time, say) is a range that holds no possible
	// event, which AWS refuses with InvalidTimeRangeException ("the start
	// time occurs after the end time, or the time range is outside the
	// range of possible values").
	end := q.End
	if in.EndTime == nil {
		end = now
	}
	if !q.Start.IsZero() && q.Start.After(end) {
		return q, false, awsapi.Errorf(awsapi.CodeInvalidTimeRangeException, "Start time must not be after end time.")
	}
	q.Limit = DefaultMaxResults
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > MaxMaxResults {
			return q, false, awsapi.Errorf(awsapi.CodeInvalidMaxResultsException, "MaxResults must be between 1 and %d.", MaxMaxResults)
		}
		q.Limit = int(*in.MaxResults)
	}
	if in.NextToken != nil {
		c, ok := decodeToken(*in.NextToken, paramsHash(in))
		if !ok {
			return q, false, awsapi.Errorf(awsapi.CodeInvalidNextTokenException,
				"Invalid NextToken: it is not a token of this lookup, or it was used with different parameters.")
		}
		q.After = &c
	}
	return q, insight, nil
}

// valueLen counts an attribute value as AWS documents it: '_', ' ', ','
// and '\n' count twice.
func valueLen(s string) int {
	n := awsapi.Len(s)
	for _, c := range s {
		switch c {
		case '_', ' ', ',', '\n':
			n++
		}
	}
	return n
}

func keyList(keys []audit.Attribute) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// paramsHash binds a token to the parameters it was issued for (all but
// MaxResults and NextToken, which AWS lets change between pages).
func paramsHash(in *LookupEventsInput) [8]byte {
	h := sha256.New()
	for _, a := range in.LookupAttributes {
		fmt.Fprintf(h, "attr %q %q\n", deref(a.AttributeKey), deref(a.AttributeValue))
	}
	for _, t := range []*awsapi.Timestamp{in.StartTime, in.EndTime} {
		if t != nil {
			fmt.Fprintf(h, "time %d.%09d\n", t.Unix(), t.Nanosecond())
		} else {
			fmt.Fprintf(h, "time -\n")
		}
	}
	fmt.Fprintf(h, "category %q\n", deref(in.EventCategory))
	var out [8]byte
	copy(out[:], h.Sum(nil))
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

const tokenVersion = 1

// encodeToken makes the opaque NextToken: version, cursor, parameter hash.
func encodeToken(c audit.Cursor, params [8]byte) string {
	b := make([]byte, 0, 1+8+8+8)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time))
	b = binary.BigEndian.AppendUint64(b, c.Seq)
	b = append(b, params[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string, params [8]byte) (audit.Cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 25 || b[0] != tokenVersion || [8]byte(b[17:25]) != params {
		return audit.Cursor{}, false
	}
	c := audit.Cursor{Time: int64(binary.BigEndian.Uint64(b[1:9])), Seq: binary.BigEndian.Uint64(b[9:17])}
	if c.Seq == 0 || c.Time < -62135596800 || c.Time > time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix() {
		return audit.Cursor{}, false
	}
	return c, true
}
