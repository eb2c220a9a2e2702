package audit

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
const schemaVersion = "9"

// The index keeps little text: the records themselves are in groups
// compressed together (see codec), found by sequence number; scopes and the values of the attributes
// with few values (event names and sources, resource types, read-only) are
// numbered once in terms, and the lookup rows are integers. The values of
// the other attributes (an EventId is one per record; user names, access
// keys and resource names come and go) are not numbered but hashed
// (hashKey; an EventId's and a resource name's with their epoch, rowKey),
// and a record found by a hash is checked against the value looked up.
const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS terms (
	id    INTEGER PRIMARY KEY,
	attr  INTEGER NOT NULL,      -- attrCode, or 0 for a scope
	value TEXT NOT NULL,
	UNIQUE (attr, value)
);
CREATE TABLE IF NOT EXISTS groups (
	first INTEGER PRIMARY KEY,   -- the seq of its first record
	n     INTEGER NOT NULL,      -- how many records it holds
	tmax  INTEGER NOT NULL,      -- its latest eventTime
	data  BLOB NOT NULL          -- the records' JSON, compressed (see codec, appendGroup)
);
CREATE INDEX IF NOT EXISTS groups_tmax ON groups (tmax);
CREATE TABLE IF NOT EXISTS chunks (
	key   INTEGER NOT NULL,      -- as lookup.key, of a chunked attribute (see chunks.go), or allKey
	scope INTEGER NOT NULL,
	tmax  INTEGER NOT NULL,      -- its newest record's time and seq
	smax  INTEGER NOT NULL,
	tmin  INTEGER NOT NULL,      -- its oldest record's time
	n     INTEGER NOT NULL,      -- how many records it lists
	data  BLOB NOT NULL,         -- the others' (time, seq), delta-encoded (see appendChunk)
	PRIMARY KEY (key, scope, tmax, smax)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lookup (
	key   INTEGER NOT NULL,      -- rowKey of (epoch, attribute, value)
	scope INTEGER NOT NULL,
	time  INTEGER NOT NULL,
	seq   INTEGER NOT NULL,
	PRIMARY KEY (key, scope, time, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epochs (
	epoch INTEGER PRIMARY KEY,   -- see rowKey
	tmin  INTEGER NOT NULL,      -- its rows' oldest and newest times
	tmax  INTEGER NOT NULL,
	n     INTEGER NOT NULL       -- how many rows it holds
);
`

// scopeAttr is the terms.attr of a scope.
const scopeAttr = 0

// hashed says whether an attribute's lookup keys are hashes of its values.
func hashed(a Attribute) bool {
	return a == AttrEventID || a == AttrUsername || a == AttrAccessKeyID || a == AttrResourceName
}

// The values that are (nearly) one a record, an EventId and a resource's
// name or ARN, have a row a record in the lookup table, keyed by a hash of
// the value. Keyed by the hash alone, a batch of records would write a row
// into most pages of the table; keyed by the record's day, into most of
// the day's (importing a million records of one day wrote 6 GB to the
// write-ahead log). So the rows are written in epochs of epochRows rows, in
// the order the index applies them, and a row's key is its epoch's number
// and then the hash (rowKey): a batch writes into the pages of the newest
// epoch only. A lookup tries the value's key in each epoch of its time
// range (see rowLookup): the epochs table keeps each one's times.

// defaultEpochRows is the number of lookup rows of an epoch: the pages a
// batch writes grow with it, and the keys a lookup tries with the number
// of epochs.
const defaultEpochRows = 1 << 17

// rowKey is the lookup key of a value of hash h (rowHash) of attribute a
// (an EventId or a resource name) in epoch e: negative, the epochs in
// order, and in an epoch first the EventIds (as rowKeys finds them), then
// the resource names.
func rowKey(e int64, a Attribute, h uint32) int64 {
	return -(e<<33 | rowKind(a)<<32 | int64(h)) - 1
}

// rowHash is the hash of a value in its rowKey: FNV-1a, without the
// allocation of hash/fnv's.
func rowHash(value string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(value); i++ {
		h ^= uint32(value[i])
		h *= 16777619
	}
	return h
}

// rowKeys is the range of the keys of attribute a's rows in epoch e.
func rowKeys(e int64, a Attribute) (lo, hi int64) {
	return -(e<<33 | rowKind(a)<<32 | (1<<32 - 1)) - 1, -(e<<33 | rowKind(a)<<32) - 1
}

func rowKind(a Attribute) int64 {
	if a == AttrEventID {
		return 0
	}
	return 1
}

// hashKey is the lookup key of a hashed attribute's value: a hash of both,
// negative (terms' ids are positive).
func hashKey(a Attribute, value string) int64 {
	h := fnv.New64a()
	h.Write([]byte{byte(attrCode[a])})
	h.Write([]byte(value))
	return int64(h.Sum64() | 1<<63)
}

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
	// z compresses and decompresses records; it changes once, when the
	// learned dictionary is made (see learnSize).
	z atomic.Pointer[codec]
	// learning collects record text for the learned dictionary until it
	// is made; nil once it is.
	learning []byte
	// dicts are the dictionaries z reads with, by ID (see codec); only the
	// goroutine that applies records changes them, and notes in missing
	// when it first found one of the audit log's dictionaries missing from
	// their bucket, which it waits for dictPatience.
	dicts        map[uint32][]byte
	missing      map[uint32]time.Time
	dictPatience time.Duration
	// dictMu guards dicts (which the goroutine that expires records
	// changes too: see dropDictionaries) and dictsMade, when the audit
	// log's dictionaries were made.
	dictMu    sync.Mutex
	dictsMade map[uint32]time.Time
	// terms caches the ids of terms in the index (committed ones only).
	terms termCache
	// expired is the eventTime (Unix seconds) before which records have
	// been expired: lookups read nothing older (chunks may still list
	// them).
	expired atomic.Int64
	// epochRows is the number of lookup rows of an epoch (see rowKey).
	epochRows int64
	// rowsOf and idsOf read lookup rows by a list of keys, prepared once.
	rowsOf, idsOf *sql.Stmt
	// epochs holds the epochs table's times (lookups read it on every
	// lookup by a value with lookup rows).
	epochs epochList
}

// epochList is the epochs' times, in the order of their numbers.
type epochList struct {
	mu    sync.Mutex
	spans []epochSpan
}

// in lists the epochs that may hold rows of a time in [lo, hi], newest
// rows first (by their newest time).
func (l *epochList) in(lo, hi int64) []epochSpan {
	l.mu.Lock()
	var out []epochSpan
	for _, e := range l.spans {
		if e.tmax >= lo && e.tmin <= hi {
			out = append(out, e)
		}
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b epochSpan) int {
		if c := cmp.Compare(b.tmax, a.tmax); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	return out
}

// set adds epochs or replaces them by their numbers.
func (l *epochList) set(spans ...epochSpan) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range spans {
		i, found := slices.BinarySearchFunc(l.spans, e.id, func(x epochSpan, id int64) int { return cmp.Compare(x.id, id) })
		if found {
			l.spans[i] = e
		} else {
			l.spans = slices.Insert(l.spans, i, e)
		}
	}
}

// remove drops epoch id.
func (l *epochList) remove(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spans = slices.DeleteFunc(l.spans, func(e epochSpan) bool { return e.id == id })
}

// reset drops every epoch.
func (l *epochList) reset() {
	l.mu.Lock()
	l.spans = nil
	l.mu.Unlock()
}

// termKey is a term: an attribute's code (or scopeAttr) and a value.
type termKey struct {
	attr  int
	value string
}

// termCache maps terms to their ids; it is emptied when it holds
// maxCachedTerms (resource names and access keys come and go).
type termCache struct {
	mu  sync.Mutex
	ids map[termKey]int64
}

const maxCachedTerms = 100_000

func (c *termCache) get(k termKey) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.ids[k]
	return id, ok
}

func (c *termCache) add(terms map[termKey]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || len(c.ids)+len(terms) > maxCachedTerms {
		c.ids = make(map[termKey]int64, len(terms))
	}
	for k, id := range terms {
		c.ids[k] = id
	}
}

func (c *termCache) clear() {
	c.mu.Lock()
	c.ids = nil
	c.mu.Unlock()
}

// termID returns the id of term k in the index, or 0 if it has none; q
// reads the index (a transaction or the readers).
func (ix *Index) termID(ctx context.Context, q querier, k termKey) (int64, error) {
	if id, ok := ix.terms.get(k); ok {
		return id, nil
	}
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM terms WHERE attr = ? AND value = ?`, k.attr, k.value).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("audit: index: read term: %w", err)
	}
	ix.terms.add(map[termKey]int64{k: id})
	return id, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// interner numbers terms within one write transaction; its new terms go
// to the cache once the transaction is committed.
type interner struct {
	ix    *Index
	tx    *sql.Tx
	added map[termKey]int64
}

func (in *interner) id(ctx context.Context, k termKey) (int64, error) {
	if id, ok := in.added[k]; ok {
		return id, nil
	}
	id, err := in.ix.termID(ctx, in.tx, k)
	if err != nil || id != 0 {
		return id, err
	}
	res, err := in.tx.ExecContext(ctx, `INSERT INTO terms (attr, value) VALUES (?, ?)`, k.attr, k.value)
	if err != nil {
		return 0, fmt.Errorf("audit: index: add term: %w", err)
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, fmt.Errorf("audit: index: add term: %w", err)
	}
	if in.added == nil {
		in.added = make(map[termKey]int64)
	}
	in.added[k] = id
	return id, nil
}

// chunkKeyOf is the key of a chunked attribute's value: its hashKey, or its
// term's id as id finds it (0: none).
func chunkKeyOf(ctx context.Context, a attrValue, id func(context.Context, termKey) (int64, error)) (int64, error) {
	if hashed(a.attr) {
		return hashKey(a.attr, a.value), nil
	}
	return id(ctx, termKey{attrCode[a.attr], a.value})
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
	// The write-ahead log is checkpointed at 5,000 pages (80 MiB). (The
	// writer's connection sets journal_mode itself, after page_size: see
	// init.) Each connection caches 8 MB of pages; the system's file
	// cache holds the rest. SQLite's cache costs far more memory than it
	// holds: importing a million records left the process at 700 MB
	// resident with 32 MB for the writer, 480 MB with 16 MB and 390 MB
	// with 8 MB (the readers' size made no difference), for 5% more CPU.
	dsn := func(cacheKiB int, extra ...string) string {
		q := url.Values{}
		for _, p := range append([]string{"busy_timeout(10000)",
			"synchronous(NORMAL)", "wal_autocheckpoint(5000)", fmt.Sprintf("cache_size(-%d)", cacheKiB), "temp_store(MEMORY)"}, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn(8000))
	if err != nil {
		return nil, fmt.Errorf("audit: open index %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	ix := &Index{path: path, w: w, log: log, epochRows: defaultEpochRows, dictPatience: defaultDictPatience}
	if err := ix.init(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(8000, "journal_mode(WAL)", "query_only(true)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("audit: open index %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	ix.r = r
	if ix.rowsOf, err = r.PrepareContext(ctx, rowsOfSQL); err == nil {
		ix.idsOf, err = r.PrepareContext(ctx, idsOfSQL)
	}
	if err != nil {
		ix.Close()
		return nil, fmt.Errorf("audit: open index %s: %w", path, err)
	}
	return ix, nil
}

// The statements that read lookup rows take their keys as a JSON array
// (see appendKeys), in one text that is parsed once: SQLite took longer to
// parse a list of a hundred parameters than to find their rows.
const (
	// rowsOfSQL reads the rows of keys ?1 of scope ?2 (0: of every scope)
	// in the time range [?3, ?4] before the cursor (?5, ?6), newest first,
	// up to ?7 of them.
	rowsOfSQL = `SELECT seq, time FROM lookup WHERE key IN (SELECT value FROM json_each(?1)) AND (?2 = 0 OR scope = ?2)
		AND time >= ?3 AND time <= ?4 AND (time < ?5 OR seq < ?6) ORDER BY time DESC, seq DESC LIMIT ?7`
	// idsOfSQL reads the records of keys ?2 of scope ?1.
	idsOfSQL = `SELECT seq FROM lookup WHERE scope = ?1 AND key IN (SELECT value FROM json_each(?2))`
)

// appendKeys appends keys as a JSON array.
func appendKeys(dst []byte, keys ...int64) []byte {
	dst = append(dst, '[')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, k, 10)
	}
	return append(dst, ']')
}

func (ix *Index) init(ctx context.Context) error {
	// 16 KiB pages, set before the file is in WAL mode (after, a new
	// file's page size is fixed): groups of records (see codec) and chunks
	// fill them, where 4 KiB pages held two groups and wasted a fifth, and
	// spilled chunks into overflow pages. (An existing file keeps its own.)
	if _, err := ix.w.ExecContext(ctx, `PRAGMA page_size = 16384; PRAGMA journal_mode = WAL`); err != nil {
		return fmt.Errorf("audit: index %s: %w", ix.path, err)
	}
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
	ix.dicts = make(map[uint32][]byte)
	ix.dictsMade = make(map[uint32]time.Time)
	ix.missing = make(map[uint32]time.Time)
	rows, err := ix.w.QueryContext(ctx, `SELECT key, value FROM meta WHERE key IN ('dictionary', 'learned') OR key LIKE 'stream/%' OR key LIKE 'streammade/%'`)
	if err != nil {
		return fmt.Errorf("audit: read index %s: dictionaries: %w", ix.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key  string
			dict []byte
		)
		if err := rows.Scan(&key, &dict); err != nil {
			return fmt.Errorf("audit: read index %s: dictionaries: %w", ix.path, err)
		}
		switch key {
		case "dictionary":
			ix.dicts[dictID] = dict
		case "learned":
			ix.dicts[learnedDictID] = dict
		default:
			kind, n, _ := strings.Cut(key, "/")
			id, err := strconv.ParseUint(n, 10, 32)
			if err != nil {
				return fmt.Errorf("audit: read index %s: dictionary %q: %w", ix.path, key, err)
			}
			if kind == "stream" {
				ix.dicts[uint32(id)] = dict
				break
			}
			made, err := strconv.ParseInt(string(dict), 10, 64)
			if err != nil {
				return fmt.Errorf("audit: read index %s: dictionary %q: %w", ix.path, key, err)
			}
			ix.dictsMade[uint32(id)] = time.Unix(made, 0)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read index %s: dictionaries: %w", ix.path, err)
	}
	if ix.dicts[learnedDictID] == nil {
		ix.learning = make([]byte, 0, learnSize)
	}
	var expired sql.NullInt64
	if err := ix.w.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'expired'`).Scan(&expired); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: read index %s: %w", ix.path, err)
	}
	ix.expired.Store(expired.Int64)
	if err := ix.loadEpochs(ctx); err != nil {
		return err
	}
	return ix.useCodec()
}

// useCodec makes the codec of ix.dicts the one records are compressed and
// decompressed with.
func (ix *Index) useCodec() error {
	z, err := newCodec(ix.dicts)
	if err != nil {
		return err
	}
	// The codec replaced is not closed: lookups that loaded it may still
	// use it, and a zstd decoder used only for DecodeAll holds no
	// goroutine, so the garbage collector takes it.
	ix.z.Store(z)
	return nil
}

// learn collects a record's text for the learned dictionary; it returns the
// dictionary once it is complete.
func (ix *Index) learn(raw []byte) []byte {
	if ix.learning == nil {
		return nil
	}
	ix.learning = append(ix.learning, raw[:min(len(raw), learnSize-len(ix.learning))]...)
	if len(ix.learning) < learnSize {
		return nil
	}
	return ix.learning
}

// Close closes the index.
func (ix *Index) Close() error {
	var err error
	for _, st := range []*sql.Stmt{ix.rowsOf, ix.idsOf} {
		if st != nil {
			err = errors.Join(err, st.Close())
		}
	}
	err = errors.Join(err, ix.r.Close(), ix.w.Close())
	if z := ix.z.Load(); z != nil {
		z.close()
	}
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
	_, err := ix.w.ExecContext(ctx, `DELETE FROM lookup; DELETE FROM epochs; DELETE FROM chunks; DELETE FROM groups; DELETE FROM terms; UPDATE meta SET value = '0' WHERE key = 'seq';`)
	ix.terms.clear()
	ix.epochs.reset()
	if err != nil {
		return fmt.Errorf("audit: reset index: %w", err)
	}
	return nil
}

// Entry is one record of the audit log to apply to the index.
type Entry struct {
	// Seq is the sequence of the audit-log message that holds the record,
	// K its place in the message (0 for a message of one record).
	Seq    uint64
	K      int
	Record []byte
	// Scope is the "account/region" whose history shows the record (the
	// importer's, for an imported record); empty: the record's own
	// (recipientAccountId and awsRegion).
	Scope string
	// Frame, on the first record (K 0) of a message the index keeps as it
	// is, is the message's data: the group of its records (see
	// frameGroup). The message's records are the entries of its Seq.
	Frame []byte
}

// ID is the record's number in the index, in the order of the audit log:
// its message's sequence, times MaxRecordsPerMessage, plus its place in
// the message. (An index written before messages held several records
// numbered a record by its sequence alone: those numbers are all smaller
// than the ones after them, so the order holds.)
func (e Entry) ID() int64 { return int64(e.Seq<<recordBits | uint64(e.K)) }

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
	ep, err := ix.newestEpoch(ctx, tx)
	if err != nil {
		return err
	}
	in := &interner{ix: ix, tx: tx}
	var (
		learned []byte
		pieces  []piece // the records to store, in order
		framed  uint64  // the Seq of the last message kept as it is
		chunk   = make(map[chunkKey][]posting)
		rows    []any       // the lookup rows' columns
		written []epochSpan // the epochs whose rows this transaction adds
	)
	start := pos
	for i, e := range entries {
		if e.Seq <= start {
			continue // applied before
		}
		pos = max(pos, e.Seq)
		id := e.ID()
		if e.Frame != nil && e.K == 0 {
			n := 1
			for i+n < len(entries) && entries[i+n].Seq == e.Seq {
				n++
			}
			pieces = append(pieces, piece{frame: &newGroup{first: id, n: int64(n), tmax: math.MinInt64,
				data: append([]byte{frameGroup}, e.Frame...)}})
			framed = e.Seq
		}
		rec, _, err := ParseRecordFields(e.Record)
		if err != nil {
			ix.log.Warn("audit index: skipping unreadable record", "seq", e.Seq, "k", e.K, "err", err)
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
		scopeID, err := in.id(ctx, termKey{scopeAttr, sc})
		if err != nil {
			return err
		}
		if learned == nil {
			learned = ix.learn(e.Record)
		}
		all := chunkKey{allKey, scopeID}
		chunk[all] = append(chunk[all], posting{t, id})
		switch last := len(pieces) - 1; {
		case e.Seq == framed:
			pieces[last].frame.tmax = max(pieces[last].frame.tmax, t)
		case last < 0 || pieces[last].frame != nil:
			pieces = append(pieces, piece{recs: []groupRecord{{seq: id, time: t, json: e.Record}}})
		default:
			pieces[last].recs = append(pieces[last].recs, groupRecord{seq: id, time: t, json: e.Record})
		}
		if ep.n >= ix.epochRows {
			if err := ep.write(ctx, tx, &written); err != nil {
				return err
			}
			ep = epoch{id: ep.id + 1}
		}
		for _, a := range lookupValues(rec) {
			if !chunked(a.attr) {
				rows = append(rows, rowKey(ep.id, a.attr, rowHash(a.value)), scopeID, t, id)
				ep.add(t)
				continue
			}
			key, err := chunkKeyOf(ctx, a, in.id)
			if err != nil {
				return err
			}
			k := chunkKey{key, scopeID}
			chunk[k] = append(chunk[k], posting{t, id})
		}
	}
	if err := ep.write(ctx, tx, &written); err != nil {
		return err
	}
	// The groups are compressed while the rows and chunks are written.
	groups, err := ix.newGroups(ctx, tx, pieces)
	if err != nil {
		return err
	}
	compressed := make(chan struct{})
	go func(z *codec) {
		defer close(compressed)
		for i := range groups {
			if groups[i].text {
				groups[i].data = z.compress(groups[i].data)
			}
		}
	}(ix.z.Load())
	defer func() { <-compressed }()
	if err := insertRows(ctx, tx, rows); err != nil {
		return err
	}
	if err := writeChunks(ctx, tx, chunk); err != nil {
		return err
	}
	<-compressed
	for _, g := range groups {
		if _, err := tx.ExecContext(ctx, `INSERT INTO groups (first, n, tmax, data) VALUES (?, ?, ?, ?)`,
			g.first, g.n, g.tmax, g.data); err != nil {
			return fmt.Errorf("audit: index: store group %d: %w", g.first, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'seq'`, strconv.FormatUint(pos, 10)); err != nil {
		return fmt.Errorf("audit: index: write position: %w", err)
	}
	if learned != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('learned', ?)`, learned); err != nil {
			return fmt.Errorf("audit: index: write the learned dictionary: %w", err)
		}
	}
	// The epochs' times widen before the rows show: a lookup reading between the commit and
	// this would skip the epoch of a record it can already count by another attribute. A
	// failed commit leaves them wider than the rows: a lookup tries an epoch for nothing.
	ix.epochs.set(written...)
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: index: commit: %w", err)
	}
	ix.terms.add(in.added)
	if learned != nil {
		ix.dictMu.Lock()
		ix.dicts[learnedDictID] = learned
		err := ix.useCodec()
		ix.dictMu.Unlock()
		if err != nil {
			return err
		}
		ix.learning = nil
	}
	return nil
}

// newGroup is a group of records to store.
type newGroup struct {
	first, n, tmax int64
	data           []byte
	text           bool // data is the group's text, to compress
}

// piece is a run of records to store in groups, or a message kept as it is
// (frame; its records' latest time is tmax, math.MinInt64 when none of them
// is indexed).
type piece struct {
	recs  []groupRecord
	frame *newGroup
}

// newGroups puts records in groups of groupSize, and keeps messages as
// they are: a run of records after the last group stored, if that is not
// full, fills it first (records that come one at a time still share a
// group), and it is deleted to be stored again. A group never holds
// records on both sides of another, so that the last group that begins
// before a record is its own.
func (ix *Index) newGroups(ctx context.Context, tx *sql.Tx, pieces []piece) ([]newGroup, error) {
	if len(pieces) == 0 {
		return nil, nil
	}
	if pieces[0].frame == nil {
		var (
			first, n, tmax int64
			data           []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT first, n, tmax, data FROM groups ORDER BY first DESC LIMIT 1`).Scan(&first, &n, &tmax, &data)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("audit: index: read the last group: %w", err)
		case n < groupSize && len(data) > 0 && data[0] != frameGroup:
			old, err := ix.z.Load().groupRecords(first, data)
			if err != nil {
				return nil, fmt.Errorf("audit: index: group %d: %w", first, err)
			}
			for i := range old {
				old[i].time = tmax // only the group's latest time matters
			}
			pieces[0].recs = append(old, pieces[0].recs...)
			if _, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE first = ?`, first); err != nil {
				return nil, fmt.Errorf("audit: index: group %d: %w", first, err)
			}
		}
	}
	// The groups' texts, one after the other in one buffer.
	size := 0
	for _, p := range pieces {
		for _, r := range p.recs {
			size += len(r.json) + 2*binary.MaxVarintLen64
		}
	}
	text := make([]byte, 0, size)
	var groups []newGroup
	for _, p := range pieces {
		if p.frame != nil {
			if p.frame.tmax != math.MinInt64 {
				groups = append(groups, *p.frame)
			}
			continue
		}
		recs := p.recs
		for len(recs) > 0 {
			g := recs[:min(len(recs), groupSize)]
			recs = recs[len(g):]
			latest := g[0].time
			for _, r := range g {
				latest = max(latest, r.time)
			}
			n := len(text)
			text = appendGroup(text, g)
			groups = append(groups, newGroup{first: g[0].seq, n: int64(len(g)), tmax: latest, data: text[n:len(text):len(text)], text: true})
		}
	}
	return groups, nil
}

// groupReader reads records from their groups, keeping the groups it has
// read.
type groupReader struct {
	ix     *Index
	q      groupQuerier
	groups []readGroup
}

type readGroup struct {
	first int64
	recs  []groupRecord
}

type groupQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// record returns the JSON of the record with sequence seq (nil if the
// index does not hold it).
func (g *groupReader) record(ctx context.Context, seq int64) ([]byte, error) {
	for _, rg := range g.groups {
		if seq >= rg.first && len(rg.recs) > 0 && seq <= rg.recs[len(rg.recs)-1].seq {
			return findRecord(rg.recs, seq), nil
		}
	}
	var (
		first int64
		data  []byte
	)
	err := g.q.QueryRowContext(ctx, `SELECT first, data FROM groups WHERE first <= ? ORDER BY first DESC LIMIT 1`, seq).Scan(&first, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read record %d: %w", seq, err)
	}
	recs, err := g.ix.z.Load().groupRecords(first, data)
	if err != nil {
		return nil, fmt.Errorf("audit: read record %d: %w", seq, err)
	}
	g.groups = append(g.groups, readGroup{first: first, recs: recs})
	return findRecord(recs, seq), nil
}

func findRecord(recs []groupRecord, seq int64) []byte {
	i, ok := slices.BinarySearchFunc(recs, seq, func(r groupRecord, seq int64) int { return cmp.Compare(r.seq, seq) })
	if !ok {
		return nil
	}
	return recs[i].json
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

// epoch is the newest epoch of lookup rows (see rowKey) while a
// transaction adds to it.
type epoch struct {
	id         int64
	tmin, tmax int64
	n          int64 // its rows, those of earlier transactions included
	added      bool  // whether this transaction added rows
}

// newestEpoch reads the newest epoch (the first, 1, of an empty index).
func (ix *Index) newestEpoch(ctx context.Context, tx *sql.Tx) (epoch, error) {
	var e epoch
	err := tx.QueryRowContext(ctx, `SELECT epoch, tmin, tmax, n FROM epochs ORDER BY epoch DESC LIMIT 1`).Scan(&e.id, &e.tmin, &e.tmax, &e.n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return epoch{id: 1}, nil
	case err != nil:
		return epoch{}, fmt.Errorf("audit: index: read the newest epoch: %w", err)
	}
	return e, nil
}

// add counts a row of time t.
func (e *epoch) add(t int64) {
	if e.n == 0 {
		e.tmin, e.tmax = t, t
	}
	e.tmin, e.tmax = min(e.tmin, t), max(e.tmax, t)
	e.n++
	e.added = true
}

// write stores the epoch's times and size, if the transaction added rows,
// and notes its times in written.
func (e *epoch) write(ctx context.Context, tx *sql.Tx, written *[]epochSpan) error {
	if !e.added {
		return nil
	}
	*written = append(*written, epochSpan{e.id, e.tmin, e.tmax})
	_, err := tx.ExecContext(ctx, `INSERT INTO epochs (epoch, tmin, tmax, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (epoch) DO UPDATE SET tmin = excluded.tmin, tmax = excluded.tmax, n = excluded.n`, e.id, e.tmin, e.tmax, e.n)
	if err != nil {
		return fmt.Errorf("audit: index: write epoch %d: %w", e.id, err)
	}
	return nil
}

// epochSpan is an epoch's times.
type epochSpan struct {
	id, tmin, tmax int64
}

// loadEpochs reads the epochs' times.
func (ix *Index) loadEpochs(ctx context.Context) error {
	rows, err := ix.w.QueryContext(ctx, `SELECT epoch, tmin, tmax FROM epochs ORDER BY epoch`)
	if err != nil {
		return fmt.Errorf("audit: read index %s: epochs: %w", ix.path, err)
	}
	defer rows.Close()
	var spans []epochSpan
	for rows.Next() {
		var e epochSpan
		if err := rows.Scan(&e.id, &e.tmin, &e.tmax); err != nil {
			return fmt.Errorf("audit: read index %s: epochs: %w", ix.path, err)
		}
		spans = append(spans, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read index %s: epochs: %w", ix.path, err)
	}
	ix.epochs.reset()
	ix.epochs.set(spans...)
	return nil
}

// Expire removes the records whose eventTime is before cutoff and returns
// how many it removed. It works an epoch a transaction, so that lookups
// are not held up.
func (ix *Index) Expire(ctx context.Context, cutoff time.Time) (int, error) {
	c := cutoff.Unix()
	total := 0
	for _, e := range ix.epochs.in(math.MinInt64, c-1) {
		n, err := ix.expireEpoch(ctx, e, c)
		total += n
		if err != nil {
			return total, err
		}
	}
	// Every record before cutoff is gone: so are the groups and chunks that
	// held only such records. (A chunk that also lists later ones stays;
	// lookups read nothing before the expiry time.)
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return total, fmt.Errorf("audit: expire: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, q := range []string{`DELETE FROM groups WHERE tmax < ?`, `DELETE FROM chunks WHERE tmax < ?`,
		`INSERT INTO meta (key, value) VALUES ('expired', ?)
			ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value)`} {
		if _, err := tx.ExecContext(ctx, q, c); err != nil {
			return total, fmt.Errorf("audit: expire: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return total, fmt.Errorf("audit: expire: commit: %w", err)
	}
	ix.expired.Store(max(ix.expired.Load(), c))
	return total, nil
}

// expireEpoch deletes an epoch's lookup rows of a time before c (and the
// epoch, if they were all its rows); it returns how many EventIds it
// deleted: every indexed record has one.
func (ix *Index) expireEpoch(ctx context.Context, e epochSpan, c int64) (int, error) {
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("audit: expire: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	n := 0
	for _, a := range []Attribute{AttrEventID, AttrResourceName} {
		lo, hi := rowKeys(e.id, a)
		res, err := tx.ExecContext(ctx, `DELETE FROM lookup WHERE key >= ? AND key <= ? AND time < ?`, lo, hi, c)
		if err != nil {
			return 0, fmt.Errorf("audit: expire epoch %d: %w", e.id, err)
		}
		if a == AttrEventID {
			k, err := res.RowsAffected()
			if err != nil {
				return 0, fmt.Errorf("audit: expire epoch %d: %w", e.id, err)
			}
			n = int(k)
		}
	}
	if e.tmax < c {
		if _, err := tx.ExecContext(ctx, `DELETE FROM epochs WHERE epoch = ?`, e.id); err != nil {
			return 0, fmt.Errorf("audit: expire epoch %d: %w", e.id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("audit: expire: commit: %w", err)
	}
	if e.tmax < c {
		ix.epochs.remove(e.id)
	}
	return n, nil
}

// insertRows adds lookup rows (their columns, four a row).
func insertRows(ctx context.Context, tx *sql.Tx, rows []any) error {
	ins := &bulkInsert{sql: `INSERT OR IGNORE INTO lookup (key, scope, time, seq) VALUES `, width: 4}
	defer ins.close()
	for len(rows) > 0 {
		if err := ins.add(ctx, tx, rows[:4]...); err != nil {
			return fmt.Errorf("audit: index: store lookup rows: %w", err)
		}
		rows = rows[4:]
	}
	if err := ins.flush(ctx, tx); err != nil {
		return fmt.Errorf("audit: index: store lookup rows: %w", err)
	}
	return nil
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
