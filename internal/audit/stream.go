package audit

import (
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"

	"context"
	"errors"
	"fmt"
	"strconv"
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
		Description: "Conveyor audit log: one CloudTrail record per API call; imported records up to 16 a message",
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

// HeaderEncoding says how an audit-log message's data is compressed:
// encodingZstd (an import's records, framed by store.AppendBatch, then
// compressed with zstd, with one of the audit log's dictionaries or
// without: see DictionaryBucket), or not at all when absent.
const HeaderEncoding = "Conveyor-Encoding"

const encodingZstd = "zstd"

// AppendImported stores a record read from a CloudTrail log file in the
// audit log as it is (raw, AWS's JSON, fields Conveyor does not model kept),
// marked so that the forwarder leaves it alone. rec is raw parsed. seq is
// the sequence of the audit-log message that holds it (see
// AppendImportedAsync).
func (a *Audit) AppendImported(ctx context.Context, sc scope.Scope, rec *Record, raw []byte) (seq uint64, err error) {
	res := a.AppendImportedAsync(sc, []Imported{{Record: rec, JSON: raw}}).Wait(ctx)
	return res[0].Seq, res[0].Err
}

// Imported is a record read from a CloudTrail log file: Record is JSON
// parsed.
type Imported struct {
	Record *Record
	JSON   []byte
}

// Appended is what became of one record of an ImportBatch: the sequence of
// the audit-log message that holds it, or why it is not stored.
type Appended struct {
	Seq uint64
	Err error
}

// MaxRecordsPerMessage is the most imported records one audit-log message
// holds. The event-history index numbers a record by its message's
// sequence and its place in the message (see Entry.ID).
const MaxRecordsPerMessage = 1 << recordBits

const recordBits = 4

// ImportBatch is records of AppendImportedAsync on their way to the audit
// log.
type ImportBatch struct {
	p     *store.Store
	scope string
	recs  []Imported
	parts []importPart
}

// importPart is one audit-log message of an ImportBatch: the records recs[i]
// for i in idx, stored together.
type importPart struct {
	idx  []int
	size int // the message's size, at most (see store.AppendBatch)
	msg  *nats.Msg
	ack  *store.AckFuture
}

// AppendImportedAsync is AppendImported for many records at once: it
// publishes them without waiting, and Wait waits for their
// acknowledgements together (one round trip's latency for the batch instead
// of one a record). Records of the same subject are stored up to
// MaxRecordsPerMessage a message (see store.AppendBatch), within the
// connection's payload limit. The message ID is the scope, the first
// record's eventID and how many records it holds: publishing the same
// records again within two minutes stores them once.
//
// A message's data is compressed (HeaderEncoding): imported records are
// about 1.3 KB each, and JetStream holds what it wrote in the last seconds
// in memory, compressing it only when it seals a block; compressed, an
// import's records take a seventh of that, and of the copies on their way.
func (a *Audit) AppendImportedAsync(sc scope.Scope, recs []Imported) *ImportBatch {
	p := a.opts.Store
	enc := a.dict.encoder(time.Now())
	if dict := a.dict.learn(recs); dict != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.dict.store(a.ctx, dict); err != nil {
				a.log.Warn("audit: imported records stay compressed without a dictionary", "err", err)
			}
		}()
	}
	b := &ImportBatch{p: p, scope: sc.String(), recs: recs}
	limit := p.BatchLimit()
	open := map[string]int{} // subject → index of its part still taking records
	for i, r := range recs {
		if r.Record.EventID == "" {
			continue
		}
		subj := Subject(r.Record)
		add := len(r.JSON) + 4 // its framing: a uvarint length
		k, ok := open[subj]
		if !ok || len(b.parts[k].idx) == MaxRecordsPerMessage || b.parts[k].size+add > limit {
			k = len(b.parts)
			b.parts = append(b.parts, importPart{size: 1, msg: &nats.Msg{Subject: subj}})
			open[subj] = k
		}
		b.parts[k].idx = append(b.parts[k].idx, i)
		b.parts[k].size += add
	}
	items := make([][]byte, 0, MaxRecordsPerMessage)
	var framed []byte // the parts' records, framed, one part at a time
	for k := range b.parts {
		part := &b.parts[k]
		items = items[:0]
		for _, i := range part.idx {
			items = append(items, recs[i].JSON)
		}
		framed = store.AppendBatch(framed[:0], items)
		// Records compress to about a seventh (a fifth leaves room).
		part.msg.Data = enc.EncodeAll(framed, make([]byte, 0, len(framed)/5))
		part.msg.Header = nats.Header{
			HeaderNoForward:       []string{"true"},
			HeaderScope:           []string{b.scope},
			HeaderEncoding:        []string{encodingZstd},
			jetstream.MsgIDHeader: []string{b.scope + "/" + recs[part.idx[0]].Record.EventID + "/" + strconv.Itoa(len(part.idx))},
		}
		// An error here (a closed connection) leaves the ack nil: Wait
		// publishes the message again.
		part.ack, _ = p.PublishAsync(part.msg)
	}
	return b
}

// Wait waits for the batch's acknowledgements; a message whose publish
// failed or was not acknowledged in time is published again, alone, before
// its records are reported failed. The answer has one Appended per record,
// in order.
func (b *ImportBatch) Wait(ctx context.Context) []Appended {
	out := make([]Appended, len(b.recs))
	for i, r := range b.recs {
		if r.Record.EventID == "" {
			out[i].Err = fmt.Errorf("audit: imported record has no eventID")
		}
	}
	for _, part := range b.parts {
		var seq uint64
		err := errors.New("not published")
		if part.ack != nil {
			seq, err = part.ack.Wait(ctx)
		}
		if err != nil {
			seq, err = b.again(ctx, part.msg)
		}
		for _, i := range part.idx {
			if err != nil {
				out[i].Err = fmt.Errorf("audit: append imported record %s: %w", b.recs[i].Record.EventID, err)
				continue
			}
			out[i].Seq = seq
		}
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
