package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
// message limit), and any other value of the file: the decoder never holds
// more than this (and a little whitespace) of the body at once.
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
// record by record and appends each record, as written, to the audit log
// (see audit.AppendImported); with ?toBus=true each management record is
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

// valueLimit is the body as the import's decoder reads it: the decoder may
// hold at most limit bytes past its position (the start of the value it
// decodes), so an oversized value ends the import with errValueTooLarge
// instead of being buffered whole.
type valueLimit struct {
	r     io.Reader
	dec   *json.Decoder
	read  int64
	limit int64
}

func (v *valueLimit) Read(p []byte) (int, error) {
	room := v.dec.InputOffset() + v.limit - v.read
	if room <= 0 {
		return 0, errValueTooLarge
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := v.r.Read(p)
	v.read += int64(n)
	return n, err
}

// importSlack is the whitespace a value may carry before it within the
// decoder's bound.
const importSlack = 64 << 10

func (s *Server) importRecords(ctx context.Context, body io.Reader, sc scope.Scope, toBus bool) (*ImportResult, error) {
	vl := &valueLimit{r: body, limit: maxImportRecord + importSlack}
	dec := json.NewDecoder(vl)
	vl.dec = dec
	if err := expectDelim(dec, '{'); err != nil {
		return nil, fmt.Errorf("not a CloudTrail log file ({\"Records\":[…]}): %w", err)
	}
	res := &ImportResult{}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not a CloudTrail log file: %w", err)
		}
		if tok != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("not a CloudTrail log file: %w", err)
			}
			continue
		}
		found = true
		if err := expectDelim(dec, '['); err != nil {
			//lint:ignore ST1005 Records is the member's name
			return nil, fmt.Errorf("Records is not a list: %w", err)
		}
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if errors.Is(err, errValueTooLarge) || err == nil && len(raw) > maxImportRecord {
				return nil, &recordTooLarge{index: i}
			}
			if err != nil {
				return nil, fmt.Errorf("record %d: %w", i, err)
			}
			if reason := s.importRecord(ctx, raw, sc, toBus, res); reason != "" {
				res.SkippedCount++
				if len(res.Skipped) < maxImportSkips {
					res.Skipped = append(res.Skipped, ImportSkip{Index: i, Reason: reason})
				}
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("not a CloudTrail log file: %w", err)
		}
	}
	if !found {
		return nil, errors.New(`not a CloudTrail log file: no "Records"`)
	}
	// The answer comes when LookupEvents finds what was imported: a
	// lookup right after an import sees it.
	if res.lastManagement > 0 {
		wctx, cancel := context.WithTimeout(ctx, importIndexWait)
		defer cancel()
		if err := s.audit.Index().WaitFor(wctx, res.lastManagement); err != nil {
			s.log.Warn("cloudtrail import: the event history has not caught up yet", "seq", res.lastManagement, "err", err)
		}
	}
	return res, nil
}

// importRecord imports one record; it returns why it did not.
func (s *Server) importRecord(ctx context.Context, raw []byte, sc scope.Scope, toBus bool, res *ImportResult) string {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return err.Error()
	}
	raw = compact.Bytes()
	rec, err := audit.ParseRecord(raw)
	if err != nil || rec.EventID == "" || rec.EventSource == "" || rec.EventName == "" || rec.Time().IsZero() {
		return "not a CloudTrail record (eventID, eventSource, eventName and eventTime are required)"
	}
	var flags struct{ ManagementEvent *bool }
	if json.Unmarshal(raw, &flags) == nil && flags.ManagementEvent == nil {
		// Records written before managementEvent existed (eventVersion
		// < 1.06) are management events; the field is added so that the
		// event history, which reads the record, sees one too.
		rec.ManagementEvent = true
		raw = append(raw[:len(raw)-1:len(raw)-1], `,"managementEvent":true}`...)
	}
	p, err := s.audit.Index().Lookup(ctx, audit.Query{Scope: sc.String(), Attribute: audit.AttrEventID, Value: rec.EventID, Limit: 1})
	if err != nil {
		return err.Error()
	}
	if len(p.Results) > 0 {
		res.Present++
	} else {
		seq, err := audit.AppendImported(ctx, s.store.JetStream(), sc, rec, raw)
		if err != nil {
			return err.Error()
		}
		res.Imported++
		if rec.ManagementEvent {
			res.lastManagement = max(res.lastManagement, seq)
		}
	}
	if toBus && rec.ManagementEvent {
		ev, err := audit.BusEvent(rec, raw)
		if err != nil {
			return err.Error()
		}
		if err := s.router.ForwardAPICall(ctx, sc, ev, rec.ReadOnly); err != nil {
			return fmt.Sprintf("not put on the bus: %v", err)
		}
		res.ToBus++
	}
	return ""
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("found %v where %v was expected", tok, d)
	}
	return nil
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
