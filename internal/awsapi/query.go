package awsapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// The AWS Query protocol, as SQS spoke it before JSON (and older SDKs and tools still do): a
// form-encoded request (POST body, or GET query string) naming the operation in Action, and an
// XML answer. A service with ServiceConfig.Query set serves it beside JSON: the form is turned
// into the operation's JSON input (guided by its Go input type), the handler runs as for a
// JSON call, and its output is written as the XML AWS's Query protocol answers.

// QueryNames are the Query protocol's names of flattened lists and maps (their member name in
// the form and the XML), by JSON member name; an entry "Op.Member" applies to one operation.
type QueryNames map[string]string

// name is the Query name of member n of operation op.
func (q QueryNames) name(op, n string) string {
	if v, ok := q[op+"."+n]; ok {
		return v
	}
	if v, ok := q[n]; ok {
		return v
	}
	return n
}

// isQueryRequest says whether r is a Query protocol call: a form POST, or a GET with Action.
func isQueryRequest(r *http.Request) bool {
	if r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	switch r.Method {
	case http.MethodPost:
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return mt == "application/x-www-form-urlencoded"
	case http.MethodGet:
		return r.URL.Query().Get("Action") != ""
	}
	return false
}

// queryForm returns the request's parameters: the body's for a POST, the URL's for a GET.
func queryForm(r *http.Request, body []byte) (url.Values, error) {
	if r.Method == http.MethodGet {
		return r.URL.Query(), nil
	}
	return url.ParseQuery(string(body))
}

// queryToJSON turns the form of a call of op into the JSON of its input type t.
func queryToJSON(form url.Values, op string, t reflect.Type, names QueryNames) ([]byte, error) {
	v, err := queryValue(form, op, t, "", names)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(v)
}

// hasPrefix says whether the form has a parameter under prefix.
func hasPrefix(form url.Values, prefix string) bool {
	for k := range form {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// queryValue reads the value of type t at prefix (a struct's members are prefix+Name; a list's
// elements prefix.1, prefix.2…). nil when the form has nothing there.
func queryValue(form url.Values, op string, t reflect.Type, prefix string, names QueryNames) (any, error) {
	t = shape(t)
	switch t.Kind() {
	case reflect.Struct:
		out := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			// An embedded struct's members are the outer struct's, exported or not (as in JSON).
			if f.Anonymous && f.Type.Kind() == reflect.Struct && n == "" {
				sub, err := queryValue(form, op, f.Type, prefix, names)
				if err != nil {
					return nil, err
				}
				if m, ok := sub.(map[string]any); ok {
					for k, v := range m {
						out[k] = v
					}
				}
				continue
			}
			if !f.IsExported() || n == "-" {
				continue
			}
			if n == "" {
				n = f.Name
			}
			ft := shape(f.Type)
			var (
				v   any
				err error
			)
			switch ft.Kind() {
			case reflect.Slice, reflect.Map:
				if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8 { // []byte: base64 as it is
					v, err = queryValue(form, op, ft, prefix+n, names)
					break
				}
				v, err = queryValue(form, op, ft, prefix+names.name(op, n), names)
			default:
				v, err = queryValue(form, op, ft, prefix+n, names)
			}
			if err != nil {
				return nil, err
			}
			if v != nil {
				out[n] = v
			}
		}
		if len(out) == 0 && prefix != "" {
			return nil, nil
		}
		return out, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if vs, ok := form[prefix]; ok {
				return vs[0], nil
			}
			return nil, nil
		}
		var out []any
		for i := 1; ; i++ {
			p := prefix + "." + strconv.Itoa(i)
			if !hasPrefix(form, p) {
				break
			}
			sub := p
			if isStruct(t.Elem()) {
				sub += "."
			}
			v, err := queryValue(form, op, t.Elem(), sub, names)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if out == nil {
			return nil, nil
		}
		return out, nil
	case reflect.Map:
		keyName := "Name"
		if strings.HasSuffix(prefix, "Tag") {
			keyName = "Key"
		}
		out := map[string]any{}
		for i := 1; ; i++ {
			p := prefix + "." + strconv.Itoa(i) + "."
			k, ok := form[p+keyName]
			if !ok {
				break
			}
			vp := p + "Value"
			if isStruct(t.Elem()) {
				vp += "."
			}
			v, err := queryValue(form, op, t.Elem(), vp, names)
			if err != nil {
				return nil, err
			}
			out[k[0]] = v
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	vs, ok := form[prefix]
	if !ok {
		return nil, nil
	}
	s := vs[0]
	switch t.Kind() {
	case reflect.String:
		return s, nil
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, Errorf(CodeValidationException, "Value %s for parameter %s is invalid. Reason: must be a boolean.", s, prefix)
		}
		return b, nil
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Int16, reflect.Int8:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, Errorf(CodeValidationException, "Value %s for parameter %s is invalid. Reason: must be an integer.", s, prefix)
		}
		return n, nil
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, Errorf(CodeValidationException, "Value %s for parameter %s is invalid. Reason: must be a number.", s, prefix)
		}
		return f, nil
	}
	return s, nil
}

func isStruct(t reflect.Type) bool { return shape(t).Kind() == reflect.Struct }

// shape is the type whose JSON t reads and writes: pointers followed, and a struct wrapping
// one unexported value (a type of its own for a custom UnmarshalJSON) taken as that value.
func shape(t reflect.Type) reflect.Type {
	for {
		switch {
		case t.Kind() == reflect.Pointer:
			t = t.Elem()
		case t.Kind() == reflect.Struct && t.NumField() == 1 && !t.Field(0).IsExported():
			t = t.Field(0).Type
		default:
			return t
		}
	}
}

// queryNamespace is the XML namespace of SQS's Query answers.
const queryNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"

// writeQueryOutput writes op's output as the Query protocol's XML answer.
func writeQueryOutput(w http.ResponseWriter, op, requestID string, out any, names QueryNames) (int, int) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, op, queryNamespace)
	if out != nil {
		v := reflect.ValueOf(out)
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct && v.NumField() > 0 {
			fmt.Fprintf(&b, "<%sResult>", op)
			writeXMLFields(&b, op, v, names)
			fmt.Fprintf(&b, "</%sResult>", op)
		}
	}
	b.WriteString("<ResponseMetadata><RequestId>")
	_ = xml.EscapeText(&b, []byte(requestID))
	fmt.Fprintf(&b, "</RequestId></ResponseMetadata></%sResponse>", op)
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	n, _ := w.Write(b.Bytes())
	return http.StatusOK, n
}

// writeXMLFields writes the members of struct v, each as an element (flattened lists and maps
// as repeated elements under their Query names).
func writeXMLFields(b *bytes.Buffer, op string, v reflect.Value, names QueryNames) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		n, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		fv := v.Field(i)
		if f.Anonymous && fv.Kind() == reflect.Struct && n == "" {
			writeXMLFields(b, op, fv, names)
			continue
		}
		if !f.IsExported() || n == "-" {
			continue
		}
		if n == "" {
			n = f.Name
		}
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		writeXMLValue(b, op, n, fv, names)
	}
}

// writeXMLValue writes member n with value v.
func writeXMLValue(b *bytes.Buffer, op, n string, v reflect.Value, names QueryNames) {
	for {
		if v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return
			}
			v = v.Elem()
			continue
		}
		if v.Kind() == reflect.Struct && v.NumField() == 1 && !v.Type().Field(0).IsExported() {
			v = v.Field(0)
			continue
		}
		break
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			element(b, n, base64.StdEncoding.EncodeToString(v.Bytes()))
			return
		}
		qn := names.name(op, n)
		for i := range v.Len() {
			writeXMLValue(b, op, qn, v.Index(i), names)
		}
	case reflect.Map:
		qn := names.name(op, n)
		keyName := "Name"
		if qn == "Tag" {
			keyName = "Key"
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			fmt.Fprintf(b, "<%s>", qn)
			element(b, keyName, k.String())
			writeXMLValue(b, op, "Value", v.MapIndex(k), names)
			fmt.Fprintf(b, "</%s>", qn)
		}
	case reflect.Struct:
		if v.CanInterface() {
			if ts, ok := v.Interface().(Timestamp); ok {
				element(b, n, strconv.FormatInt(ts.Unix(), 10))
				return
			}
		}
		fmt.Fprintf(b, "<%s>", n)
		writeXMLFields(b, op, v, names)
		fmt.Fprintf(b, "</%s>", n)
	case reflect.String:
		element(b, n, v.String())
	case reflect.Bool:
		element(b, n, strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		element(b, n, strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		element(b, n, strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		element(b, n, strconv.FormatFloat(v.Float(), 'f', -1, 64))
	}
}

func element(b *bytes.Buffer, n, text string) {
	fmt.Fprintf(b, "<%s>", n)
	_ = xml.EscapeText(b, []byte(text))
	fmt.Fprintf(b, "</%s>", n)
}

// writeQueryError writes e as the Query protocol's ErrorResponse, with the error's awsQuery
// code (AWS.SimpleQueueService.NonExistentQueue…) and Sender or Receiver.
func writeQueryError(w http.ResponseWriter, svc *Service, e *Error, requestID string) (int, int) {
	info, known := LookupError(svc.cfg.Name, e.Code)
	status := e.Status
	if status == 0 || (e.fromTable && known) {
		status = info.Status
		if !known {
			status = http.StatusBadRequest
		}
	}
	code := info.QueryCode
	if code == "" {
		code = e.Code
	}
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type>`, queryNamespace, fault)
	element(&b, "Code", code)
	element(&b, "Message", e.Message)
	b.WriteString("<Detail/></Error>")
	element(&b, "RequestId", requestID)
	b.WriteString("</ErrorResponse>")
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	h.Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(status)
	n, _ := w.Write(b.Bytes())
	return status, n
}
