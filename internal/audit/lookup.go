package audit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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
		found []Cursor
		err   error
	)
	switch {
	case q.Attribute == "":
		// Every record (of the scope, or of every scope).
		found, err = ix.chunkLookup(ctx, allKey, scopeID, lo, hi, cTime, cSeq, q.Limit)
	case attrCode[q.Attribute] == 0:
		return nil, fmt.Errorf("audit: lookup: unknown attribute %q", q.Attribute)
	case !chunked(q.Attribute):
		found, err = ix.rowLookup(ctx, q.Attribute, q.Value, scopeID, lo, hi, cTime, cSeq, q.Limit)
	default:
		var key int64
		key, err = chunkKeyOf(ctx, attrValue{q.Attribute, q.Value}, func(ctx context.Context, k termKey) (int64, error) {
			return ix.termID(ctx, ix.r, k)
		})
		if err != nil || key == 0 {
			return &Page{}, err
		}
		found, err = ix.chunkLookup(ctx, key, scopeID, lo, hi, cTime, cSeq, q.Limit)
	}
	if err != nil {
		return nil, err
	}
	return ix.page(ctx, q, found)
}

// rowLookup lists the newest records of value (of an attribute with lookup
// rows) in [lo, hi] before the cursor (cTime, cSeq), up to limit+1 of them,
// newest first; scope 0 reads every scope's. It reads the epochs newest
// first, one, then two, four and so on at a time, until it has the page
// and the epochs left hold only older rows (an EventId's, all at once).
func (ix *Index) rowLookup(ctx context.Context, a Attribute, value string, scope, lo, hi, cTime, cSeq int64, limit int) ([]Cursor, error) {
	eps := ix.epochs.in(lo, hi)
	var (
		found []Cursor
		keys  []int64
		list  []byte
		h     = rowHash(value)
	)
	n := 1
	if a == AttrEventID {
		// An EventId names one record (or two: CloudTrail may deliver a
		// record twice): every epoch at once.
		n = len(eps)
	}
	for i := 0; i < len(eps); i, n = i+n, 2*n {
		if len(found) > limit && found[limit].Time > eps[i].tmax {
			break // the page is complete
		}
		keys = keys[:0]
		for _, e := range eps[i:min(len(eps), i+n)] {
			keys = append(keys, rowKey(e.id, a, h))
		}
		list = appendKeys(list[:0], keys...)
		rows, err := ix.rowsOf.QueryContext(ctx, string(list), scope, lo, hi, cTime, cSeq, limit+1)
		if err != nil {
			return nil, fmt.Errorf("audit: lookup: %w", err)
		}
		for rows.Next() {
			var c Cursor
			if err := rows.Scan(&c.Seq, &c.Time); err != nil {
				rows.Close()
				return nil, fmt.Errorf("audit: lookup: %w", err)
			}
			found = append(found, c)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("audit: lookup: %w", err)
		}
		slices.SortFunc(found, func(x, y Cursor) int {
			return newer(posting{x.Time, int64(x.Seq)}, posting{y.Time, int64(y.Seq)})
		})
		found = found[:min(len(found), limit+1)]
	}
	return found, nil
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
	for _, r := range recs {
		want[r.EventID] = true
	}
	eps := ix.epochs.in(lo, hi)
	var (
		seqs []int64
		list []byte
	)
	keys := make([]int64, len(recs))
	hashes := make([]uint32, len(recs))
	for i, r := range recs {
		hashes[i] = rowHash(r.EventID)
	}
	for _, e := range eps {
		for i := range recs {
			keys[i] = rowKey(e.id, AttrEventID, hashes[i])
		}
		list = appendKeys(list[:0], keys...)
		rows, err := ix.idsOf.QueryContext(ctx, scopeID, string(list))
		if err != nil {
			return nil, fmt.Errorf("audit: look up event IDs: %w", err)
		}
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return nil, fmt.Errorf("audit: look up event IDs: %w", err)
			}
			seqs = append(seqs, seq)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("audit: look up event IDs: %w", err)
		}
	}
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
	return found, nil
}
