package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// fieldsOf is the part of a record ParseRecordFields decodes.
func fieldsOf(r *Record) Record {
	id := r.UserIdentity
	id.SessionContext = nil
	return Record{EventTime: r.EventTime, EventSource: r.EventSource, EventName: r.EventName, AWSRegion: r.AWSRegion,
		EventID: r.EventID, ReadOnly: r.ReadOnly, ManagementEvent: r.ManagementEvent,
		RecipientAccountID: r.RecipientAccountID, UserIdentity: id, Resources: r.Resources}
}

// ParseRecordFields decodes its fields as ParseRecord does, and fails
// where ParseRecord fails.
func TestParseRecordFields(t *testing.T) {
	inputs := []string{
		`{}`,
		`{"eventID":"a","eventTime":"2026-11-20T09:12:41Z","managementEvent":false,"readOnly":true}`,
		`{"EVENTID":"upper","eventid":"lower wins","readonly":true,"ManagementEvent":true}`,
		`{"eventName":"Put\u0052ule","eventSource":"s3.amazon\naws.com","awsRegion":"été","recipientAccountId":null}`,
		`{"eventName":"bad \xff utf-8","userIdentity":{"type":"AssumedRole","principalId":"AROA:bob","sessionContext":{"sessionIssuer":{"type":"Role"},"attributes":{"x":[1,{"y":"}]"}]}},"userName":"u"}}`,
		`{"resources":[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::b","accountId":"1"},null,{"arn":"lower"}],"requestParameters":{"a":[1,2,{"b":"\"]}"}]},"n":-1.5e3,"t":true,"f":false,"z":null}`,
		` { "eventID" : "spaced" , "resources" : [ ] , "userIdentity" : null , "readOnly" : null } `,
		`{"resources":null,"userIdentity":{}}`,
		// Wrong types: errors both ways.
		`{"eventID":1}`,
		`{"readOnly":"true"}`,
		`{"resources":{}}`,
		`{"userIdentity":[]}`,
		`[]`,
		`"x"`,
	}
	for _, dir := range []string{"testdata/records", "../../cmd/conveyor/testdata/cloudtrail"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var file struct{ Records []json.RawMessage }
			if json.Unmarshal(b, &file) == nil && len(file.Records) > 0 {
				for _, r := range file.Records {
					inputs = append(inputs, string(r))
				}
				continue
			}
			inputs = append(inputs, string(b))
		}
	}
	for _, e := range history(t, 200, time.Now(), time.Hour, true) {
		inputs = append(inputs, string(e.Record))
	}
	if len(inputs) < 220 {
		t.Fatalf("only %d inputs", len(inputs))
	}
	for _, in := range inputs {
		want, wantErr := ParseRecord([]byte(in))
		got, hasME, err := ParseRecordFields([]byte(in))
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, ParseRecord's %v", in, err, wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if w := fieldsOf(want); !reflect.DeepEqual(*got, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", in, *got, w)
		}
		var flags struct{ ManagementEvent *bool }
		_ = json.Unmarshal([]byte(in), &flags)
		if hasME != (flags.ManagementEvent != nil) {
			t.Errorf("%s: hasManagementEvent %v", in, hasME)
		}
	}
}

// FuzzParseRecordFields: on any valid JSON, ParseRecordFields agrees with
// ParseRecord.
func FuzzParseRecordFields(f *testing.F) {
	f.Add(`{"eventID":"a","readOnly":true,"resources":[{"type":"t","ARN":"a"}],"userIdentity":{"userName":"\u00e9"}}`)
	f.Add(`{"x":[{"y":"}"}],"managementEvent":null,"EventName":"n"}`)
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			return
		}
		want, wantErr := ParseRecord([]byte(in))
		got, _, err := ParseRecordFields([]byte(in))
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, ParseRecord's %v", in, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(*got, fieldsOf(want)) {
			t.Fatalf("%q:\n got %+v\nwant %+v", in, *got, fieldsOf(want))
		}
	})
}
