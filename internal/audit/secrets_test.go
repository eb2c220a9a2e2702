package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/eventbridge"
)

// A secretPath leads from a request's top to a member AWS's model marks sensitive: member
// names, "[]" for the element of a list. raw: the member lies in a part Conveyor keeps as raw
// JSON (Redshift and AppSync target parameters), so any spelling of it is kept as sent.
type secretPath struct {
	op   string
	path []string
	raw  bool
}

var secretPaths = func() []secretPath {
	var ps []secretPath
	conn := func(p ...string) {
		for _, op := range []string{"CreateConnection", "UpdateConnection"} {
			ps = append(ps, secretPath{op: op, path: append([]string{"AuthParameters"}, p...)})
		}
	}
	conn("BasicAuthParameters", "Password")
	conn("ApiKeyAuthParameters", "ApiKeyValue")
	conn("OAuthParameters", "ClientParameters", "ClientSecret")
	for _, list := range []string{"HeaderParameters", "QueryStringParameters", "BodyParameters"} {
		conn("InvocationHttpParameters", list, "[]", "Value")
		conn("OAuthParameters", "OAuthHttpParameters", list, "[]", "Value")
	}
	ps = append(ps,
		secretPath{op: "PutTargets", path: []string{"Targets", "[]", "RedshiftDataParameters", "Sql"}, raw: true},
		secretPath{op: "PutTargets", path: []string{"Targets", "[]", "RedshiftDataParameters", "Sqls", "[]"}, raw: true},
		secretPath{op: "PutTargets", path: []string{"Targets", "[]", "AppSyncParameters", "GraphQLOperation"}, raw: true},
	)
	return ps
}()

// respell writes name as a JSON string in a spelling chosen by variant: each rune as it is,
// upper or lower case, another rune of its fold orbit (U+017F for s, U+212A for k), and, with
// escape, \u-escaped.
func respell(name string, variant []byte, escape bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for j, r := range []rune(name) {
		var c byte
		if len(variant) > 0 {
			c = variant[j%len(variant)]
		}
		switch c % 4 {
		case 1:
			r = unicode.ToUpper(r)
		case 2:
			r = unicode.ToLower(r)
		case 3:
			for range int(c/4)%3 + 1 {
				r = unicode.SimpleFold(r)
			}
		}
		if escape && c&0x80 != 0 && r < 0x10000 {
			fmt.Fprintf(&b, `\u%04X`, r)
		} else {
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// nest writes the JSON of path below an object member, ending in leaf. The element of a list
// of parameters is an object with Key and IsValueSecret besides.
func nest(path []string, leaf string) string {
	switch {
	case len(path) == 0:
		return leaf
	case path[0] == "[]" && len(path) == 1:
		return "[" + leaf + "]"
	case path[0] == "[]":
		return `[{"Key":"k","IsValueSecret":true,` + fmt.Sprintf("%q", path[1]) + ":" + nest(path[2:], leaf) + "}]"
	}
	return "{" + fmt.Sprintf("%q", path[0]) + ":" + nest(path[1:], leaf) + "}"
}

// secretRequest writes a request with "real" at the exact path, and, after it (where
// encoding/json would let it win), the secret under key (a spelling of path[level]).
func secretRequest(p secretPath, level int, key string) string {
	var open strings.Builder
	var closers []string
	open.WriteString(`{"Name":"c","Rule":"r",`)
	for i := 0; i < level; i++ {
		if p.path[i] == "[]" {
			open.WriteString(`[{"Key":"k","IsValueSecret":true,`)
			closers = append(closers, "}]")
			continue
		}
		fmt.Fprintf(&open, "%q:", p.path[i])
		if i+1 < level && p.path[i+1] == "[]" {
			continue
		}
		open.WriteByte('{')
		closers = append(closers, "}")
	}
	rest := p.path[level+1:]
	fmt.Fprintf(&open, `%q:%s,%s:%s`, p.path[level], nest(rest, `"real"`), key, nest(rest, `"`+secret+`"`))
	slices.Reverse(closers)
	return open.String() + strings.Join(closers, "") + "}"
}

// secret is the value the secret members carry: no spelling of a member name contains it.
const secret = "t0p-s3cr3t"

// FuzzSecretSpellings sends requests whose secret members (at any level of their path) are
// spelled in random casings and foldings through the whole recording path: the AWS JSON
// server decodes them into the handlers' input types, the call is recorded, the record
// built and written as it is stored and put on the bus. The secret reaches the input only
// under its exact name, and never appears in the record.
func FuzzSecretSpellings(f *testing.F) {
	f.Add(uint8(0), uint8(2), []byte{1}, false)          // PASSWORD
	f.Add(uint8(2), uint8(2), []byte{3, 0, 0, 0}, false) // Paſsword
	f.Add(uint8(3), uint8(2), []byte{0x83}, true)        // \u-escaped folds of ApiKeyValue
	f.Add(uint8(6), uint8(4), []byte{2, 1}, false)       // vAlUe in a header parameter
	f.Add(uint8(6), uint8(2), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3}, false)
	f.Add(uint8(30), uint8(3), []byte{1}, false) // SQL
	f.Add(uint8(1), uint8(0), []byte{}, false)   // the exact name: used, and hidden

	var last *awsapi.Call
	svc := awsapi.NewEventBridge()
	var decoded []byte
	capture := func(in any) { decoded, _ = json.Marshal(in) }
	awsapi.Handle(svc, "CreateConnection", func(_ context.Context, in *eventbridge.CreateConnectionInput) (*eventbridge.ConnectionStateOutput, error) {
		capture(in)
		return &eventbridge.ConnectionStateOutput{ConnectionArn: "arn:aws:events:us-east-1:123456789012:connection/c/1", ConnectionState: "AUTHORIZED"}, nil
	})
	awsapi.Handle(svc, "UpdateConnection", func(_ context.Context, in *eventbridge.UpdateConnectionInput) (*eventbridge.ConnectionStateOutput, error) {
		capture(in)
		return &eventbridge.ConnectionStateOutput{ConnectionArn: "arn:aws:events:us-east-1:123456789012:connection/c/1", ConnectionState: "AUTHORIZED"}, nil
	})
	awsapi.Handle(svc, "PutTargets", func(_ context.Context, in *eventbridge.PutTargetsInput) (*struct{ FailedEntryCount int }, error) {
		capture(in)
		return &struct{ FailedEntryCount int }{}, nil
	})
	srv, err := awsapi.NewServer(awsapi.Config{Logger: quiet}, svc)
	if err != nil {
		f.Fatal(err)
	}
	srv.ObserveBeforeAnswer(func(_ context.Context, c *awsapi.Call) { last = c })
	b, err := audit.NewBuilder(cfg)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, which, level uint8, variant []byte, escape bool) {
		p := secretPaths[int(which)%len(secretPaths)]
		var names []int // the levels that name a member
		for i, s := range p.path {
			if s != "[]" {
				names = append(names, i)
			}
		}
		lv := names[int(level)%len(names)]
		key := respell(p.path[lv], variant, escape)
		var name string
		if err := json.Unmarshal([]byte(key), &name); err != nil || !utf8.ValidString(name) {
			return
		}
		body := secretRequest(p, lv, key)
		if !json.Valid([]byte(body)) {
			t.Fatalf("bad test request %s", body)
		}
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "AWSEvents."+p.op)
		w := httptest.NewRecorder()
		last, decoded = nil, nil
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK || last == nil {
			t.Fatalf("%s %s: %d %s", p.op, body, w.Code, w.Body)
		}
		exact := name == p.path[lv]
		if got := strings.Contains(string(decoded), secret); !p.raw && got != exact {
			t.Errorf("%s %s: secret under %s decoded: %v, want %v (input %s)", p.op, body, key, got, exact, decoded)
		}
		rec, ok := b.Build(audit.FromAPICall(last))
		if !ok {
			t.Fatal("not recorded")
		}
		data, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		ev, err := audit.BusEvent(rec, data)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), secret) || strings.Contains(string(ev), secret) {
			t.Errorf("%s %s: the secret is in the record:\n%s", p.op, body, data)
		}
		if !strings.Contains(string(data), audit.Hidden) {
			t.Errorf("%s %s: nothing hidden in the record:\n%s", p.op, body, data)
		}
	})
}
