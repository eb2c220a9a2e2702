package audit

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Most lookup values are shared by many records (an event name, a user, a
// resource type, read-only or not): a row of (key, scope, time, seq) for
// each of them took two thirds of the index. Their records are listed in
// chunks instead: a row per (key, scope) and up to an hour of records,
// holding the records' (time, seq) pairs newest first, delta-encoded (two
// or three bytes a record). The values with a record each, or nearly (an
// EventId, a resource's name or ARN), keep a row a record in the lookup
// table.

// allKey is the key under which chunks list every record (of a scope): no
// term's id (they are positive) nor hash (negative).
const allKey = 0

// chunked says whether an attribute's records are listed in chunks.
func chunked(a Attribute) bool {
	return a != AttrEventID && a != AttrResourceName
}

const (
	// chunkSpan bounds the time between a chunk's first and last records,
	// so that the chunks a time range needs are found by their newest time.
	chunkSpan = 3600
	// maxChunk bounds the records of a chunk (what a lookup decodes at
	// once).
	maxChunk = 1024
	// mergeChunk: a chunk with fewer records than this is extended by the
	// next records of its key (records applied one at a time share chunks).
	mergeChunk = maxChunk / 2
)

// posting is one record of a chunk.
type posting struct {
	time, seq int64
}

// newer orders postings newest first.
func newer(a, b posting) int {
	if c := cmp.Compare(b.time, a.time); c != 0 {
		return c
	}
	return cmp.Compare(b.seq, a.seq)
}

// chunkKey is the (key, scope) whose records a chunk lists.
type chunkKey struct {
	key, scope int64
}

// appendChunk encodes postings (newest first) after the first, which the
// row's columns hold.
func appendChunk(dst []byte, ps []posting) []byte {
	for i := 1; i < len(ps); i++ {
		dst = binary.AppendUvarint(dst, uint64(ps[i-1].time-ps[i].time))
		dst = binary.AppendVarint(dst, ps[i-1].seq-ps[i].seq)
	}
	return dst
}

// parseChunk decodes a chunk whose newest posting is first.
func parseChunk(first posting, data []byte) ([]posting, error) {
	ps := []posting{first}
	for len(data) > 0 {
		dt, n := binary.Uvarint(data)
		if n <= 0 {
			return nil, errors.New("audit: index: a chunk is corrupt")
		}
		data = data[n:]
		ds, n := binary.Varint(data)
		if n <= 0 {
			return nil, errors.New("audit: index: a chunk is corrupt")
		}
		data = data[n:]
		p := ps[len(ps)-1]
		ps = append(ps, posting{time: p.time - int64(dt), seq: p.seq - ds})
	}
	return ps, nil
}

// writeChunks adds the batch's postings to the chunks, extending the
// newest chunk of a key when it is small and the new postings are all newer
// than it and within its hour.
func writeChunks(ctx context.Context, tx *sql.Tx, batch map[chunkKey][]posting) error {
	if len(batch) == 0 {
		return nil
	}
	latest, err := tx.PrepareContext(ctx, `SELECT tmax, smax, tmin, n, data FROM chunks WHERE key = ? AND scope = ?
		ORDER BY tmax DESC, smax DESC LIMIT 1`)
	if err != nil {
		return fmt.Errorf("audit: index: read chunks: %w", err)
	}
	defer latest.Close()
	ins := &bulkInsert{sql: `INSERT INTO chunks (key, scope, tmax, smax, tmin, n, data) VALUES `, width: 7}
	defer ins.close()
	for k, ps := range batch {
		slices.SortFunc(ps, newer)
		var (
			tmax, smax, tmin, n int64
			old                 []byte
		)
		err := latest.QueryRowContext(ctx, k.key, k.scope).Scan(&tmax, &smax, &tmin, &n, &old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("audit: index: read a chunk: %w", err)
		case n < mergeChunk && newer(ps[len(ps)-1], posting{tmax, smax}) < 0 && ps[0].time-tmin <= chunkSpan:
			prev, err := parseChunk(posting{tmax, smax}, old)
			if err != nil {
				return err
			}
			ps = append(ps, prev...)
			if _, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE key = ? AND scope = ? AND tmax = ? AND smax = ?`,
				k.key, k.scope, tmax, smax); err != nil {
				return fmt.Errorf("audit: index: replace a chunk: %w", err)
			}
		}
		for len(ps) > 0 {
			end := 1
			for end < len(ps) && end < maxChunk && ps[0].time-ps[end].time <= chunkSpan {
				end++
			}
			c := ps[:end]
			ps = ps[end:]
			// A new slice each: the statement keeps its arguments until it
			// runs. Never nil: a chunk of one record has an empty blob, not
			// NULL.
			data := appendChunk(make([]byte, 0, 3*len(c)), c)
			if err := ins.add(ctx, tx, k.key, k.scope, c[0].time, c[0].seq, c[len(c)-1].time, len(c), data); err != nil {
				return fmt.Errorf("audit: index: store a chunk: %w", err)
			}
		}
	}
	if err := ins.flush(ctx, tx); err != nil {
		return fmt.Errorf("audit: index: store chunks: %w", err)
	}
	return nil
}

// eachChunk calls f for the chunks of key (scope 0: of every scope) that
// may list a record of a time in [lo, hi], newest first, until f says to
// stop: first is the chunk's newest record, postings decodes the chunk.
func (ix *Index) eachChunk(ctx context.Context, key, scope, lo, hi int64,
	f func(first posting, postings func() ([]posting, error)) (stop bool, err error)) error {
	top := hi
	if hi < math.MaxInt64-chunkSpan {
		top = hi + chunkSpan
	}
	q := `SELECT tmax, smax, tmin, data FROM chunks WHERE key = ? AND scope = ? AND tmax >= ? AND tmax <= ?
		ORDER BY tmax DESC, smax DESC`
	args := []any{key, scope, lo, top}
	if scope == 0 {
		q = `SELECT tmax, smax, tmin, data FROM chunks WHERE key = ? AND tmax >= ? AND tmax <= ?
			ORDER BY tmax DESC, smax DESC`
		args = []any{key, lo, top}
	}
	rows, err := ix.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("audit: chunks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			tmax, smax, tmin int64
			data             []byte
		)
		if err := rows.Scan(&tmax, &smax, &tmin, &data); err != nil {
			return fmt.Errorf("audit: chunks: %w", err)
		}
		if tmin > hi {
			continue
		}
		first := posting{tmax, smax}
		stop, err := f(first, func() ([]posting, error) { return parseChunk(first, data) })
		if err != nil || stop {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: chunks: %w", err)
	}
	return nil
}

// anyBefore says whether scope's history has a record of a time in
// [lo, hi] numbered below before (see Entry.ID), from the chunks that list
// every record: one query and the few chunks of that time.
func (ix *Index) anyBefore(ctx context.Context, scope, lo, hi, before int64) (bool, error) {
	found := false
	err := ix.eachChunk(ctx, allKey, scope, lo, hi, func(_ posting, postings func() ([]posting, error)) (bool, error) {
		ps, err := postings()
		if err != nil {
			return true, err
		}
		for _, p := range ps {
			if p.time >= lo && p.time <= hi && p.seq < before {
				found = true
				break
			}
		}
		return found, nil
	})
	return found, err
}

// chunkLookup lists the newest records of key in [lo, hi] before the
// cursor (cTime, cSeq), up to limit+1 of them, newest first; scope 0 reads
// every scope's.
func (ix *Index) chunkLookup(ctx context.Context, key, scope, lo, hi, cTime, cSeq int64, limit int) ([]Cursor, error) {
	cursor := posting{cTime, cSeq}
	var found []posting
	err := ix.eachChunk(ctx, key, scope, lo, hi, func(first posting, postings func() ([]posting, error)) (bool, error) {
		if len(found) > limit && newer(first, found[limit]) > 0 {
			// This chunk and the ones after it hold only older records.
			return true, nil
		}
		ps, err := postings()
		if err != nil {
			return true, err
		}
		for _, p := range ps {
			if p.time >= lo && p.time <= hi && newer(cursor, p) < 0 {
				found = append(found, p)
			}
		}
		slices.SortFunc(found, newer)
		found = found[:min(len(found), limit+1)]
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: lookup: %w", err)
	}
	out := make([]Cursor, len(found))
	for i, p := range found {
		out[i] = Cursor{Time: p.time, Seq: uint64(p.seq)}
	}
	return out, nil
}
