package inbound

import (
	"github.com/conveyor/conveyor/internal/clock"

	"github.com/conveyor/conveyor/internal/awsapi"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/scope"
)

// Limits of the inbound endpoints.
const (
	// MaxBodySize bounds a request body (an S3 notification may carry
	// several records).
	MaxBodySize = 1 << 20
	// MaxEventSize bounds one event as stored, EventBridge's 256 KB.
	MaxEventSize = 256 * 1024
)

// Putter stores an event (an EventBridge envelope as JSON) on a bus and
// returns once it is stored; the router implements it. A put of the same
// bytes on the same bus again within two minutes stores nothing new.
type Putter interface {
	PutEvent(ctx context.Context, bus string, event []byte) error
}

// Buses says which event buses exist (the router's fast view); the catalog
// is asked when it does not know a bus.
type Buses interface {
	HasBus(name string) bool
}

// Config is what the inbound endpoints work with.
type Config struct {
	// Credentials are accepted at the endpoints; with none, inbound
	// events are disabled (every request is answered 403).
	Credentials []Credential
	Putter      Putter
	Buses       Buses
	Catalog     *catalog.Catalog
	// Account and Region fill in events that lack them (and are S3
	// events' account and default region).
	Account, Region string
	Registerer      prometheus.Registerer
	Logger          *slog.Logger
	// Clock tells the time (the system's if nil).
	Clock clock.Clock
}

// Handler serves the inbound endpoints.
type Handler struct {
	cfg   Config
	creds []Credential
	log   *slog.Logger
	m     *metrics
}

// New returns the inbound endpoints' handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Putter == nil {
		return nil, errors.New("inbound: Putter is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Clock = clock.Or(cfg.Clock)
	for _, c := range cfg.Credentials {
		if (c.Header == "") == (c.Username == "") {
			return nil, errors.New("inbound: a credential is either an API key (Header, Value) or basic auth (Username, Password)")
		}
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, creds: cfg.Credentials, log: cfg.Logger.With("component", "inbound"), m: m}, nil
}

// Enabled reports whether any credential is configured.
func (h *Handler) Enabled() bool { return len(h.creds) > 0 }

// Paths of the endpoints.
const (
	EventPath = "POST /inbound/{bus}"
	S3Path    = "POST /inbound/s3/{bus}"
)

// Register adds the endpoints to mux: POST /inbound/{bus} (an EventBridge
// event) and POST /inbound/s3/{bus} (an S3 event notification).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc(EventPath, func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, "event", h.events) })
	mux.HandleFunc(S3Path, func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, "s3", h.s3Events) })
}

func badRequest(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "ValidationException", Message: fmt.Sprintf(format, args...)}
}

// errTooLarge is answered 413.
var errTooLarge = &awsapi.Error{Code: "RequestEntityTooLargeException", Message: "Request body is over " + strconv.Itoa(MaxBodySize) + " bytes."}

// ResultEntry is one stored event in an answer.
type ResultEntry struct {
	EventId string `json:"EventId"`
}

// Result is a 200 answer: the events stored, and for S3 notifications the
// records that have no EventBridge event (e.g. s3:ObjectAccessed:Get).
type Result struct {
	Entries          []ResultEntry `json:"Entries"`
	FailedEntryCount int           `json:"FailedEntryCount"`
	IgnoredRecords   int           `json:"IgnoredRecords,omitempty"`
}

// convert turns a request body into the events to store (envelopes as
// JSON, with their ids), and a count of ignored parts.
type convert func(bus string, body []byte) (events []stored, ignored int, err *awsapi.Error)

type stored struct {
	id   string
	data []byte
}

// serve authenticates, checks the bus, converts the body and stores every
// event before answering 200. Bad input changes nothing.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, endpoint string, conv convert) {
	bus := r.PathValue("bus")
	status, res, aerr := h.handle(r, bus, conv)
	h.m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	if aerr != nil {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="conveyor inbound", charset="UTF-8"`)
		}
		e := *aerr // the error may be shared (errTooLarge)
		e.Status = status
		awsapi.WriteError(w, &e)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	h.m.events.WithLabelValues(endpoint).Add(float64(len(res.Entries)))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(res)
}

func (h *Handler) handle(r *http.Request, bus string, conv convert) (int, *Result, *awsapi.Error) {
	ctx := r.Context()
	if status, aerr := h.authorize(r, bus); aerr != nil {
		return status, nil, aerr
	}
	if status, aerr := h.checkBus(ctx, bus); aerr != nil {
		return status, nil, aerr
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, nil, errTooLarge
		}
		return http.StatusBadRequest, nil, badRequest("Reading the request body failed: %v", err)
	}
	events, ignored, aerr := conv(bus, body)
	if aerr != nil {
		status := http.StatusBadRequest
		if aerr.Code == errTooLarge.Code {
			status = http.StatusRequestEntityTooLarge
		}
		return status, nil, aerr
	}
	res := &Result{Entries: make([]ResultEntry, 0, len(events)), IgnoredRecords: ignored}
	for _, ev := range events {
		if err := h.cfg.Putter.PutEvent(ctx, h.busID(bus), ev.data); err != nil {
			if errors.Is(err, catalog.ErrNotFound) {
				return http.StatusNotFound, nil, noBus(bus)
			}
			h.log.Error("storing an inbound event failed", "bus", bus, "event_id", ev.id, "err", err)
			return http.StatusInternalServerError, nil, &awsapi.Error{Code: "InternalException", Message: "Internal service error: the event was not stored; send it again."}
		}
		res.Entries = append(res.Entries, ResultEntry{EventId: ev.id})
	}
	return http.StatusOK, res, nil
}

func noBus(bus string) *awsapi.Error {
	return &awsapi.Error{Code: "ResourceNotFoundException", Message: "Event bus " + bus + " does not exist."}
}

// checkBus answers 404 for a bus that does not exist.
func (h *Handler) checkBus(ctx context.Context, bus string) (int, *awsapi.Error) {
	if !busRe.MatchString(bus) {
		return http.StatusNotFound, noBus(bus)
	}
	if h.cfg.Buses != nil && h.cfg.Buses.HasBus(h.busID(bus)) {
		return 0, nil
	}
	if h.cfg.Catalog == nil {
		return 0, nil // the Putter decides
	}
	if _, err := h.cfg.Catalog.In(h.scope()).Bus(ctx, bus); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return http.StatusNotFound, noBus(bus)
		}
		h.log.Error("inbound: looking up a bus failed", "bus", bus, "err", err)
		return http.StatusInternalServerError, &awsapi.Error{Code: "InternalException", Message: "Internal service error."}
	}
	return 0, nil
}

// scope is where inbound events go: Conveyor's account and region.
func (h *Handler) scope() scope.Scope {
	return scope.Scope{Account: h.cfg.Account, Region: h.cfg.Region}
}

// busID is the ID (catalog.BusID) of bus in the inbound scope.
func (h *Handler) busID(bus string) string {
	if h.cfg.Catalog == nil {
		return bus
	}
	return h.cfg.Catalog.BusID(h.scope(), bus)
}

// derivedID is a UUID-shaped id that is a digest of parts: the same input
// gets the same id, so a notification sent twice is stored once.
func derivedID(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{0})
		h.Write(p)
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50 // version 5 (name-based, SHA)
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
