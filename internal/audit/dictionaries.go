package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/nats-io/nats.go/jetstream"
)

// An import's messages are compressed with zstd. Without a dictionary an
// AWS record takes about 190 bytes; with a dictionary of the first records
// imported, about 100, in less time. The audit log must read without the
// index, so such a dictionary is kept beside it, in DictionaryBucket, under
// its ID (streamDictID: a hash of its text, never an index's own dictID or
// learnedDictID), which the zstd frame of every message compressed with it
// names. Each process learns one from the first learnSize bytes of
// records it imports, unless the bucket names one already ("current"). A
// process whose index meets a message of a dictionary it does not have
// reads it from the bucket, and keeps a copy in the index; the index then
// stores such a message as it is, as the group of its records.
//
// A dictionary is record text, which must not outlive the retention for
// long: a dictionary compresses for the retention after it was made (then
// imports compress without one while they learn the next), so its last
// message is older than twice the retention after it was made. Then (and a
// day more, for clocks that disagree) it leaves the bucket (see
// expireDictionaries) and the indexes (Index.dropDictionaries).

// DictionaryBucket is the key-value bucket of the audit log's dictionaries.
const DictionaryBucket = "conveyor-audit-dictionaries"

// currentDictKey names the ID of the dictionary imports compress with.
const currentDictKey = "current"

// defaultDictPatience is how long an index waits for a dictionary missing
// from the bucket before it skips the messages compressed with it.
const defaultDictPatience = 30 * time.Second

// minStreamDictID is the lowest ID of an audit log's dictionary.
const minStreamDictID = 1 << 15

// streamDictID is the ID of an audit log's dictionary of text dict.
func streamDictID(dict []byte) uint32 {
	h := fnv.New32a()
	h.Write(dict)
	return minStreamDictID + h.Sum32()%(1<<31-minStreamDictID)
}

// ensureDictionaries opens the dictionaries' bucket, creating it if needed.
func ensureDictionaries(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      DictionaryBucket,
		Description: "Conveyor audit log: the dictionaries its imported records are compressed with",
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("audit: dictionaries: %w", err)
	}
	return kv, nil
}

// errOtherDictionary: the bucket holds, under a dictionary's ID, a text
// whose ID is another.
var errOtherDictionary = errors.New("the bucket holds another text under its ID")

// readDictionary reads dictionary id from the bucket, and when it was
// made, and checks it is the text of that ID.
func readDictionary(ctx context.Context, kv jetstream.KeyValue, id uint32) ([]byte, time.Time, error) {
	e, err := kv.Get(ctx, strconv.FormatUint(uint64(id), 10))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("audit: dictionary %d: %w", id, err)
	}
	if streamDictID(e.Value()) != id {
		return nil, time.Time{}, fmt.Errorf("audit: dictionary %d: %w", id, errOtherDictionary)
	}
	return e.Value(), e.Created(), nil
}

// dictionaryGone is when a dictionary made at made leaves the bucket and
// the indexes, for a retention of maxAge.
func dictionaryGone(made time.Time, maxAge time.Duration) time.Time {
	return made.Add(2*maxAge + 24*time.Hour)
}

// expireDictionaries deletes from the bucket the dictionaries gone by now
// (see dictionaryGone), and returns how many.
func expireDictionaries(ctx context.Context, kv jetstream.KeyValue, maxAge time.Duration, now time.Time) (int, error) {
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit: dictionaries: %w", err)
	}
	defer keys.Stop() //nolint:errcheck // only stops the listing
	n := 0
	for key := range keys.Keys() {
		if key == currentDictKey {
			continue
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("audit: dictionary %s: %w", key, err)
		}
		if now.Before(dictionaryGone(e.Created(), maxAge)) {
			continue
		}
		if err := kv.Purge(ctx, key); err != nil {
			return n, fmt.Errorf("audit: dictionary %s: %w", key, err)
		}
		n++
	}
	return n, nil
}

// importCodec compresses an import's messages: without a dictionary (id
// 0) until the process has one, made at made.
type importCodec struct {
	enc  *zstd.Encoder
	id   uint32
	made time.Time
}

func newImportCodec(id uint32, dict []byte, made time.Time) *importCodec {
	opts := []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(2)}
	if id != 0 {
		opts = append(opts, zstd.WithEncoderDictRaw(id, dict))
	}
	// With these options NewWriter does not fail.
	enc, _ := zstd.NewWriter(nil, opts...)
	return &importCodec{enc: enc, id: id, made: made}
}

// importDictionary is the dictionary an import's messages are compressed
// with, and its learning.
type importDictionary struct {
	kv     jetstream.KeyValue
	maxAge time.Duration // how long a dictionary compresses
	codec  atomic.Pointer[importCodec]
	// replaced are the codecs replaced, closed at close (an import may
	// still be using one).
	mu       sync.Mutex
	replaced []*importCodec
	learning []byte // nil once learned, or while being stored
}

// openImportDictionary starts with the bucket's current dictionary, or
// without one, which it learns (also when the current one does not read:
// a new one replaces it).
func openImportDictionary(ctx context.Context, kv jetstream.KeyValue, maxAge time.Duration, log *slog.Logger) *importDictionary {
	d := &importDictionary{kv: kv, maxAge: maxAge}
	d.codec.Store(newImportCodec(0, nil, time.Time{}))
	c, err := currentDictionary(ctx, kv)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		d.learning = make([]byte, 0, learnSize)
	case err != nil:
		log.Warn("audit: the current dictionary of imported records does not read; learning another", "err", err)
		d.learning = make([]byte, 0, learnSize)
	default:
		d.use(c)
	}
	return d
}

// currentDictionary is the codec of the bucket's current dictionary.
func currentDictionary(ctx context.Context, kv jetstream.KeyValue) (*importCodec, error) {
	e, err := kv.Get(ctx, currentDictKey)
	if err != nil {
		return nil, fmt.Errorf("audit: dictionaries: %w", err)
	}
	id, err := strconv.ParseUint(string(e.Value()), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("audit: dictionaries: current %q: %w", e.Value(), err)
	}
	dict, made, err := readDictionary(ctx, kv, uint32(id))
	if err != nil {
		return nil, err
	}
	return newImportCodec(uint32(id), dict, made), nil
}

// encoder is the encoder of an import's messages now: without a
// dictionary, and learning a new one, once the current one is maxAge old.
func (d *importDictionary) encoder(now time.Time) *zstd.Encoder {
	c := d.codec.Load()
	if c.id == 0 || now.Sub(c.made) < d.maxAge {
		return c.enc
	}
	d.mu.Lock()
	if d.codec.Load() == c {
		d.replaced = append(d.replaced, d.codec.Swap(newImportCodec(0, nil, time.Time{})))
		d.learning = make([]byte, 0, learnSize)
	}
	d.mu.Unlock()
	return d.codec.Load().enc
}

func (d *importDictionary) use(c *importCodec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.replaced = append(d.replaced, d.codec.Swap(c))
}

// learn collects records' text; once it has learnSize bytes, it returns
// them (once), to be stored.
func (d *importDictionary) learn(recs []Imported) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.learning == nil {
		return nil
	}
	for _, r := range recs {
		d.learning = append(d.learning, r.JSON[:min(len(r.JSON), learnSize-len(d.learning))]...)
		if len(d.learning) == learnSize {
			dict := d.learning
			d.learning = nil
			return dict
		}
	}
	return nil
}

// store keeps dict in the bucket, makes it the current one, and compresses
// with it from then on.
func (d *importDictionary) store(ctx context.Context, dict []byte) error {
	id := streamDictID(dict)
	key := strconv.FormatUint(uint64(id), 10)
	if _, err := d.kv.Create(ctx, key, dict); errors.Is(err, jetstream.ErrKeyExists) {
		// Stored before (by another process, or before a restart): the
		// same text, or a hash's collision, which is left alone.
		e, err := d.kv.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("audit: dictionary %d: %w", id, err)
		}
		if !bytes.Equal(e.Value(), dict) {
			return fmt.Errorf("audit: dictionary %d: %w", id, errOtherDictionary)
		}
	} else if err != nil {
		return fmt.Errorf("audit: dictionary %d: %w", id, err)
	}
	if _, err := d.kv.Put(ctx, currentDictKey, []byte(key)); err != nil {
		return fmt.Errorf("audit: dictionary %d: %w", id, err)
	}
	d.use(newImportCodec(id, dict, time.Now()))
	return nil
}

func (d *importDictionary) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range append(d.replaced, d.codec.Load()) {
		_ = c.enc.Close()
	}
	d.replaced = nil
}

// streamDict reads the audit log's dictionary id from kv and keeps it in
// the index (and its codec).
func (ix *Index) streamDict(ctx context.Context, kv jetstream.KeyValue, id uint32) error {
	dict, made, err := readDictionary(ctx, kv, id)
	if err != nil {
		return err
	}
	return ix.keepStreamDict(ctx, id, dict, made)
}

// keepStreamDict keeps the audit log's dictionary id, made at made, in the
// index (and its codec).
func (ix *Index) keepStreamDict(ctx context.Context, id uint32, dict []byte, made time.Time) error {
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: index: keep dictionary %d: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for key, value := range map[string]any{"stream/": dict, "streammade/": made.Unix()} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			key+strconv.FormatUint(uint64(id), 10), value); err != nil {
			return fmt.Errorf("audit: index: keep dictionary %d: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: index: keep dictionary %d: %w", id, err)
	}
	ix.dictMu.Lock()
	defer ix.dictMu.Unlock()
	ix.dicts[id] = dict
	ix.dictsMade[id] = made
	return ix.useCodec()
}

// dropDictionaries drops from the index the audit log's dictionaries that
// are gone by now (see dictionaryGone), unless a group the index still
// holds was compressed with one (a record dated well after it was stored).
func (ix *Index) dropDictionaries(ctx context.Context, maxAge time.Duration, now time.Time) error {
	ix.dictMu.Lock()
	defer ix.dictMu.Unlock()
	gone := map[uint32]bool{}
	for id, made := range ix.dictsMade {
		if !now.Before(dictionaryGone(made, maxAge)) {
			gone[id] = true
		}
	}
	if len(gone) == 0 {
		return nil
	}
	used, err := ix.frameDictionaries(ctx)
	if err != nil {
		return err
	}
	for id := range gone {
		if used[id] {
			ix.log.Warn("audit index: a dictionary past its time still reads records the index holds; kept", "dictionary", id)
			continue
		}
		k := strconv.FormatUint(uint64(id), 10)
		if _, err := ix.w.ExecContext(ctx, `DELETE FROM meta WHERE key IN (?, ?)`, "stream/"+k, "streammade/"+k); err != nil {
			return fmt.Errorf("audit: index: drop dictionary %d: %w", id, err)
		}
		delete(ix.dicts, id)
		delete(ix.dictsMade, id)
	}
	return ix.useCodec()
}

// frameDictionaries says which dictionaries the groups that are messages
// kept as they are (frameGroup) name: it reads the start of each.
func (ix *Index) frameDictionaries(ctx context.Context) (map[uint32]bool, error) {
	rows, err := ix.w.QueryContext(ctx, `SELECT substr(data, 2, 32) FROM groups WHERE substr(data, 1, 1) = x'00'`)
	if err != nil {
		return nil, fmt.Errorf("audit: index: the groups' dictionaries: %w", err)
	}
	defer rows.Close()
	used := map[uint32]bool{}
	for rows.Next() {
		var head []byte
		if err := rows.Scan(&head); err != nil {
			return nil, fmt.Errorf("audit: index: the groups' dictionaries: %w", err)
		}
		var h zstd.Header
		if h.Decode(head) == nil {
			used[h.DictionaryID] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: index: the groups' dictionaries: %w", err)
	}
	return used, nil
}
