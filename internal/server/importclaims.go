package server

import (
	"math"
	"sync"

	"github.com/conveyor/conveyor/internal/audit"
)

// importClaims is what the imports under way in this process know of each
// other, so that imports at once (`conveyor cloudtrail import` posts two
// files at a time) store a record found in both files once, as imports one
// after the other do.
//
// An import looks a batch's records up in the event history
// (audit.Index.Present) before it stores them; a record another import
// has stored and the index has not taken yet is not found there. So an
// import first claims each record it is to look up, by eventID: a record
// another import holds is counted present. An import gives its claims up
// when the index has taken its records, or when a record was not stored
// (a later copy of it may be). And since Present does not look up a
// record the history holds only from the import's own start on, an import
// whose batch's time range meets the records another one stored since
// then looks up every record of the batch.
type importClaims struct {
	mu     sync.Mutex
	tick   uint64 // counts starts and ends: how runs tell their order
	scopes map[string]*scopeImports
}

// scopeImports are the imports of one scope (account and region) under
// way, and those that ended while one of these ran.
type scopeImports struct {
	claims map[string]*importRun // eventID → the import that holds it
	runs   []*importRun
}

// importRun is one import as the others see it.
type importRun struct {
	scope   string
	started uint64   // tick of its start
	ended   uint64   // tick of its end; 0 while it runs
	stored  bool     // it stored a record; lo and hi are their times
	lo, hi  int64    // unix seconds
	held    []string // the eventIDs it claimed
}

func newImportClaims() *importClaims { return &importClaims{scopes: map[string]*scopeImports{}} }

// start registers an import of scope.
func (c *importClaims) start(scope string) *importRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	si := c.scopes[scope]
	if si == nil {
		si = &scopeImports{claims: map[string]*importRun{}}
		c.scopes[scope] = si
	}
	c.tick++
	r := &importRun{scope: scope, started: c.tick}
	si.runs = append(si.runs, r)
	return r
}

// claim takes, for r, the records of recs that no other import holds
// (mine, in order); taken holds the eventIDs of the others. meets says
// whether another import that ran since r started stored a record of a
// time within recs'.
func (c *importClaims) claim(r *importRun, recs []*audit.Record) (mine []*audit.Record, taken map[string]bool, meets bool) {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, rec := range recs {
		t := rec.Time().Unix()
		lo, hi = min(lo, t), max(hi, t)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	si := c.scopes[r.scope]
	taken = make(map[string]bool)
	mine = make([]*audit.Record, 0, len(recs))
	for _, rec := range recs {
		switch holder := si.claims[rec.EventID]; holder {
		case nil:
			si.claims[rec.EventID] = r
			r.held = append(r.held, rec.EventID)
			mine = append(mine, rec)
		case r:
			mine = append(mine, rec)
		default:
			taken[rec.EventID] = true
		}
	}
	for _, o := range si.runs {
		if o != r && o.stored && (o.ended == 0 || o.ended > r.started) && o.lo <= hi && lo <= o.hi {
			meets = true
			break
		}
	}
	return mine, taken, meets
}

// stored notes that r stored records of times from lo to hi.
func (c *importClaims) stored(r *importRun, lo, hi int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !r.stored {
		r.lo, r.hi, r.stored = lo, hi, true
		return
	}
	r.lo, r.hi = min(r.lo, lo), max(r.hi, hi)
}

// release gives up r's claim of id: the record was not stored.
func (c *importClaims) release(r *importRun, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if si := c.scopes[r.scope]; si.claims[id] == r {
		delete(si.claims, id)
	}
}

// end ends r. Its claims are given up when indexed says that the index has
// taken its records; otherwise they stay until no import of the scope
// runs, so that one running meanwhile does not store them again.
func (c *importClaims) end(r *importRun, indexed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	si := c.scopes[r.scope]
	c.tick++
	r.ended = c.tick
	if indexed {
		for _, id := range r.held {
			if si.claims[id] == r {
				delete(si.claims, id)
			}
		}
	}
	r.held = nil
	for _, o := range si.runs {
		if o.ended == 0 {
			return
		}
	}
	delete(c.scopes, r.scope)
}
