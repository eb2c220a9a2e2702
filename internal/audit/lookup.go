package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Query is one event-history lookup.
type Query struct {
	// Scope is the "account/region" whose history is read (see
	// scope.Scope.String); empty reads every scope's.
	Scope string
	// Attribute and Value filter the records; an empty Attribute matches all.
	Attribute Attribute
	Value     string
	// Start and End bound eventTime, both inclusive; zero means unbounded.
	Start, End time.Time
	// Limit is the page size (at least 1).
	Limit int
	// After continues a previous page: only records older than it.
	After *Cursor
}

// Cursor is a position in the newest-first order of the history.
type Cursor struct {
	Time int64  // eventTime, Unix seconds
	Seq  uint64 // the record's number in the index (see Entry.ID)
}

// Result is one record found.
type Result struct {
	Seq    uint64
	Record *Record
	// JSON is the record as it was written to the audit log.
	JSON []byte
}

// Page is one page of results, newest first; Next is set when more records
// may follow.
type Page struct {
	Results []Result
	Next    *Cursor
}

// Lookup returns a page of the history, newest first (by eventTime, then by
// position in the audit log).
func (ix *Index) Lookup(ctx context.Context, q Query) (*Page, error) {
	if q.Limit < 1 {
		return nil, fmt.Errorf("audit: lookup: limit %d < 1", q.Limit)
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.Start.IsZero() {
		lo = q.Start.Unix()
		if q.Start.Nanosecond() > 0 {
			lo++ // eventTime has whole seconds
		}
	}
	if !q.End.IsZero() {
		hi = q.End.Unix()
	}
	// Nothing older than what was expired (a chunk may still list it).
	lo = max(lo, ix.expired.Load())
	// Records strictly before the cursor: time < cTime, or time = cTime and
	// seq < cSeq. Without a cursor every record qualifies.
	cTime, cSeq := int64(math.MaxInt64), int64(math.MaxInt64)
	if q.After != nil {
		cTime, cSeq = q.After.Time, int64(min(q.After.Seq, math.MaxInt64))
		hi = min(hi, cTime)
	}
	var scopeID int64
	if q.Scope != "" {
		id, err := ix.termID(ctx, ix.r, termKey{scopeAttr, q.Scope})
		if err != nil || id == 0 {
			return &Page{}, err
		}
		scopeID = id
	}
	var (
		sqlText strings.Builder
		args    []any
	)
	switch {
	case q.Attribute == "":
		// Every record (of the scope, or of every scope).
		found, err := ix.chunkLookup(ctx, allKey, scopeID, lo, hi, cTime, cSeq, q.Limit)
		if err != nil {
			return nil, err
		}
		return ix.page(ctx, q, found)
	default:
		if _, ok := attrCode[q.Attribute]; !ok {
			return nil, fmt.Errorf("audit: lookup: unknown attribute %q", q.Attribute)
		}
		if q.Attribute == AttrEventID {
			keys, err := ix.eventKeys(ctx, q.Value, lo, hi, scopeID)
			if err != nil || len(keys) == 0 {
				return &Page{}, err
			}
			sqlText.WriteString(`SELECT l.seq, l.time FROM lookup AS l
				WHERE l.key IN (?` + strings.Repeat(", ?", len(keys)-1) + `) AND (? = 0 OR l.scope = ?)
				AND l.time >= ? AND l.time <= ? AND (l.time < ? OR l.seq < ?)
				ORDER BY l.time DESC, l.seq DESC LIMIT ?`)
			args = append(keys, scopeID, scopeID, lo, hi, cTime, cSeq, q.Limit+1)
			break
		}
		key, err := lookupKey(ctx, attrValue{q.Attribute, q.Value}, 0, func(ctx context.Context, k termKey) (int64, error) {
			return ix.termID(ctx, ix.r, k)
		})
		if err != nil || key == 0 {
			return &Page{}, err
		}
		if chunked(q.Attribute) {
			found, err := ix.chunkLookup(ctx, key, scopeID, lo, hi, cTime, cSeq, q.Limit)
			if err != nil {
				return nil, err
			}
			return ix.page(ctx, q, found)
		}
		if q.Scope == "" {
			sqlText.WriteString(`SELECT l.seq, l.time FROM lookup AS l
				WHERE l.key = ? AND l.time >= ? AND l.time <= ? AND (l.time < ? OR l.seq < ?)
				ORDER BY l.time DESC, l.seq DESC LIMIT ?`)
			args = []any{key, lo, hi, cTime, cSeq, q.Limit + 1}
			break
		}
		sqlText.WriteString(`SELECT l.seq, l.time FROM lookup AS l
			WHERE l.key = ? AND l.scope = ? AND l.time >= ? AND l.time <= ? AND (l.time < ? OR l.seq < ?)
			ORDER BY l.scope DESC, l.time DESC, l.seq DESC LIMIT ?`)
		args = []any{key, scopeID, lo, hi, cTime, cSeq, q.Limit + 1}
	}
	rows, err := ix.r.QueryContext(ctx, sqlText.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("audit: lookup: %w", err)
	}
	// The rows are read before the records (which are read on another
	// connection of the pool).
	var found []Cursor
	for rows.Next() {
		var seq, t int64
		if err := rows.Scan(&seq, &t); err != nil {
			rows.Close()
			return nil, fmt.Errorf("audit: lookup: %w", err)
		}
		found = append(found, Cursor{Time: t, Seq: uint64(seq)})
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("audit: lookup: %w", err)
	}
	return ix.page(ctx, q, found)
}

// page reads the records found (up to q.Limit+1 of them, newest first)
// into a page of results.
func (ix *Index) page(ctx context.Context, q Query, found []Cursor) (*Page, error) {
	page := &Page{}
	g := &groupReader{ix: ix, q: ix.r}
	// The last row read: where the next page starts. (A row of a hashed
	// value's key may be another value's, and is read but not answered.)
	for i, c := range found {
		if i == q.Limit {
			page.Next = &found[i-1]
			break
		}
		raw, err := g.record(ctx, int64(c.Seq))
		if err != nil {
			return nil, fmt.Errorf("audit: lookup: %w", err)
		}
		if raw == nil {
			ix.log.Warn("audit: lookup: a record indexed is missing", "seq", c.Seq)
			continue
		}
		rec, err := ParseRecord(raw)
		if err != nil {
			// Indexed from its fields alone (see Apply), it is not a
			// record: it is not answered, and the history stays readable.
			ix.log.Warn("audit: lookup: skipping unreadable record", "seq", c.Seq, "err", err)
			continue
		}
		if hashed(q.Attribute) && !slices.Contains(lookupValues(rec), attrValue{q.Attribute, q.Value}) {
			continue
		}
		page.Results = append(page.Results, Result{Seq: c.Seq, Record: rec, JSON: raw})
	}
	return page, nil
}

// eventKeys lists the lookup keys of eventID in the days between lo and hi
// (Unix seconds), bounded by the days of the history of the scope (all
// scopes for 0).
func (ix *Index) eventKeys(ctx context.Context, eventID string, lo, hi, scopeID int64) ([]any, error) {
	var scopes []int64
	if scopeID != 0 {
		scopes = []int64{scopeID}
	} else {
		rows, err := ix.r.QueryContext(ctx, `SELECT id FROM terms WHERE attr = ?`, scopeAttr)
		if err != nil {
			return nil, fmt.Errorf("audit: lookup: scopes: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("audit: lookup: scopes: %w", err)
			}
			scopes = append(scopes, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("audit: lookup: scopes: %w", err)
		}
	}
	// The history's first and last times (one index seek each a scope).
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for _, sc := range scopes {
		// The oldest chunk's records are at most chunkSpan older than it.
		var f, l int64
		err := ix.r.QueryRowContext(ctx, `SELECT tmax FROM chunks WHERE key = ? AND scope = ? ORDER BY tmax LIMIT 1`, allKey, sc).Scan(&f)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		f -= chunkSpan
		if err == nil {
			err = ix.r.QueryRowContext(ctx, `SELECT tmax FROM chunks WHERE key = ? AND scope = ? ORDER BY tmax DESC LIMIT 1`, allKey, sc).Scan(&l)
		}
		if err != nil {
			return nil, fmt.Errorf("audit: lookup: time range: %w", err)
		}
		first, last = min(first, f), max(last, l)
	}
	lo, hi = max(lo, first), min(hi, last)
	if lo > hi {
		return nil, nil
	}
	var keys []any
	for d := dayOf(lo); d <= dayOf(hi); d++ {
		keys = append(keys, eventKey(eventID, d*secondsPerDay))
	}
	return keys, nil
}

// Present says which of recs (by eventID) are in the history of scope (an
// "account/region"), in one query. The records from audit-log sequence own
// on are the caller's own (an import's, which knows what it stored; 0: none
// are). When the history holds no record of a time within recs' but the
// caller's own (a log file of a time the history has not seen), none of
// recs can be in it, and nothing is looked up (the common case of an
// import: a record looked up costs more than a record indexed).
func (ix *Index) Present(ctx context.Context, scope string, recs []*Record, own uint64) (map[string]bool, error) {
	found := make(map[string]bool)
	if len(recs) == 0 {
		return found, nil
	}
	scopeID, err := ix.termID(ctx, ix.r, termKey{scopeAttr, scope})
	if err != nil || scopeID == 0 {
		return found, err
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, r := range recs {
		t := r.Time().Unix()
		lo, hi = min(lo, t), max(hi, t)
	}
	before := int64(math.MaxInt64)
	if own > 0 {
		before = Entry{Seq: own}.ID()
	}
	if held, err := ix.anyBefore(ctx, scopeID, lo, hi, before); err != nil || !held {
		return found, err
	}
	want := make(map[string]bool, len(recs))
	args := make([]any, 0, len(recs)+1)
	args = append(args, scopeID)
	for _, r := range recs {
		want[r.EventID] = true
		args = append(args, eventKey(r.EventID, r.Time().Unix()))
	}
	q := `SELECT seq FROM lookup WHERE scope = ? AND key IN (?` + strings.Repeat(", ?", len(recs)-1) + `)`
	rows, err := ix.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: look up event IDs: %w", err)
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fmt.Errorf("audit: look up event IDs: %w", err)
		}
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: look up event IDs: %w", err)
	}
	rows.Close()
	g := &groupReader{ix: ix, q: ix.r}
	for _, seq := range seqs {
		raw, err := g.record(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("audit: look up event IDs: %w", err)
		}
		if raw == nil {
			continue
		}
		// The key is a hash: the record says whose.
		rec, _, err := ParseRecordFields(raw)
		if err != nil {
			return nil, fmt.Errorf("audit: look up event IDs: record %d: %w", seq, err)
		}
		if want[rec.EventID] {
			found[rec.EventID] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: look up event IDs: %w", err)
	}
	return found, nil
}
