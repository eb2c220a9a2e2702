package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Attribute is a lookup attribute of the event history, named as
// LookupEvents names it.
type Attribute string

// The lookup attributes.
const (
	AttrEventID      Attribute = "EventId"
	AttrEventName    Attribute = "EventName"
	AttrReadOnly     Attribute = "ReadOnly"
	AttrUsername     Attribute = "Username"
	AttrResourceType Attribute = "ResourceType"
	AttrResourceName Attribute = "ResourceName"
	AttrEventSource  Attribute = "EventSource"
	AttrAccessKeyID  Attribute = "AccessKeyId"
)

// Attributes lists the lookup attributes in AWS's order.
var Attributes = []Attribute{AttrEventID, AttrEventName, AttrReadOnly, AttrUsername,
	AttrResourceType, AttrResourceName, AttrEventSource, AttrAccessKeyID}

// attrCode is the attribute's number in the index table; never renumber
// (bump schemaVersion instead).
var attrCode = map[Attribute]int{
	AttrEventID: 1, AttrEventName: 2, AttrReadOnly: 3, AttrUsername: 4,
	AttrResourceType: 5, AttrResourceName: 6, AttrEventSource: 7, AttrAccessKeyID: 8,
}

// schemaVersion changes whenever the tables or the attribute values derived
// from a record change; an index of another version is rebuilt.
const schemaVersion = "3"

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS records (
	seq    INTEGER PRIMARY KEY,  -- the audit stream's sequence number
	scope  TEXT NOT NULL,        -- "account/region" whose history holds it
	time   INTEGER NOT NULL,     -- eventTime, Unix seconds
	record BLOB NOT NULL         -- the record's JSON, compressed (see codec)
);
CREATE INDEX IF NOT EXISTS records_time ON records (time, seq);
CREATE INDEX IF NOT EXISTS records_scope_time ON records (scope, time, seq);
CREATE TABLE IF NOT EXISTS lookup (
	attr  INTEGER NOT NULL,
	value TEXT NOT NULL,
	scope TEXT NOT NULL,
	time  INTEGER NOT NULL,
	seq   INTEGER NOT NULL,
	PRIMARY KEY (attr, value, scope, time, seq)
) WITHOUT ROWID;
`

// Index is the event history: an embedded SQLite database of the audit
// log's management records, with an index on (attribute, value, time) for
// every lookup attribute. It is derived data: delete the file and Follow
// rebuilds it from the stream.
type Index struct {
	path string
	w    *sql.DB // the one writer connection
	r    *sql.DB // readers
	log  *slog.Logger
	prog progress
	z    *codec
}

// OpenIndex opens (creating if needed) the index at path. An index written
// by another schema version, or one SQLite cannot read, is deleted and
// started afresh.
func OpenIndex(ctx context.Context, path string, log *slog.Logger) (*Index, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ix, err := openIndex(ctx, path, log)
	if err == nil {
		return ix, nil
	}
	log.Warn("audit index unreadable; rebuilding it from the audit log", "path", path, "err", err)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if rmErr := os.Remove(p); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			return nil, fmt.Errorf("audit: remove index %s: %w", p, rmErr)
		}
	}
	return openIndex(ctx, path, log)
}

func openIndex(ctx context.Context, path string, log *slog.Logger) (*Index, error) {
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append([]string{"busy_timeout(10000)", "journal_mode(WAL)",
			"synchronous(NORMAL)", "wal_autocheckpoint(20000)", "cache_size(-32000)", "temp_store(MEMORY)"}, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn())
	if err != nil {
		return nil, fmt.Errorf("audit: open index %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	ix := &Index{path: path, w: w, log: log}
	if err := ix.init(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn("query_only(true)"))
	if err != nil {
		ix.z.close()
		w.Close()
		return nil, fmt.Errorf("audit: open index %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	ix.r = r
	return ix, nil
}

func (ix *Index) init(ctx context.Context) error {
	if _, err := ix.w.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("audit: create index tables in %s: %w", ix.path, err)
	}
	var v string
	err := ix.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = ix.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('schema', ?), ('seq', '0'), ('dictionary', ?)`,
			schemaVersion, defaultDictionary())
		if err != nil {
			return fmt.Errorf("audit: initialise index %s: %w", ix.path, err)
		}
	case err != nil:
		return fmt.Errorf("audit: read index %s: %w", ix.path, err)
	case v != schemaVersion:
		return fmt.Errorf("audit: index %s has schema %s, want %s", ix.path, v, schemaVersion)
	}
	var dict []byte
	if err := ix.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'dictionary'`).Scan(&dict); err != nil {
		return fmt.Errorf("audit: read index %s: dictionary: %w", ix.path, err)
	}
	z, err := newCodec(dict)
	if err != nil {
		return err
	}
	ix.z = z
	return nil
}

// Close closes the index.
func (ix *Index) Close() error {
	err := errors.Join(ix.r.Close(), ix.w.Close())
	ix.z.close()
	return err
}

// LastSeq is the sequence number of the last audit-log message applied.
func (ix *Index) LastSeq(ctx context.Context) (uint64, error) {
	var v string
	if err := ix.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'seq'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("audit: read index position: %w", err)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("audit: index position %q: %w", v, err)
	}
	return n, nil
}

// Reset empties the index (the stream it followed is gone).
func (ix *Index) Reset(ctx context.Context) error {
	_, err := ix.w.ExecContext(ctx, `DELETE FROM lookup; DELETE FROM records; UPDATE meta SET value = '0' WHERE key = 'seq';`)
	if err != nil {
		return fmt.Errorf("audit: reset index: %w", err)
	}
	return nil
}

// Entry is one audit-log message to apply to the index.
type Entry struct {
	Seq    uint64
	Record []byte
	// Scope is the "account/region" whose history shows the record (the
	// importer's, for an imported record); empty: the record's own
	// (recipientAccountId and awsRegion).
	Scope string
}

// Apply adds entries to the index in one transaction and records the last
// one's sequence as the index's position. Data events and unreadable
// records move the position without being indexed; entries at or below the
// position are skipped, so applying a message twice is harmless.
func (ix *Index) Apply(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: index: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var v string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'seq'`).Scan(&v); err != nil {
		return fmt.Errorf("audit: index: read position: %w", err)
	}
	pos, _ := strconv.ParseUint(v, 10, 64)
	recs := &bulkInsert{sql: `INSERT OR IGNORE INTO records (seq, scope, time, record) VALUES `, width: 4}
	attrs := &bulkInsert{sql: `INSERT OR IGNORE INTO lookup (attr, value, scope, time, seq) VALUES `, width: 5}
	for _, e := range entries {
		if e.Seq <= pos {
			continue
		}
		pos = e.Seq
		rec, err := ParseRecord(e.Record)
		if err != nil {
			ix.log.Warn("audit index: skipping unreadable record", "seq", e.Seq, "err", err)
			continue
		}
		if !rec.ManagementEvent {
			continue
		}
		t := rec.Time().Unix()
		sc := e.Scope
		if sc == "" {
			sc = rec.Scope().String()
		}
		if err := recs.add(ctx, tx, int64(e.Seq), sc, t, ix.z.compress(e.Record)); err != nil {
			return fmt.Errorf("audit: index record %d: %w", e.Seq, err)
		}
		for _, a := range lookupValues(rec) {
			if err := attrs.add(ctx, tx, attrCode[a.attr], a.value, sc, t, int64(e.Seq)); err != nil {
				return fmt.Errorf("audit: index record %d: %w", e.Seq, err)
			}
		}
	}
	if err := errors.Join(recs.flush(ctx, tx), attrs.flush(ctx, tx)); err != nil {
		return fmt.Errorf("audit: index: %w", err)
	}
	defer recs.close()
	defer attrs.close()
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'seq'`, strconv.FormatUint(pos, 10)); err != nil {
		return fmt.Errorf("audit: index: write position: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: index: commit: %w", err)
	}
	return nil
}

type attrValue struct {
	attr  Attribute
	value string
}

// lookupValues lists the (attribute, value) pairs a record is found by.
// A resource is found by its name and by its ARN.
func lookupValues(r *Record) []attrValue {
	vs := []attrValue{
		{AttrEventID, r.EventID},
		{AttrEventName, r.EventName},
		{AttrReadOnly, strconv.FormatBool(r.ReadOnly)},
		{AttrEventSource, r.EventSource},
	}
	if u := r.Username(); u != "" {
		vs = append(vs, attrValue{AttrUsername, u})
	}
	if k := r.UserIdentity.AccessKeyID; k != "" {
		vs = append(vs, attrValue{AttrAccessKeyID, k})
	}
	for _, res := range r.Resources {
		if res.Type != "" {
			vs = append(vs, attrValue{AttrResourceType, res.Type})
		}
		if res.ARN != "" {
			vs = append(vs, attrValue{AttrResourceName, res.ARN})
			if n := ResourceName(res.ARN); n != res.ARN {
				vs = append(vs, attrValue{AttrResourceName, n})
			}
		}
	}
	return vs
}

// Expire removes the records whose eventTime is before cutoff and returns
// how many it removed. It works in batches so that lookups are not held up.
func (ix *Index) Expire(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for {
		n, err := ix.expireBatch(ctx, cutoff.Unix(), 2000)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (ix *Index) expireBatch(ctx context.Context, cutoff int64, limit int) (int, error) {
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("audit: expire: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	rows, err := tx.QueryContext(ctx, `SELECT seq, time, record FROM records WHERE time < ? ORDER BY time, seq LIMIT ?`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("audit: expire: %w", err)
	}
	type old struct {
		seq, time int64
		rec       []byte
	}
	var olds []old
	for rows.Next() {
		var o old
		if err := rows.Scan(&o.seq, &o.time, &o.rec); err != nil {
			rows.Close()
			return 0, fmt.Errorf("audit: expire: %w", err)
		}
		olds = append(olds, o)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("audit: expire: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("audit: expire: %w", err)
	}
	for _, o := range olds {
		raw, err := ix.z.decompress(o.rec)
		if err != nil {
			return 0, fmt.Errorf("audit: expire record %d: %w", o.seq, err)
		}
		if rec, err := ParseRecord(raw); err == nil {
			for _, a := range lookupValues(rec) {
				if _, err := tx.ExecContext(ctx, `DELETE FROM lookup WHERE attr = ? AND value = ? AND time = ? AND seq = ?`,
					attrCode[a.attr], a.value, o.time, o.seq); err != nil {
					return 0, fmt.Errorf("audit: expire record %d: %w", o.seq, err)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM records WHERE seq = ?`, o.seq); err != nil {
			return 0, fmt.Errorf("audit: expire record %d: %w", o.seq, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("audit: expire: commit: %w", err)
	}
	return len(olds), nil
}

// bulkInsert batches rows into multi-row INSERT statements: one statement
// per bulkRows rows costs far less than one per row.
type bulkInsert struct {
	sql   string
	width int
	args  []any
	full  *sql.Stmt // the statement for a full batch, prepared once
}

const bulkRows = 100

func (b *bulkInsert) add(ctx context.Context, tx *sql.Tx, args ...any) error {
	b.args = append(b.args, args...)
	if len(b.args) < bulkRows*b.width {
		return nil
	}
	if b.full == nil {
		st, err := tx.PrepareContext(ctx, b.statement(bulkRows))
		if err != nil {
			return err
		}
		b.full = st
	}
	_, err := b.full.ExecContext(ctx, b.args...)
	b.args = b.args[:0]
	return err
}

func (b *bulkInsert) flush(ctx context.Context, tx *sql.Tx) error {
	if len(b.args) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, b.statement(len(b.args)/b.width), b.args...)
	b.args = b.args[:0]
	return err
}

func (b *bulkInsert) close() {
	if b.full != nil {
		b.full.Close()
	}
}

func (b *bulkInsert) statement(rows int) string {
	var sb strings.Builder
	sb.WriteString(b.sql)
	tuple := "(?" + strings.Repeat(", ?", b.width-1) + ")"
	for i := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(tuple)
	}
	return sb.String()
}
