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

	"github.com/conveyor/conveyor/audit"
)

// ImportPath is the endpoint `conveyor cloudtrail import` posts CloudTrail
// log files to. It is not an AWS API: it is answered only to clients on
// the loopback interface (an import writes history in other people's
// names), and it is not itself recorded as an API call.
const ImportPath = "/conveyor/cloudtrail/import"

// maxImportRecord bounds one record of an imported file (the audit log's
// message limit).
const maxImportRecord = 1 << 20

// ImportResult is the answer of ImportPath.
type ImportResult struct {
	// Imported records were appended to the audit log.
	Imported int
	// Present records were already in the event history (same eventID)
	// and were not appended again.
	Present int
	// ToBus records were put on the default bus (with ?toBus=true).
	ToBus int
	// Skipped records could not be imported.
	Skipped []ImportSkip `json:",omitempty"`
}

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
// every record is stored.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	if !loopback(r.RemoteAddr) {
		importError(w, http.StatusForbidden, "AccessDeniedException", "CloudTrail import is accepted from the loopback interface only.")
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
	res, err := s.importRecords(r.Context(), r.Body, toBus)
	if err != nil {
		importError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func (s *Server) importRecords(ctx context.Context, body io.Reader, toBus bool) (*ImportResult, error) {
	dec := json.NewDecoder(body)
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
			return nil, fmt.Errorf("Records is not a list: %w", err)
		}
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("record %d: %w", i, err)
			}
			if reason := s.importRecord(ctx, raw, toBus, res); reason != "" {
				res.Skipped = append(res.Skipped, ImportSkip{Index: i, Reason: reason})
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
	return res, nil
}

// importRecord imports one record; it returns why it did not.
func (s *Server) importRecord(ctx context.Context, raw []byte, toBus bool, res *ImportResult) string {
	if len(raw) > maxImportRecord {
		return fmt.Sprintf("record larger than %d bytes", maxImportRecord)
	}
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
	p, err := s.audit.Index().Lookup(ctx, audit.Query{Attribute: audit.AttrEventID, Value: rec.EventID, Limit: 1})
	if err != nil {
		return err.Error()
	}
	if len(p.Results) > 0 {
		res.Present++
	} else {
		if err := audit.AppendImported(ctx, s.store.JetStream(), rec, raw); err != nil {
			return err.Error()
		}
		res.Imported++
	}
	if toBus && rec.ManagementEvent {
		ev, err := audit.BusEvent(rec, raw)
		if err != nil {
			return err.Error()
		}
		if err := s.router.ForwardAPICall(ctx, ev, rec.ReadOnly); err != nil {
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
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
