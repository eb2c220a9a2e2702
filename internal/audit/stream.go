package audit

import (
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"

	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The audit log: one JetStream stream, the truth of the event history.
const (
	// StreamName is the audit log's stream.
	StreamName = "AUDIT"
	// SubjectPrefix starts every audit-log subject:
	// conveyor.audit.<management|data>.<service>.
	SubjectPrefix = "conveyor.audit"
	// ManagementSubjects matches the management records only.
	ManagementSubjects = SubjectPrefix + ".management.>"
	// DefaultRetention is how long records are kept, as CloudTrail's event
	// history keeps them.
	DefaultRetention = 90 * 24 * time.Hour
	// duplicateWindow is how long the stream remembers event IDs, so that a
	// publish retried after a lost acknowledgement is stored once.
	duplicateWindow = 2 * time.Minute
)

// Subject is the audit-log subject of a record.
func Subject(r *Record) string {
	kind := "management"
	if !r.ManagementEvent {
		kind = "data"
	}
	svc := r.Service()
	if svc == "" || !subjectToken(svc) {
		svc = "other"
	}
	return SubjectPrefix + "." + kind + "." + svc
}

// subjectToken says whether s can be one subject token as it is.
func subjectToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// StreamConfig is the audit log's stream configuration: records older than
// retention are removed by JetStream itself (MaxAge). The stream is S2
// compressed: CloudTrail records, JSON of the same few shapes, take about
// an eighth of their size in JetStream's blocks (each block is compressed
// when it is full; a stream made before compression was configured is
// updated in place by EnsureStream, and JetStream compresses the blocks it
// writes after its next start).
func StreamConfig(retention time.Duration, replicas int) jetstream.StreamConfig {
	if retention <= 0 {
		retention = DefaultRetention
	}
	if replicas < 1 {
		replicas = 1
	}
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Conveyor audit log: one CloudTrail record per API call",
		Subjects:    []string{SubjectPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      retention,
		Duplicates:  min(duplicateWindow, retention),
		Replicas:    replicas,
		Discard:     jetstream.DiscardOld,
		Compression: jetstream.S2Compression,
	}
}

// EnsureStream creates the audit log, or updates its retention and
// replicas to the settings given.
func EnsureStream(ctx context.Context, js jetstream.JetStream, retention time.Duration, replicas int) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, StreamConfig(retention, replicas))
	if err != nil {
		return nil, fmt.Errorf("audit: create stream %s: %w", StreamName, err)
	}
	return s, nil
}

// Append stores one record in the audit log and returns once JetStream has
// it (an import of AWS log files uses this; API calls go through a
// Recorder). The record's eventID is the message ID: appending the same
// record twice within two minutes stores it once.
func Append(ctx context.Context, p *store.Store, rec *Record) error {
	data, err := rec.Marshal()
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: Subject(rec), Data: data, Header: nats.Header{jetstream.MsgIDHeader: []string{rec.EventID}}}
	if _, err := p.Publish(ctx, msg); err != nil {
		return fmt.Errorf("audit: append record %s: %w", rec.EventID, err)
	}
	return nil
}

// HeaderNoForward marks an audit-log message the forwarder must not put on
// the bus (an imported record: it is put on the bus only when the import
// asks for it, by the importer itself).
const HeaderNoForward = "Conveyor-Audit-No-Forward"

// HeaderScope names the "account/region" whose event history shows an
// imported record: the importer's, not the record's own.
const HeaderScope = "Conveyor-Scope"

// AppendImported stores a record read from a CloudTrail log file in the
// audit log as it is (raw, AWS's JSON, fields Conveyor does not model kept),
// marked so that the forwarder leaves it alone. rec is raw parsed. The
// record's eventID is the message ID, so importing the same file twice
// within two minutes stores its records once. seq is the record's sequence
// in the audit log (the first one's, for a record stored twice).
func AppendImported(ctx context.Context, p *store.Store, sc scope.Scope, rec *Record, raw []byte) (seq uint64, err error) {
	res := AppendImportedAsync(p, sc, []Imported{{Record: rec, JSON: raw}}).Wait(ctx)
	return res[0].Seq, res[0].Err
}

// Imported is a record read from a CloudTrail log file: Record is JSON
// parsed.
type Imported struct {
	Record *Record
	JSON   []byte
}

// Appended is what became of one record of an ImportBatch: its sequence in
// the audit log, or why it is not stored.
type Appended struct {
	Seq uint64
	Err error
}

// ImportBatch is records of AppendImportedAsync on their way to the audit
// log.
type ImportBatch struct {
	p     *store.Store
	scope string
	recs  []Imported
	msgs  []*nats.Msg
	acks  []*store.AckFuture
}

// AppendImportedAsync is AppendImported for many records at once: it
// publishes them without waiting, and Wait waits for their
// acknowledgements together (one round trip's latency for the batch instead
// of one a record).
func AppendImportedAsync(p *store.Store, sc scope.Scope, recs []Imported) *ImportBatch {
	b := &ImportBatch{p: p, scope: sc.String(), recs: recs, msgs: make([]*nats.Msg, len(recs)),
		acks: make([]*store.AckFuture, len(recs))}
	for i, r := range recs {
		if r.Record.EventID == "" {
			continue
		}
		msg := &nats.Msg{Subject: Subject(r.Record), Data: r.JSON, Header: nats.Header{
			HeaderNoForward:       []string{"true"},
			HeaderScope:           []string{b.scope},
			jetstream.MsgIDHeader: []string{b.msgID(i)},
		}}
		b.msgs[i] = msg
		// An error here (a closed connection) leaves the ack nil: Wait
		// publishes the record again.
		b.acks[i], _ = p.PublishAsync(msg)
	}
	return b
}

func (b *ImportBatch) msgID(i int) string { return b.scope + "/" + b.recs[i].Record.EventID }

// Wait waits for the batch's acknowledgements; a record whose publish failed
// or was not acknowledged in time is published again, alone, before it is
// reported failed. The answer has one Appended per record, in order.
func (b *ImportBatch) Wait(ctx context.Context) []Appended {
	out := make([]Appended, len(b.recs))
	for i, msg := range b.msgs {
		if msg == nil {
			out[i].Err = fmt.Errorf("audit: imported record has no eventID")
			continue
		}
		if b.acks[i] != nil {
			seq, err := b.acks[i].Wait(ctx)
			if err == nil {
				out[i].Seq = seq
				continue
			}
		}
		seq, err := b.again(ctx, msg)
		if err != nil {
			out[i].Err = fmt.Errorf("audit: append imported record %s: %w", b.recs[i].Record.EventID, err)
			continue
		}
		out[i].Seq = seq
	}
	return out
}

// again publishes msg once more and waits for it.
func (b *ImportBatch) again(ctx context.Context, msg *nats.Msg) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return b.p.Publish(ctx, msg)
}
