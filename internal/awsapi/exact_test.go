package awsapi_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/awsapi"
)

type exactParam struct {
	Key           string `json:"Key"`
	Value         string `json:"Value"`
	IsValueSecret bool   `json:"IsValueSecret"`
}

type exactAuth struct {
	Username string                `json:"Username"`
	Password string                `json:"Password"`
	Headers  []exactParam          `json:"HeaderParameters"`
	Nested   *exactAuth            `json:"Nested"`
	ByName   map[string]exactParam `json:"ByName"`
}

type exactInput struct {
	Name   string            `json:"Name"`
	Auth   *exactAuth        `json:"AuthParameters"`
	Tags   map[string]string `json:"Tags"`
	Raw    json.RawMessage   `json:"Raw"`
	Any    any               `json:"Any"`
	Time   awsapi.Timestamp  `json:"Time"`
	Blob   []byte            `json:"Blob"`
	Limits []int             `json:"Limits"`
}

// TestUnmarshalExact: a member whose name folds onto a struct member's without being it
// (other case, U+017F for s, U+212A for k, escaped or not) is ignored, as AWS ignores unknown
// members, at every depth; names spelled exactly (escapes included), map keys and unknown
// members are as encoding/json has them.
func TestUnmarshalExact(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     exactInput
	}{
		{"exact", `{"Name":"n","AuthParameters":{"Password":"p"}}`,
			exactInput{Name: "n", Auth: &exactAuth{Password: "p"}}},
		{"folded after", `{"Name":"n","NAME":"x","AuthParameters":{"Password":"p","PASSWORD":"x","Paſsword":"x"}}`,
			exactInput{Name: "n", Auth: &exactAuth{Password: "p"}}},
		{"folded before", `{"name":"x","Name":"n"}`, exactInput{Name: "n"}},
		{"folded only", `{"nAme":"x"}`, exactInput{}},
		{"all folded", `{ "nAme" : "x" , "NAME":{"a":[1,{"b":"}"}]} }`, exactInput{}},
		{"first, middle, last", `{"nAme":1,"Name":"n","NaMe":[],"Tags":{"k":"v"},"TAGS":{"x":"y"}}`,
			exactInput{Name: "n", Tags: map[string]string{"k": "v"}}},
		{"escaped exact", `{"N\u0061me":"n","AuthParameters":{"Pa\u0073sword":"p"}}`,
			exactInput{Name: "n", Auth: &exactAuth{Password: "p"}}},
		{"escaped folded", `{"Name":"n","AuthParameters":{"Password":"p","Pa\u017Fsword":"x","Pa\u017fsword":"x"}}`,
			exactInput{Name: "n", Auth: &exactAuth{Password: "p"}}},
		{"Kelvin sign", `{"AuthParameters":{"HeaderParameters":[{"\u212Aey":"x","Key":"k"}]}}`,
			exactInput{Auth: &exactAuth{Headers: []exactParam{{Key: "k"}}}}},
		{"in lists and nested", `{"AuthParameters":{"HeaderParameters":[{"Key":"a","Value":"v","VALUE":"x"},{"vALUE":"x"}],"Nested":{"Nested":{"PassworD":"x","Password":"p"}}}}`,
			exactInput{Auth: &exactAuth{Headers: []exactParam{{Key: "a", Value: "v"}, {}}, Nested: &exactAuth{Nested: &exactAuth{Password: "p"}}}}},
		{"map values are structs, keys are the user's", `{"AuthParameters":{"ByName":{"PASSWORD":{"Key":"k","KEY":"x"}}}}`,
			exactInput{Auth: &exactAuth{ByName: map[string]exactParam{"PASSWORD": {Key: "k"}}}}},
		{"user keys kept", `{"Tags":{"Name":"a","NAME":"b"}}`, exactInput{Tags: map[string]string{"Name": "a", "NAME": "b"}}},
		{"opaque members untouched", `{"Raw":{"NAME":1},"Any":{"NAME":1}}`,
			exactInput{Raw: json.RawMessage(`{"NAME":1}`), Any: map[string]any{"NAME": float64(1)}}},
		{"unknown members ignored", `{"Other":{"Name":"x"},"Name":"n"}`, exactInput{Name: "n"}},
		{"exact duplicates: the last wins", `{"Name":"a","Name":"b"}`, exactInput{Name: "b"}},
		{"scalars", `{"Limits":[1,2],"LIMITS":[3],"Blob":"AQI=","blob":"AA=="}`, exactInput{Limits: []int{1, 2}, Blob: []byte{1, 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got exactInput
			if err := awsapi.Unmarshal([]byte(c.in), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Unmarshal(%s) =\n %+v\nwant\n %+v", c.in, got, c.want)
			}
		})
	}
}

// Malformed input is refused as encoding/json refuses it, even where cutting the folded
// members out would leave well-formed JSON.
func TestUnmarshalExactMalformed(t *testing.T) {
	for _, in := range []string{`{"NAME":{]}`, `{"Name":"n","NAME":}`, `{"NAME":"x"`, `{"NAME":"x"}}`, `[{"NAME":1}]`, `{"Name":"a",}`} {
		var got exactInput
		err1 := awsapi.Unmarshal([]byte(in), &got)
		err2 := json.Unmarshal([]byte(in), new(exactInput))
		if (err1 == nil) != (err2 == nil) {
			t.Errorf("Unmarshal(%s) = %v, encoding/json: %v", in, err1, err2)
		}
	}
}

// FoldName folds as encoding/json and strings.EqualFold do.
func TestFoldName(t *testing.T) {
	for _, c := range [][2]string{{"Password", "Paſsword"}, {"ApiKeyValue", "Api\u212AeyValue"}, {"ClientSecret", "CLIENTSECRET"}, {"Sqls", "ſqlſ"}} {
		if awsapi.FoldName(c[0]) != awsapi.FoldName(c[1]) || !strings.EqualFold(c[0], c[1]) {
			t.Errorf("FoldName(%q) = %q, FoldName(%q) = %q", c[0], awsapi.FoldName(c[0]), c[1], awsapi.FoldName(c[1]))
		}
	}
	if awsapi.FoldName("Password") == awsapi.FoldName("Passwort") {
		t.Error("different names fold together")
	}
}

// FuzzUnmarshal: whatever the input, Unmarshal does not panic; it refuses malformed JSON; it
// decodes as encoding/json does when no member name folds onto another (when one does, the
// folded member is ignored, so a value of the wrong type there is no error); and a secret
// under any spelling but the exact one never reaches the field.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{"Name":"n","AuthParameters":{"Password":"p","PASSWORD":"x"}}`,
		`{"AuthParameters":{"HeaderParameters":[{"Key":"a","VALUE":"x"}],"Nested":{"Paſsword":"x"}}}`,
		`{"Tags":{"Name":"a"},"Raw":[{"NAME":1}],"Time":1700000000}`, `{"nAme":"x",}`, `[`, `"\u017f"`} {
		f.Add([]byte(s), "PASSWORD")
	}
	f.Add([]byte(`{"Name":"n"}`), "Pa\\u017Fsword")
	f.Add([]byte(`{}`), "Password")
	f.Fuzz(func(t *testing.T, data []byte, spelling string) {
		var got exactInput
		err := awsapi.Unmarshal(data, &got)
		if err == nil && !json.Valid(data) {
			t.Fatalf("Unmarshal(%q) accepted malformed JSON", data)
		}
		if !folds(data) {
			var ref exactInput
			refErr := json.Unmarshal(data, &ref)
			if (err == nil) != (refErr == nil) || err == nil && !reflect.DeepEqual(got, ref) {
				t.Fatalf("Unmarshal(%q) = %+v, %v; encoding/json: %+v, %v", data, got, err, ref, refErr)
			}
		}

		// The secret, after the real one, under the fuzzed spelling.
		key := []byte(`"` + spelling + `"`) // as written, escapes included
		if !json.Valid(key) {
			key, _ = json.Marshal(spelling)
		}
		var name string
		_ = json.Unmarshal(key, &name)
		body := `{"AuthParameters":{"Password":"real",` + string(key) + `:"SECRET"}}`
		var in exactInput
		if err := awsapi.Unmarshal([]byte(body), &in); err != nil {
			return
		}
		if name != "Password" && in.Auth.Password != "real" {
			t.Fatalf("member %q (%s) filled Password: %q", name, key, in.Auth.Password)
		}
	})
}

// folds reports whether any two object keys of data fold together without being equal, or
// one folds onto a member name of exactInput's types.
func folds(data []byte) bool {
	members := []string{"Key", "Value", "IsValueSecret", "Username", "Password", "HeaderParameters", "Nested",
		"ByName", "Name", "AuthParameters", "Tags", "Raw", "Any", "Time", "Blob", "Limits"}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		s, ok := tok.(string)
		if !ok {
			continue
		}
		for _, m := range members {
			if s != m && strings.EqualFold(s, m) {
				return true
			}
		}
	}
}

// BenchmarkUnmarshal compares Unmarshal with encoding/json alone on a PutEvents request of
// 10 entries of about 25 KB each (256 KB in all): the cost of matching member names exactly.
func BenchmarkUnmarshal(b *testing.B) {
	type entry struct {
		Source, DetailType, Detail, EventBusName string
		Resources                                []string
	}
	type input struct{ Entries []entry }
	detail, _ := json.Marshal(`{"order":{"id":"o-1","note":"` + strings.Repeat(`a \"quoted\" word, `, 1300) + `"}}`)
	var body strings.Builder
	body.WriteString(`{"Entries":[`)
	for i := range 10 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"Source":"com.example.orders","DetailType":"Order Placed","Resources":["arn:aws:s3:::bucket"],"Detail":` + string(detail) + `}`)
	}
	body.WriteString(`]}`)
	data := []byte(body.String())
	for _, c := range []struct {
		name string
		f    func([]byte, any) error
	}{{"exact", awsapi.Unmarshal}, {"encoding-json", json.Unmarshal}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var in input
				if err := c.f(data, &in); err != nil || len(in.Entries) != 10 {
					b.Fatal(err)
				}
			}
		})
	}
}
