package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
)

// Archive states, as AWS spells them.
const (
	StateEnabled  = "ENABLED"
	StateDisabled = "DISABLED"
)

// Replay states.
const (
	ReplayStarting   = "STARTING"
	ReplayRunning    = "RUNNING"
	ReplayCancelling = "CANCELLING"
	ReplayCompleted  = "COMPLETED"
	ReplayCancelled  = "CANCELLED"
	ReplayFailed     = "FAILED"
)

// ManagedBy is the ManagedBy of archive rules.
const ManagedBy = "events.amazonaws.com"

// RulePrefix starts the name of every archive's managed rule.
const RulePrefix = "Events-Archive-"

// Archive is an archive's record.
type Archive struct {
	Name             string    `json:"Name"`
	ARN              string    `json:"Arn"`
	EventSourceArn   string    `json:"EventSourceArn"`
	Bus              string    `json:"Bus"`
	Description      string    `json:"Description,omitempty"`
	EventPattern     string    `json:"EventPattern,omitempty"`
	RetentionDays    int       `json:"RetentionDays"`
	KmsKeyIdentifier string    `json:"KmsKeyIdentifier,omitempty"`
	State            string    `json:"State"`
	StateReason      string    `json:"StateReason,omitempty"`
	CreationTime     time.Time `json:"CreationTime"`

	Revision uint64 `json:"-"`
}

// RuleName is the name of the archive's managed rule.
func (a *Archive) RuleName() string { return RulePrefix + a.Name }

// Replay is a replay's record.
type Replay struct {
	Name                  string      `json:"Name"`
	ARN                   string      `json:"Arn"`
	Description           string      `json:"Description,omitempty"`
	State                 string      `json:"State"`
	StateReason           string      `json:"StateReason,omitempty"`
	EventSourceArn        string      `json:"EventSourceArn"`
	Archive               string      `json:"Archive"`
	Bus                   string      `json:"Bus"`
	Destination           Destination `json:"Destination"`
	EventStartTime        time.Time   `json:"EventStartTime"`
	EventEndTime          time.Time   `json:"EventEndTime"`
	EventLastReplayedTime time.Time   `json:"EventLastReplayedTime,omitzero"`
	ReplayStartTime       time.Time   `json:"ReplayStartTime"`
	ReplayEndTime         time.Time   `json:"ReplayEndTime,omitzero"`
	// Runner identifies the process running the replay; it renews
	// Heartbeat while it runs, and another process takes a replay over
	// when the heartbeat is older than the lease.
	Runner    string    `json:"Runner,omitempty"`
	Heartbeat time.Time `json:"Heartbeat,omitzero"`
	// EndSeq is the archive stream's last sequence when the replay began
	// (the replay stops there); Position the last sequence replayed.
	EndSeq   uint64 `json:"EndSeq,omitempty"`
	Position uint64 `json:"Position,omitempty"`

	Revision uint64 `json:"-"`
}

// Destination is AWS's ReplayDestination.
type Destination struct {
	Arn        string   `json:"Arn"`
	FilterArns []string `json:"FilterArns,omitempty"`
}

// Finished reports whether the replay has ended.
func (r *Replay) Finished() bool {
	return r.State == ReplayCompleted || r.State == ReplayCancelled || r.State == ReplayFailed
}

// Bucket is the KV bucket of archives and replays.
const Bucket = "conveyor-archives"

func archiveKey(name string) string { return "archive." + store.Token(name) }
func replayKey(name string) string  { return "replay." + store.Token(name) }

// StreamName is the JetStream stream holding the events of archive name.
func StreamName(name string) string { return store.Name("ARCHIVE", name) }

// Subject is the subject events of archive name are stored on.
func Subject(name string) string { return store.Subject("conveyor.archive", name) }

// errKeep, from a mutate function, leaves the record as it is.
var errKeep = store.ErrKeep

// records is the KV bucket with typed access; the lists read its
// in-memory view.
type records struct {
	kv   jetstream.KeyValue
	view *store.Mirror[any]
}

func openRecords(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger) (*records, error) {
	kv, err := store.OpenKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Conveyor archives and replays",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("archive: open bucket %s: %w", Bucket, err)
	}
	view, err := store.NewMirror(ctx, js, kv, decodeRecord, log)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	return &records{kv: kv, view: view}, nil
}

// decodeRecord decodes a record of the bucket for the view: an *Archive or
// a *Replay.
func decodeRecord(e jetstream.KeyValueEntry) (any, error) {
	var v any
	switch {
	case strings.HasPrefix(e.Key(), "archive."):
		v = &Archive{Revision: e.Revision()}
	case strings.HasPrefix(e.Key(), "replay."):
		v = &Replay{Revision: e.Revision()}
	default:
		return nil, fmt.Errorf("archive: unknown key %q", e.Key())
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return nil, fmt.Errorf("archive: decode %s: %w", e.Key(), err)
	}
	return v, nil
}

// get decodes the record at key into v and returns its revision (0 when
// there is none).
func (r *records) get(ctx context.Context, key string, v any) (uint64, error) {
	e, err := r.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("archive: get %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("archive: decode %s: %w", key, err)
	}
	return e.Revision(), nil
}

// mutate applies fn to the record at key in a compare-and-set loop (see
// store.Mutate): fn gets the current value (nil if none) and returns the
// value to store, nil to delete, errKeep to leave it, or an error.
func mutate[T any](ctx context.Context, r *records, key string, fn func(cur *T) (*T, error)) (*T, error) {
	codec := store.Codec[T]{
		Decode: func(e jetstream.KeyValueEntry) (*T, error) {
			v := new(T)
			if err := json.Unmarshal(e.Value(), v); err != nil {
				return nil, fmt.Errorf("archive: decode %s: %w", key, err)
			}
			return v, nil
		},
		Encode: func(v *T) ([]byte, error) { return json.Marshal(v) },
	}
	next, _, err := store.Mutate(ctx, r.kv, key, codec, func(cur *T, _ uint64) (*T, error) { return fn(cur) })
	return next, err
}

// list returns the records of a group of keys ("archive" or "replay") from
// the bucket's in-memory view, sorted by name. The records are the view's
// own: callers read them and must not change them.
func list[T any](ctx context.Context, r *records, group string, name func(*T) string) ([]*T, error) {
	vs, err := r.view.List(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("archive: list: %w", err)
	}
	out := make([]*T, 0, len(vs))
	for _, v := range vs {
		if t, ok := v.(*T); ok {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *T) int { return strings.Compare(name(a), name(b)) })
	return out, nil
}
