package audit

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// Records are stored in the index compressed with S2 and a dictionary of
// typical record text: a 700-byte record takes about 150 bytes, which makes
// the index a third of the size and its (re)build I/O-light, and S2 both
// compresses and decompresses a record in a microsecond or two (zstd, a
// little smaller, costs five times as much to compress, on the path of
// every record indexed). The dictionary is written into the index when the
// index is created and read back from it, so a change to defaultDictionary
// never makes an existing index unreadable.
//
// The default dictionary is Conveyor's own records; records of another
// shape (AWS's, imported: session contexts, TLS details, other services)
// share little with it. So once the index has applied learnSize bytes of
// records, those records become a second dictionary (raw records are the
// best dictionary for more of the same: a 1,350-byte AWS record then takes
// about 170 bytes instead of 560), kept in the index as the first one is,
// and the records after them are compressed with it. A compressed record's
// first byte is its dictionary's ID.

// codec compresses and decompresses records; safe for concurrent use.
type codec struct {
	dicts map[byte]*s2.Dict
	cur   byte // the dictionary records are compressed with
}

// The dictionaries' IDs: the one the index was created with, and the one
// learned from its first records.
const (
	dictID        = 1
	learnedDictID = 2
)

// learnSize is how much record text the learned dictionary holds (S2's
// largest dictionary).
const learnSize = s2.MaxDictSize

// newCodec returns a codec that reads records compressed with any of
// dicts (record text, by ID) and compresses with the highest-numbered one.
func newCodec(dicts map[byte][]byte) (*codec, error) {
	z := &codec{dicts: make(map[byte]*s2.Dict, len(dicts))}
	for id, text := range dicts {
		d := s2.MakeDict(text, []byte(`{"eventVersion":"`))
		if d == nil {
			return nil, fmt.Errorf("audit: record codec: dictionary %d of %d bytes is not usable", id, len(text))
		}
		z.dicts[id] = d
		z.cur = max(z.cur, id)
	}
	if len(z.dicts) == 0 {
		return nil, fmt.Errorf("audit: record codec: no dictionary")
	}
	return z, nil
}

func (c *codec) compress(rec []byte) []byte {
	out := make([]byte, 1+s2.MaxEncodedLen(len(rec)))
	out[0] = c.cur
	return out[:1+len(c.dicts[c.cur].Encode(out[1:], rec))]
}

func (c *codec) decompress(b []byte) ([]byte, error) {
	if len(b) == 0 || c.dicts[b[0]] == nil {
		return nil, fmt.Errorf("audit: decompress record: no dictionary for it")
	}
	out, err := c.dicts[b[0]].Decode(nil, b[1:])
	if err != nil {
		return nil, fmt.Errorf("audit: decompress record: %w", err)
	}
	return out, nil
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
