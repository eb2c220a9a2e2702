package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/klauspost/compress/zstd"

	"github.com/conveyor/conveyor/internal/store"
)

// Records are stored in the index in groups of up to groupSize consecutive
// ones (see Index.Apply), each group compressed with zstd and a dictionary
// of typical record text: the records of a group share most of their text
// (field names, identities, user agents, the account), so that an AWS
// record of 1,350 bytes takes about 95 bytes, where one compressed alone
// with S2 and a dictionary took 175. A lookup decompresses the groups of
// the records it answers (a group of 16 records in a few tens of
// microseconds). The dictionary is written into the index when the index is
// created and read back from it, so a change to defaultDictionary never
// makes an existing index unreadable.
//
// The default dictionary is Conveyor's own records; records of another
// shape (AWS's, imported: session contexts, TLS details, other services)
// share little with it. So once the index has applied learnSize bytes of
// records, those records become a second dictionary (raw records are the
// best dictionary for more of the same), kept in the index as the first one
// is, and the groups after them are compressed with it. A compressed
// group's first byte is its dictionary's ID, or frameGroup.
//
// An import's messages are compressed once, by the importer, with a
// dictionary of imported records kept in the audit log's dictionaries (see
// importCodec): the index stores such a message's data as it is, as the
// group of the message's records (frameGroup), and keeps a copy of its
// dictionary.

// zstd's fastest level: on AWS records a group takes 2% more than at its
// default level, compressed in a quarter of the time (3 µs a record).

// codec compresses and decompresses groups of records; safe for concurrent
// use. Close it when done.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
	cur byte // the dictionary groups are compressed with
}

// The dictionaries' IDs: the one the index was created with, and the one
// learned from its first records. (The audit log's dictionaries have IDs
// of minStreamDictID and more.)
const (
	dictID        = 1
	learnedDictID = 2
)

// frameGroup is the first byte of a group that is an import's message as
// the audit log holds it: its records framed by store.AppendBatch, then
// compressed with zstd and one of the audit log's dictionaries.
const frameGroup = 0

// learnSize is how much record text the learned dictionary holds.
const learnSize = 64 << 10

// groupSize is the most records a group holds.
const groupSize = 16

// newCodec returns a codec that reads groups compressed with any of dicts
// (record text, by ID) and compresses with the index's highest-numbered
// one (dictID or learnedDictID).
func newCodec(dicts map[uint32][]byte) (*codec, error) {
	z := &codec{}
	dopts := []zstd.DOption{zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(64 << 20)}
	for id, text := range dicts {
		if len(text) == 0 {
			return nil, fmt.Errorf("audit: record codec: dictionary %d is empty", id)
		}
		dopts = append(dopts, zstd.WithDecoderDictRaw(id, text))
		if id <= learnedDictID {
			z.cur = max(z.cur, byte(id))
		}
	}
	if z.cur == 0 {
		return nil, fmt.Errorf("audit: record codec: no dictionary")
	}
	dec, err := zstd.NewReader(nil, dopts...)
	if err != nil {
		return nil, fmt.Errorf("audit: record codec: %w", err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false),
		zstd.WithEncoderConcurrency(1), zstd.WithEncoderDictRaw(uint32(z.cur), dicts[uint32(z.cur)]))
	if err != nil {
		dec.Close()
		return nil, fmt.Errorf("audit: record codec: %w", err)
	}
	z.enc, z.dec = enc, dec
	return z, nil
}

func (c *codec) close() {
	c.dec.Close()
	_ = c.enc.Close()
}

func (c *codec) compress(group []byte) []byte {
	// Records compress to about a tenth (a quarter leaves room).
	dst := make([]byte, 1, 64+len(group)/4)
	dst[0] = c.cur
	return c.enc.EncodeAll(group, dst)
}

func (c *codec) decompress(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("audit: decompress records: empty")
	}
	out, err := c.dec.DecodeAll(b[1:], nil)
	if err != nil {
		return nil, fmt.Errorf("audit: decompress records: %w", err)
	}
	return out, nil
}

// groupRecord is one record of a group.
type groupRecord struct {
	seq  int64
	time int64
	json []byte
}

// appendGroup appends the group's text: for each record, its sequence
// after the group's first, its length, its JSON.
func appendGroup(dst []byte, recs []groupRecord) []byte {
	for _, r := range recs {
		dst = binary.AppendUvarint(dst, uint64(r.seq-recs[0].seq))
		dst = binary.AppendUvarint(dst, uint64(len(r.json)))
		dst = append(dst, r.json...)
	}
	return dst
}

// groupRecords reads the records of a group (as stored) whose first record
// is first.
func (c *codec) groupRecords(first int64, data []byte) ([]groupRecord, error) {
	raw, err := c.decompress(data)
	if err != nil {
		return nil, err
	}
	if data[0] != frameGroup {
		return parseGroup(first, raw)
	}
	var recs []groupRecord
	for rec := range store.Batched(raw) {
		recs = append(recs, groupRecord{seq: first + int64(len(recs)), json: rec})
	}
	return recs, nil
}

// parseGroup reads the records of a group's text whose first record is
// first.
func parseGroup(first int64, b []byte) ([]groupRecord, error) {
	var recs []groupRecord
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("audit: a group of records is corrupt")
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, fmt.Errorf("audit: a group of records is corrupt")
		}
		recs = append(recs, groupRecord{seq: first + int64(d), json: b[n : n+int(l)]})
		b = b[n+int(l):]
	}
	return recs, nil
}

// defaultDictionary is the text new indexes are given as dictionary: records
// of the common call shapes, whose field names and fixed values are most of
// every record.
func defaultDictionary() []byte {
	b, err := NewBuilder(Config{AccountID: "123456789012", Region: "us-east-1"})
	if err != nil {
		panic(err) // a constant configuration
	}
	b.newID = func() string { return "8c2fd9a6-6f4e-4b1c-9d3a-2e7f5a1b0c4d" }
	var buf bytes.Buffer
	for _, c := range []Call{
		{Service: "sqs", Operation: "GetQueueAttributes", Request: []byte(`{"QueueUrl":"http://127.0.0.1:4010/123456789012/q","AttributeNames":["All"]}`)},
		{Service: "cloudtrail", Operation: "LookupEvents", Request: []byte(`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"PutRule"}],"MaxResults":50}`)},
		{Service: "events", Operation: "DeleteRule", Request: []byte(`{"Name":"rule","EventBusName":"default"}`),
			ErrorCode: "ResourceNotFoundException", ErrorMessage: "Rule rule does not exist."},
		{Service: "events", Operation: "PutTargets", Request: []byte(`{"Rule":"rule","EventBusName":"default","Targets":[{"Id":"1","Arn":"arn:aws:events:us-east-1:123456789012:api-destination/d/u","RetryPolicy":{"MaximumRetryAttempts":3,"MaximumEventAgeInSeconds":3600}}]}`),
			Response: []byte(`{"FailedEntryCount":0,"FailedEntries":[]}`)},
		{Service: "events", Operation: "DescribeRule", Request: []byte(`{"Name":"rule","EventBusName":"default"}`)},
		{Service: "events", Operation: "PutRule", Request: []byte(`{"Name":"rule","EventPattern":"{\"source\":[\"aws.events\"],\"detail-type\":[\"AWS API Call via CloudTrail\"]}","State":"ENABLED","Description":"","EventBusName":"default"}`),
			Response: []byte(`{"RuleArn":"arn:aws:events:us-east-1:123456789012:rule/rule"}`)},
	} {
		c.AccessKeyID, c.SourceIP, c.UserAgent = "AKIAIOSFODNN7EXAMPLE", "127.0.0.1", "aws-cli/1.33.0 md/Botocore#1.34.0 ua/2.0 os/linux md/arch#x86_64 lang/python#3.11.7 aws-sdk-go-v2/1.48.0"
		c.RequestID = "0f1e2d3c-4b5a-4697-8877-665544332211"
		rec, _ := b.Build(c)
		raw, err := rec.Marshal()
		if err != nil {
			panic(err)
		}
		buf.Write(raw)
	}
	return buf.Bytes()
}

// decodeLogMessage appends to dst the decompressed data of an audit-log
// message of encoding enc (HeaderEncoding).
func (ix *Index) decodeLogMessage(enc string, data, dst []byte) ([]byte, error) {
	if enc != encodingZstd {
		return dst, fmt.Errorf("audit: unknown encoding %q", enc)
	}
	// Room for records that compressed to an eighth; DecodeAll would
	// otherwise copy dst to a slice of exactly its new length each time.
	dst = slices.Grow(dst, 8*len(data))
	out, err := ix.z.Load().dec.DecodeAll(data, dst)
	if err != nil {
		return dst, fmt.Errorf("audit: decompress a message: %w", err)
	}
	return out, nil
}
