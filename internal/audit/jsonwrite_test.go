package audit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/identity"
)

// marshalReflect is Marshal through encoding/json, as it was written before
// AppendJSON.
func (r *Record) marshalReflect() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// FuzzAppendJSON: a record written by hand is the record encoding/json
// writes, whatever its strings hold.
func FuzzAppendJSON(f *testing.F) {
	f.Add("PutRule", "aws-cli/2 <&>", "\u2028\x00\"\\\xff", `{"name":"r"}`, "AKID", true, uint8(3))
	f.Add("", "", "", ``, "", false, uint8(0))
	f.Add("ListRules", "é", "line\nbreak\ttab", `[1, 2 ,{"a" : null}]`, "", false, uint8(12))
	b, err := NewBuilder(Config{AccountID: "123456789012", Region: "us-east-1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op, agent, msg, params, key string, readOnly bool, shape uint8) {
		c := Call{Service: "events", Operation: op, AccessKeyID: key, UserAgent: agent, SourceIP: msg,
			RequestID: agent + msg, EventID: msg}
		if shape&1 != 0 {
			c.ErrorCode, c.ErrorMessage = "ValidationException", msg
		}
		if shape&2 != 0 {
			c.Identity = &identity.Principal{Type: identity.TypeAssumedRole, PrincipalID: "AROA:" + msg, ARN: agent,
				AccountID: "123456789012", RoleName: msg, RoleID: agent, SessionName: msg}
		}
		if shape&4 != 0 && json.Valid([]byte(params)) {
			c.Parameters = json.RawMessage(params)
		} else {
			c.Request = []byte(params)
		}
		if shape&8 != 0 && json.Valid([]byte(params)) {
			c.AdditionalEventData = json.RawMessage(params)
		}
		if shape&16 != 0 {
			c.Resources = []Resource{{Type: agent, ARN: msg}, {}}
		}
		rec, ok := b.Build(c)
		if !ok {
			return
		}
		rec.ReadOnly = readOnly
		got, err := rec.Marshal()
		want, wantErr := rec.marshalReflect()
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("Marshal error %v, encoding/json's %v", err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Marshal\n got %s\nwant %s", got, want)
		}
	})
}

// FuzzAppendIntent: an intent written by hand reads back as the Call
// encoding/json would have written.
func FuzzAppendIntent(f *testing.F) {
	f.Add("PutRule", "aws-cli/2 <&>", "\u2028\x00\"\\\xff", `{"name":"r"}`, uint8(3), int64(1764979200123456789))
	f.Add("", "", "", ``, uint8(0), int64(0))
	f.Fuzz(func(t *testing.T, op, agent, msg, params string, shape uint8, nanos int64) {
		c := Call{Service: "events", Operation: op, AccessKeyID: agent, UserAgent: agent, SourceIP: msg,
			RequestID: msg, EventID: agent, Region: msg, Time: time.Unix(0, nanos).In(time.FixedZone("x", int(nanos%50000)))}
		if shape&1 != 0 {
			c.ErrorCode, c.ErrorMessage = "ValidationException", msg
		}
		if shape&2 != 0 {
			c.Identity = &identity.Principal{Type: identity.TypeAssumedRole, PrincipalID: "AROA:" + msg, ARN: agent,
				AccountID: "123456789012", RoleName: msg, RoleID: agent, SessionName: msg}
		}
		if shape&4 != 0 && json.Valid([]byte(params)) {
			c.Parameters = json.RawMessage(params)
		}
		if shape&8 != 0 && json.Valid([]byte(params)) {
			c.AdditionalEventData = json.RawMessage(params)
		}
		if shape&16 != 0 {
			c.Resources = []Resource{{Type: agent, ARN: msg}, {}}
		}
		if shape&32 != 0 {
			c.Request = []byte(params)
		}
		if shape&64 != 0 {
			c.Account = msg
		}
		std, err := json.Marshal(&c)
		if err != nil {
			return // a time json cannot write
		}
		var got, want Call
		if err := json.Unmarshal(appendIntent(nil, &c), &got); err != nil {
			t.Fatalf("appendIntent(%+v): %v", c, err)
		}
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		// encoding/json escapes '<', '>' and '&' in them; appendIntent does
		// not: the same values.
		for _, m := range [][2]*json.RawMessage{{&got.Parameters, &want.Parameters}, {&got.AdditionalEventData, &want.AdditionalEventData}} {
			var a, b any
			_ = json.Unmarshal(*m[0], &a)
			_ = json.Unmarshal(*m[1], &b)
			if !reflect.DeepEqual(a, b) || (*m[0] == nil) != (*m[1] == nil) {
				t.Fatalf("intent: %s, want %s", *m[0], *m[1])
			}
			*m[0], *m[1] = nil, nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("intent\n got %+v\nwant %+v", got, want)
		}
	})
}

// FuzzAppendRaw checks that appendRaw writes valid JSON as json.Compact
// does: spaces inside strings kept, the others gone.
func FuzzAppendRaw(f *testing.F) {
	for _, s := range []string{`{"a": "b c", "d" : [1, 2]}`, `"x\" y"`, `{"k":"\\\\ "}`, "[\n\t1 ,\r\n2]", `{}`, ` true `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || !json.Valid(b) {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, b); err != nil {
			t.Fatal(err)
		}
		if got := appendRaw([]byte("x"), b); string(got) != "x"+want.String() {
			t.Fatalf("appendRaw(%q) = %q, want %q", b, got[1:], want.Bytes())
		}
	})
}
