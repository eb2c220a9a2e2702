package delivery

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Defaults of a rule target's RetryPolicy, as EventBridge has them.
const (
	DefaultMaximumRetryAttempts     = 185
	DefaultMaximumEventAgeInSeconds = 86400
)

// RetryPolicy is a target's RetryPolicy: how many retries and for how long.
type RetryPolicy struct {
	// MaximumRetryAttempts is the number of retries after the first attempt
	// (0 means no retry).
	MaximumRetryAttempts int
	// MaximumEventAgeInSeconds bounds, from the event's ingestion, the time
	// during which retries are made.
	MaximumEventAgeInSeconds int
}

// DefaultRetryPolicy is EventBridge's RetryPolicy when a target sets none.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaximumRetryAttempts: DefaultMaximumRetryAttempts, MaximumEventAgeInSeconds: DefaultMaximumEventAgeInSeconds}
}

// HTTPParameters are a target's HttpParameters (API destinations): values
// for the '*' of the endpoint path, headers and query-string parameters.
type HTTPParameters struct {
	PathParameterValues   []string
	HeaderParameters      map[string]string
	QueryStringParameters map[string]string
}

// Job is one delivery: an event (after the rule's transform) for one target
// of one rule. The router enqueues jobs; the runner hands them to the target
// invoker.
type Job struct {
	Bus       string
	RuleName  string
	RuleARN   string
	TargetID  string
	TargetARN string
	// EventID is the event's id; with the target it identifies the job.
	EventID string
	// EventTime is the event's "time".
	EventTime time.Time
	// IngestionTime is when the bus received the event; retry ages count
	// from it.
	IngestionTime time.Time
	RetryPolicy   RetryPolicy
	// DeadLetterARN is the target's DeadLetterConfig.Arn ("" for none).
	DeadLetterARN string
	// HTTP holds the target's HttpParameters, nil when it has none.
	HTTP *HTTPParameters
	// MessageGroupId is the target's SqsParameters.MessageGroupId (a FIFO
	// queue's message group), "" for none.
	MessageGroupId string
	// Payload is what the target receives.
	Payload []byte
	// PriorAttempts counts the attempts made before the job was stored
	// (a direct delivery that failed, see [Runner.TryDirect]); RetryAt is
	// when the next one is due. Both are zero for a job stored before any
	// attempt.
	PriorAttempts int
	RetryAt       time.Time

	// Attempt is the 1-based number of this delivery attempt. The runner
	// sets it; it is not encoded.
	Attempt int
}

// Key identifies the job's target.
func (j *Job) Key() TargetKey { return TargetKey{Bus: j.Bus, Rule: j.RuleName, ID: j.TargetID} }

// jobVersion is the first byte of an encoded job.
const jobVersion = 1

// Flags of an encoded job: which optional sections follow the fixed
// fields.
const (
	flagHTTP  = 1
	flagRetry = 2
	flagGroup = 4
)

// MarshalBinary encodes the job compactly: a version byte, the fields as
// length-prefixed strings and varints, then the payload bytes as they are.
func (j *Job) MarshalBinary() ([]byte, error) {
	return j.AppendBinary(nil)
}

// AppendBinary appends the encoding of [Job.MarshalBinary] to b.
func (j *Job) AppendBinary(b []byte) ([]byte, error) {
	// One allocation: room for the fields (a length prefix of at most 3
	// bytes each for the usual sizes, 4 varints) and the payload.
	size := 1 + 7*3 + 6*binary.MaxVarintLen64 + 1 + len(j.Payload) +
		len(j.Bus) + len(j.RuleName) + len(j.RuleARN) + len(j.TargetID) + len(j.TargetARN) + len(j.EventID) + len(j.DeadLetterARN)
	b = slices.Grow(b, size)
	b = append(b, jobVersion)
	for _, s := range []string{j.Bus, j.RuleName, j.RuleARN, j.TargetID, j.TargetARN, j.EventID, j.DeadLetterARN} {
		b = appendString(b, s)
	}
	b = binary.AppendVarint(b, timeNanos(j.EventTime))
	b = binary.AppendVarint(b, timeNanos(j.IngestionTime))
	b = binary.AppendVarint(b, int64(j.RetryPolicy.MaximumRetryAttempts))
	b = binary.AppendVarint(b, int64(j.RetryPolicy.MaximumEventAgeInSeconds))
	var flags byte
	if j.HTTP != nil {
		flags |= flagHTTP
	}
	if j.PriorAttempts > 0 {
		flags |= flagRetry
	}
	if j.MessageGroupId != "" {
		flags |= flagGroup
	}
	b = append(b, flags)
	if j.HTTP != nil {
		b = binary.AppendUvarint(b, uint64(len(j.HTTP.PathParameterValues)))
		for _, v := range j.HTTP.PathParameterValues {
			b = appendString(b, v)
		}
		b = appendMap(b, j.HTTP.HeaderParameters)
		b = appendMap(b, j.HTTP.QueryStringParameters)
	}
	if j.PriorAttempts > 0 {
		b = binary.AppendUvarint(b, uint64(j.PriorAttempts))
		b = binary.AppendVarint(b, timeNanos(j.RetryAt))
	}
	if j.MessageGroupId != "" {
		b = appendString(b, j.MessageGroupId)
	}
	return append(b, j.Payload...), nil
}

// UnmarshalBinary decodes what [Job.MarshalBinary] encoded. The payload
// aliases data.
func (j *Job) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	if v := d.byte(); v != jobVersion {
		if d.err != nil {
			return d.err
		}
		return fmt.Errorf("delivery: job encoding version %d, want %d", v, jobVersion)
	}
	*j = Job{}
	for _, p := range []*string{&j.Bus, &j.RuleName, &j.RuleARN, &j.TargetID, &j.TargetARN, &j.EventID, &j.DeadLetterARN} {
		*p = d.string()
	}
	j.EventTime = fromNanos(d.varint())
	j.IngestionTime = fromNanos(d.varint())
	j.RetryPolicy.MaximumRetryAttempts = int(d.varint())
	j.RetryPolicy.MaximumEventAgeInSeconds = int(d.varint())
	flags := d.byte()
	if flags&flagHTTP != 0 {
		h := &HTTPParameters{}
		n := d.count()
		for range n {
			h.PathParameterValues = append(h.PathParameterValues, d.string())
		}
		h.HeaderParameters = d.stringMap()
		h.QueryStringParameters = d.stringMap()
		j.HTTP = h
	}
	if flags&flagRetry != 0 {
		n := d.uvarint()
		if n == 0 || n > 1<<20 {
			d.err = errBadAttempts
		}
		j.PriorAttempts = int(n)
		j.RetryAt = fromNanos(d.varint())
	}
	if flags&flagGroup != 0 {
		j.MessageGroupId = d.string()
	}
	if d.err != nil {
		return d.err
	}
	j.Payload = d.b
	return nil
}

func timeNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendMap(b []byte, m map[string]string) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b = appendString(b, k)
		b = appendString(b, m[k])
	}
	return b
}

var (
	errShortJob    = errors.New("delivery: truncated job")
	errBadAttempts = errors.New("delivery: job with a bad prior attempt count")
)

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errShortJob
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortJob
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShortJob
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length and checks it against the bytes left (every element
// takes at least one byte), so a corrupt length cannot make us allocate.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errShortJob
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) stringMap() map[string]string {
	n := d.count()
	if d.err != nil || n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.string()
		m[k] = d.string()
	}
	return m
}
