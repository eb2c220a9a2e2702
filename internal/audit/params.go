package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// secretMembers are request members whose values AWS never records: the
// members the service models mark sensitive (connection credentials,
// Redshift SQL, AppSync operations, a Lambda function's code and
// environment variables).
var secretMembers = folded("Password", "ApiKeyValue", "ClientSecret", "Sql", "Sqls", "GraphQLOperation", "ZipFile", "Variables")

// secretValueLists are lists of {Key, Value, IsValueSecret} whose Value the
// EventBridge model marks sensitive (a connection's invocation parameters).
var secretValueLists = folded("BodyParameters", "HeaderParameters", "QueryStringParameters")

// userKeyedMaps are members whose values are maps keyed by the user's own
// names: their keys stay as they are.
var userKeyedMaps = folded("InputPathsMap", "HeaderParameters", "QueryStringParameters",
	"Attributes", "Tags", "MessageAttributes", "MessageSystemAttributes")

// dataPayloads are data-event members that carry the caller's data, hidden as
// AWS hides a PutEvents entry's Detail.
var dataPayloads = folded("Detail", "MessageBody", "StringValue", "BinaryValue", "ClientContext")

// folded makes a set of names matched as strings.EqualFold matches them, with
// Unicode simple folding (see awsapi.FoldName): the services decode member
// names exactly, but a spelling that folds onto a secret member ("PASSWORD",
// "Paſsword" with U+017F) is a secret all the same, meant for that member or
// for a decoder that folds, and is hidden as surely as "Password".
func folded(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[awsapi.FoldName(n)] = true
	}
	return m
}

// recordJSON converts a request or response body (the service's own JSON,
// PascalCase members) into the form CloudTrail records it: camelCase member
// names, secrets hidden, data payloads hidden when data is true. An empty
// body or empty object becomes null. valid says body is JSON (when it is
// not known, false). capture, if not nil, is filled as convertParams fills
// it; what it holds is the body's members only if valid.
func (p *paramWriters) recordJSON(body []byte, data bool, capture *memberCapture) (out json.RawMessage, valid bool, err error) {
	// Only JSON's whitespace may surround a JSON text (TrimSpace trims
	// Unicode's).
	jsonSpace := len(bytes.Trim(body, " \t\r\n"))
	body = bytes.TrimSpace(body)
	jsonSpace = jsonSpace - len(body)
	if len(body) == 0 || bytes.Equal(body, []byte("null")) {
		return nil, len(body) > 0 && jsonSpace == 0, nil
	}
	if out, ok, whole := p.convertParams(body, data, capture); ok {
		return out, whole && jsonSpace == 0, nil
	}
	out, err = recordJSONReflect(body, data)
	return out, false, err
}

// recordJSONReflect is recordJSON through encoding/json: for what
// convertParams leaves to it (a top-level scalar, and text that is not
// JSON, whose error it reports).
func recordJSONReflect(body []byte, data bool) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("audit: decode body: %w", err)
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return nil, nil
	}
	v = convert(v, false, data)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("audit: encode body: %w", err)
	}
	return json.RawMessage(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// convert rewrites one JSON value. keepKeys is set for the value of a
// user-keyed map.
func convert(v any, keepKeys, data bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if keepKeys {
				out[k] = convert(x, false, data)
				continue
			}
			name, lk := camel(k), awsapi.FoldName(k)
			switch {
			case secretMembers[lk]:
				out[name] = Hidden
			case data && dataPayloads[lk]:
				out[name] = Hidden
			case secretValueLists[lk] && isObjectList(x):
				out[name] = hideValues(x.([]any), data)
			default:
				out[name] = convert(x, userKeyedMaps[lk] && isObject(x), data)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = convert(x, false, data)
		}
		return out
	default:
		return v
	}
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }

func isObjectList(v any) bool {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return false
	}
	for _, x := range l {
		if !isObject(x) {
			return false
		}
	}
	return true
}

func hideValues(l []any, data bool) []any {
	out := make([]any, len(l))
	for i, x := range l {
		m := convert(x, false, data).(map[string]any)
		for k := range m {
			if strings.EqualFold(k, "value") {
				m[k] = Hidden
			}
		}
		out[i] = m
	}
	return out
}

// camel lowers the first letter of a member name, as CloudTrail does
// ("EventBusName" → "eventBusName", "MD5OfMessageBody" → "mD5OfMessageBody").
func camel(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsUpper(r) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}
