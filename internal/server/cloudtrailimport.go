package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/scope"
)

// ImportPath is the endpoint `conveyor cloudtrail import` posts CloudTrail
// log files to. It is not an AWS API: it is answered only to clients on
// the loopback interface (an import writes history in other people's
// names), and it is not itself recorded as an API call.
const ImportPath = "/conveyor/cloudtrail/import"

// maxImportRecord bounds one record of an imported file (the audit log's
// message limit), and any other value of the file: the reader (logReader)
// never holds more than this (and a read's worth) of the body at once.
const maxImportRecord = 1 << 20

// DefaultMaxImportBytes bounds one imported file (Config.MaxImportBytes):
// CloudTrail's log files, five minutes of an account's calls each, are far
// smaller.
const DefaultMaxImportBytes = 512 << 20

// maxImportSkips bounds the reasons an import answers: a file of a million
// unusable records is counted, not described a million times.
const maxImportSkips = 100

// ImportResult is the answer of ImportPath.
type ImportResult struct {
	// Imported records were appended to the audit log.
	Imported int
	// Present records were already in the event history (same eventID)
	// and were not appended again.
	Present int
	// ToBus records were put on the default bus (with ?toBus=true).
	ToBus int
	// SkippedCount records could not be imported; Skipped says why, for
	// the first hundred.
	SkippedCount int
	Skipped      []ImportSkip `json:",omitempty"`

	// lastManagement is the audit-log sequence of the last management
	// record imported, which the answer waits for in the event history.
	lastManagement uint64
}

// importIndexWait bounds how long an import's answer waits for the event
// history to show what it imported (the records are stored either way).
const importIndexWait = 10 * time.Second

// ImportSkip says why one record of the file was not imported.
type ImportSkip struct {
	Index  int
	Reason string
}

// handleImport reads a CloudTrail log file ({"Records":[…]}, uncompressed)
// record by record and appends each record, as written, to the audit log,
// a thousand at a time (see importer); with ?toBus=true each management record is
// also put on the default bus as the forwarder puts API calls (source
// aws.<service>, detail-type "AWS API Call via CloudTrail"; a read-only
// call reaches only rules in state
// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS). The answer comes once
// every record is stored and the event history shows the management ones
// (or after importIndexWait).
//
// The body is read as a stream, and bounded: a file over
// Config.MaxImportBytes, or a record (any value of the file) over 1 MiB,
// ends the import with RequestEntityTooLargeException (413) without being
// buffered; the records before it stay imported (importing the file again
// counts them as present).
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	if !loopback(r.RemoteAddr) {
		importError(w, http.StatusForbidden, "AccessDeniedException", "CloudTrail import is accepted from the loopback interface only.")
		return
	}
	sc, aerr := s.authenticateImport(r)
	if aerr != nil {
		importError(w, aerr.Status, aerr.Code, aerr.Message)
		return
	}
	toBus := false
	if v := r.URL.Query().Get("toBus"); v != "" {
		var err error
		if toBus, err = strconv.ParseBool(v); err != nil {
			importError(w, http.StatusBadRequest, "ValidationException", "toBus must be true or false.")
			return
		}
	}
	limit := s.cfg.MaxImportBytes
	if limit <= 0 {
		limit = DefaultMaxImportBytes
	}
	if r.ContentLength > limit {
		importError(w, http.StatusRequestEntityTooLarge, awsapi.CodeRequestEntityTooLargeException, bodyTooLarge(limit))
		return
	}
	res, err := s.importRecords(r.Context(), http.MaxBytesReader(w, r.Body, limit), sc, toBus)
	var bodyErr *http.MaxBytesError
	var recordErr *recordTooLarge
	switch {
	case errors.As(err, &bodyErr):
		importError(w, http.StatusRequestEntityTooLarge, awsapi.CodeRequestEntityTooLargeException, bodyTooLarge(limit))
		return
	case errors.As(err, &recordErr):
		importError(w, http.StatusRequestEntityTooLarge, awsapi.CodeRequestEntityTooLargeException, recordErr.Error())
		return
	case errors.Is(err, errValueTooLarge):
		importError(w, http.StatusRequestEntityTooLarge, awsapi.CodeRequestEntityTooLargeException,
			fmt.Sprintf("A value of the file is larger than the limit of %d bytes.", maxImportRecord))
		return
	case err != nil:
		importError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func bodyTooLarge(limit int64) string {
	return fmt.Sprintf("Request body is larger than the limit of %d bytes.", limit)
}

// errValueTooLarge: a value of the file is over the decoder's bound.
var errValueTooLarge = errors.New("import: a value of the file is too large")

// recordTooLarge: record index of the file is over maxImportRecord bytes.
type recordTooLarge struct{ index int }

func (e *recordTooLarge) Error() string {
	return fmt.Sprintf("Record %d is larger than the limit of %d bytes.", e.index, maxImportRecord)
}

func (s *Server) importRecords(ctx context.Context, body io.Reader, sc scope.Scope, toBus bool) (*ImportResult, error) {
	res := &ImportResult{}
	imp := &importer{s: s, sc: sc, toBus: toBus, res: res, seen: make(map[string]bool)}
	// The import registers before it reads where its own records begin:
	// an import registered after that is known to it as one running.
	imp.run = s.imports.start(sc.String())
	indexed := false
	defer func() { s.imports.end(imp.run, indexed) }()
	own, err := s.audit.NextSeq(ctx)
	if err != nil {
		return nil, err
	}
	imp.ownFrom = own
	err = imp.read(ctx, body)
	// The records read before an error are imported too.
	imp.send(ctx)
	imp.finish(ctx)
	// The answer comes when LookupEvents finds what was imported: a
	// lookup right after an import sees it.
	indexed = ctx.Err() == nil
	if res.lastManagement > 0 && indexed {
		wctx, cancel := context.WithTimeout(ctx, importIndexWait)
		defer cancel()
		if werr := s.audit.Index().WaitFor(wctx, res.lastManagement); werr != nil {
			indexed = false
			s.log.Warn("cloudtrail import: the event history has not caught up yet", "seq", res.lastManagement, "err", werr)
		}
	}
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	slices.SortFunc(res.Skipped, func(a, b ImportSkip) int { return cmp.Compare(a.Index, b.Index) })
	return res, nil
}

// read reads the file's records into the importer.
func (imp *importer) read(ctx context.Context, body io.Reader) error {
	lr := newLogReader(body, maxImportRecord)
	if err := lr.expect('{'); err != nil {
		return fmt.Errorf("not a CloudTrail log file ({\"Records\":[…]}): %w", err)
	}
	found := false
	for first := true; ; first = false {
		c, err := lr.peek()
		if err != nil {
			return fmt.Errorf("not a CloudTrail log file: %w", err)
		}
		if first && c == '}' {
			lr.off++
			break
		}
		key, err := lr.value(errValueTooLarge)
		if err != nil {
			return fmt.Errorf("not a CloudTrail log file: %w", err)
		}
		var name string
		if err := json.Unmarshal(key, &name); err != nil {
			return fmt.Errorf("not a CloudTrail log file: a member's name is not a string")
		}
		if err := lr.expect(':'); err != nil {
			return fmt.Errorf("not a CloudTrail log file: %w", err)
		}
		if name == "Records" {
			found = true
			if err := imp.readRecords(ctx, lr); err != nil {
				return err
			}
		} else if _, err := lr.value(errValueTooLarge); err != nil {
			return fmt.Errorf("not a CloudTrail log file: %w", err)
		}
		if c, err = lr.peek(); err != nil {
			return fmt.Errorf("not a CloudTrail log file: %w", err)
		}
		lr.off++
		if c == '}' {
			break
		}
		if c != ',' {
			return fmt.Errorf("not a CloudTrail log file: found %q after a member", c)
		}
	}
	if !found {
		return errors.New(`not a CloudTrail log file: no "Records"`)
	}
	return nil
}

// readRecords reads the list of records.
func (imp *importer) readRecords(ctx context.Context, lr *logReader) error {
	if err := lr.expect('['); err != nil {
		//lint:ignore ST1005 Records is the member's name
		return fmt.Errorf("Records is not a list: %w", err)
	}
	c, err := lr.peek()
	if err != nil {
		return fmt.Errorf("not a CloudTrail log file: %w", err)
	}
	if c == ']' {
		lr.off++
		return nil
	}
	for i := 0; ; i++ {
		raw, err := lr.value(&recordTooLarge{index: i})
		var tooLarge *recordTooLarge
		if errors.As(err, &tooLarge) {
			return err
		}
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		imp.add(ctx, i, raw)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if c, err = lr.peek(); err != nil {
			return fmt.Errorf("not a CloudTrail log file: %w", err)
		}
		lr.off++
		switch c {
		case ']':
			return nil
		case ',':
		default:
			return fmt.Errorf("not a CloudTrail log file: found %q after record %d", c, i)
		}
	}
}

// importBatch is how many records an import publishes before it waits for
// their acknowledgements.
const importBatch = 1000

// importer appends a file's records in batches: each batch's records are
// checked against the event history in one query and published together
// (see audit.Audit.AppendImportedAsync); while a batch is on its way, the next
// one is read. A record's error can come after records behind it in the
// file were read.
type importer struct {
	s     *Server
	sc    scope.Scope
	toBus bool
	res   *ImportResult
	// seen holds the eventIDs of the import's records so far: a record
	// twice in the files is present the second time.
	seen     map[string]bool
	batch    []importItem
	inFlight *sentBatch
	// run is the import as the others under way see it (importClaims).
	run *importRun
	// ownFrom is the audit-log sequence the import's records come from on:
	// the history's records from there are the import's own, which seen
	// covers, or stored meanwhile by others (see audit.Index.Present).
	ownFrom uint64
}

type importItem struct {
	index int
	rec   audit.Imported
}

// sentBatch is a batch published, waiting for its acknowledgements.
type sentBatch struct {
	items   []importItem // all of the batch's records
	appends []importItem // those published
	pub     *audit.ImportBatch
}

// add takes record i of the file (compacted: see logReader), sending the
// batch when it is full.
func (imp *importer) add(ctx context.Context, i int, raw []byte) {
	rec, hasManagementEvent, err := audit.ParseRecordFields(raw)
	if err != nil || rec.EventID == "" || rec.EventSource == "" || rec.EventName == "" || rec.Time().IsZero() {
		imp.skip(i, "not a CloudTrail record (eventID, eventSource, eventName and eventTime are required)")
		return
	}
	if !hasManagementEvent {
		// Records written before managementEvent existed (eventVersion
		// < 1.06) are management events; the field is added so that the
		// event history, which reads the record, sees one too.
		rec.ManagementEvent = true
		raw = append(raw[:len(raw)-1:len(raw)-1], `,"managementEvent":true}`...)
	}
	imp.batch = append(imp.batch, importItem{index: i, rec: audit.Imported{Record: rec, JSON: raw}})
	if len(imp.batch) == importBatch {
		imp.send(ctx)
	}
}

func (imp *importer) skip(i int, reason string) {
	imp.res.SkippedCount++
	if len(imp.res.Skipped) < maxImportSkips {
		imp.res.Skipped = append(imp.res.Skipped, ImportSkip{Index: i, Reason: reason})
	}
}

// send publishes the batch's records that are neither in the history nor
// earlier in the import (those are counted present), after the batch before
// it is finished.
func (imp *importer) send(ctx context.Context) {
	if len(imp.batch) == 0 {
		return
	}
	items := imp.batch
	imp.batch = make([]importItem, 0, importBatch)
	// The records not seen earlier in the import are claimed (see
	// importClaims); those another import holds are present, and the rest
	// are looked up in the history.
	fresh := make([]*audit.Record, 0, len(items))
	for _, it := range items {
		if r := it.rec.Record; !imp.seen[r.EventID] {
			fresh = append(fresh, r)
		}
	}
	recs, elsewhere, meets := imp.s.imports.claim(imp.run, fresh)
	own := imp.ownFrom
	if meets {
		own = 0 // records another import stored since this one began count
	}
	present, err := imp.s.audit.Index().Present(ctx, imp.sc.String(), recs, own)
	imp.finish(ctx)
	if err != nil {
		for _, r := range recs {
			imp.s.imports.release(imp.run, r.EventID) // not stored
		}
		for _, it := range items {
			imp.skip(it.index, err.Error())
		}
		return
	}
	sb := &sentBatch{items: items}
	var appends []audit.Imported
	for _, it := range items {
		id := it.rec.Record.EventID
		if imp.seen[id] || present[id] || elsewhere[id] {
			imp.res.Present++
		} else {
			sb.appends = append(sb.appends, it)
			appends = append(appends, it.rec)
		}
		imp.seen[id] = true
	}
	sb.pub = imp.s.audit.AppendImportedAsync(imp.sc, appends)
	imp.inFlight = sb
}

// finish waits for the batch in flight: counts what was stored and, with
// toBus, puts the batch's management records on the bus.
func (imp *importer) finish(ctx context.Context) {
	sb := imp.inFlight
	if sb == nil {
		return
	}
	imp.inFlight = nil
	failed := make(map[int]bool)
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for k, a := range sb.pub.Wait(ctx) {
		it := sb.appends[k]
		if a.Err != nil {
			// Not stored: a later copy of it may be imported.
			delete(imp.seen, it.rec.Record.EventID)
			imp.s.imports.release(imp.run, it.rec.Record.EventID)
			failed[it.index] = true
			imp.skip(it.index, a.Err.Error())
			continue
		}
		t := it.rec.Record.Time().Unix()
		lo, hi = min(lo, t), max(hi, t)
		imp.res.Imported++
		if it.rec.Record.ManagementEvent {
			imp.res.lastManagement = max(imp.res.lastManagement, a.Seq)
		}
	}
	if lo <= hi {
		imp.s.imports.stored(imp.run, lo, hi)
	}
	if !imp.toBus {
		return
	}
	for _, it := range sb.items {
		rec := it.rec.Record
		if failed[it.index] || !rec.ManagementEvent {
			continue
		}
		ev, err := audit.BusEvent(rec, it.rec.JSON)
		if err != nil {
			imp.skip(it.index, err.Error())
			continue
		}
		if err := imp.s.router.ForwardAPICall(ctx, imp.sc, ev, rec.ReadOnly); err != nil {
			imp.skip(it.index, fmt.Sprintf("not put on the bus: %v", err))
			continue
		}
		imp.res.ToBus++
	}
}

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func importError(w http.ResponseWriter, status int, code, msg string) {
	awsapi.WriteError(w, &awsapi.Error{Code: code, Message: msg, Status: status})
}
