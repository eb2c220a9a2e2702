package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// REST-JSON: the protocol of Lambda (and API Gateway, S3 Control…): an operation is a method
// and a path (/2015-03-31/functions/{FunctionName}/invocations), its input comes from the path,
// the query, headers and a JSON (or raw) body, its output is a status, headers and a body.
//
// Input and output structs say where each member goes with tags:
//
//	FunctionName string `json:"-" uri:"FunctionName"`            // a {FunctionName} path segment
//	Qualifier    string `json:"-" query:"Qualifier"`              // ?Qualifier=
//	InvocationType string `json:"-" header:"X-Amz-Invocation-Type"`
//	Payload      []byte `json:"-" payload:""`                    // the whole body, raw
//	StatusCode   int    `json:"-" status:""`                      // output: the HTTP status
//
// Members without such a tag are the JSON body's.

// restRoute is one operation's method and path pattern.
type restRoute struct {
	method string
	segs   []string // literal segments, or "{Name}" / "{Name+}" (greedy, last)
	op     *Operation
	status int // the success status (200 when 0)
}

// restKey is the context key of a REST request's path parameters and request.
type restKey struct{}

type restRequest struct {
	r      *http.Request
	w      http.ResponseWriter
	params map[string]string
}

// ExtendWriteDeadline gives the answer to the REST call of ctx d from now to be written, past
// the server's write timeout: a synchronous Lambda Invoke waits as long as the function's
// timeout. It does nothing outside a REST call.
func ExtendWriteDeadline(ctx context.Context, d time.Duration) {
	if rr, ok := ctx.Value(restKey{}).(*restRequest); ok && rr.w != nil {
		_ = http.NewResponseController(rr.w).SetWriteDeadline(time.Now().Add(d))
	}
}

// HandleREST registers f as the REST-JSON operation op of svc, served at method and pattern
// (path segments, "{Name}" for a parameter, "{Name+}" for the rest of the path), answering
// status on success (0: 200). Input binding and output writing follow the tags above; errors
// are answered as REST-JSON errors (see Server).
func HandleREST[In, Out any](svc *Service, op, method, pattern string, status int, f func(context.Context, *In) (*Out, error)) *Operation {
	o := &Operation{name: op, svc: svc, inType: reflect.TypeFor[In](), outType: reflect.TypeFor[Out]()}
	o.invoke = func(ctx context.Context, body []byte) (any, any, error) {
		in := new(In)
		rr, _ := ctx.Value(restKey{}).(*restRequest)
		if err := bindREST(rr, body, in); err != nil {
			return nil, nil, err
		}
		if m := svc.model.Load(); m != nil {
			if err := m.Validate(op, in); err != nil {
				return in, nil, err
			}
		}
		out, err := f(ctx, in)
		if err != nil || out == nil {
			return in, nil, err
		}
		return in, out, nil
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if _, dup := svc.ops[op]; dup {
		panic(fmt.Sprintf("awsapi: operation %s.%s registered twice", svc.cfg.Name, op))
	}
	svc.ops[op] = o
	svc.routes = append(svc.routes, restRoute{method: method, segs: strings.Split(strings.Trim(pattern, "/"), "/"), op: o, status: status})
	return o
}

// matchREST finds the operation of a method and path: the operation, its path parameters,
// and whether the path matched some route at all (for a 405 rather than a 404).
func (s *Service) matchREST(method, escapedPath string) (*restRoute, map[string]string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	segs := strings.Split(strings.Trim(escapedPath, "/"), "/")
	pathMatched := false
	for i := range s.routes {
		rt := &s.routes[i]
		params, ok := matchSegs(rt.segs, segs)
		if !ok {
			continue
		}
		pathMatched = true
		if rt.method == method {
			return rt, params, true
		}
	}
	return nil, nil, pathMatched
}

func matchSegs(pattern, segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			if i >= len(segs) {
				return nil, false
			}
			rest, err := url.PathUnescape(strings.Join(segs[i:], "/"))
			if err != nil || rest == "" {
				return nil, false
			}
			params[p[1:len(p)-2]] = rest
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = v
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, len(pattern) == len(segs)
}

// bindREST fills in from the request: the JSON body (unless a member takes the raw payload),
// then the members tagged uri, query and header.
func bindREST(rr *restRequest, body []byte, in any) error {
	v := reflect.ValueOf(in).Elem()
	t := v.Type()
	raw := false
	for i := range t.NumField() {
		if _, ok := t.Field(i).Tag.Lookup("payload"); ok {
			raw = true
			v.Field(i).SetBytes(body)
		}
	}
	if !raw {
		if err := decodeInput(body, in); err != nil {
			return err
		}
	}
	if rr == nil {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		var val string
		var ok bool
		if name, has := f.Tag.Lookup("uri"); has {
			val, ok = rr.params[name]
		} else if name, has := f.Tag.Lookup("query"); has {
			ok = rr.r.URL.Query().Has(name)
			val = rr.r.URL.Query().Get(name)
			if ok && f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String {
				v.Field(i).Set(reflect.ValueOf(rr.r.URL.Query()[name]).Convert(f.Type))
				continue
			}
		} else if name, has := f.Tag.Lookup("header"); has {
			val = rr.r.Header.Get(name)
			ok = val != ""
		}
		if !ok {
			continue
		}
		if err := setString(v.Field(i), f.Name, val); err != nil {
			return err
		}
	}
	return nil
}

// restParams is a REST request's members of input type t as one JSON
// object: its JSON body's, and those of the path, the query and the headers
// under their member names; a raw payload is left out (it is the caller's
// data, not a parameter). nil when the body is not a JSON object.
func restParams(rr *restRequest, t reflect.Type, body []byte) []byte {
	params := map[string]any{}
	raw := false
	for i := range t.NumField() {
		if _, ok := t.Field(i).Tag.Lookup("payload"); ok {
			raw = true
		}
	}
	if !raw && len(bytes.TrimSpace(body)) > 0 {
		var members map[string]json.RawMessage
		if json.Unmarshal(body, &members) != nil || members == nil {
			return nil
		}
		for k, v := range members {
			params[k] = v
		}
	}
	if rr != nil {
		q := rr.r.URL.Query()
		for i := range t.NumField() {
			f := t.Field(i)
			if name, ok := f.Tag.Lookup("uri"); ok {
				if v, ok := rr.params[name]; ok {
					params[f.Name] = v
				}
			} else if name, ok := f.Tag.Lookup("query"); ok && q.Has(name) {
				if f.Type.Kind() == reflect.Slice {
					params[f.Name] = q[name]
				} else {
					params[f.Name] = q.Get(name)
				}
			} else if name, ok := f.Tag.Lookup("header"); ok && rr.r.Header.Get(name) != "" {
				params[f.Name] = rr.r.Header.Get(name)
			}
		}
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil
	}
	return b
}

// setString sets a string, *string, int, *int or bool member from a path, query or header
// value.
func setString(fv reflect.Value, name, val string) error {
	ptr := fv.Kind() == reflect.Pointer
	t := fv.Type()
	if ptr {
		t = t.Elem()
	}
	var x reflect.Value
	switch t.Kind() {
	case reflect.String:
		x = reflect.ValueOf(val).Convert(t)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return Errorf(CodeSerializationException, "Value %q for %s is not an integer.", val, name)
		}
		x = reflect.New(t).Elem()
		x.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return Errorf(CodeSerializationException, "Value %q for %s is not a boolean.", val, name)
		}
		x = reflect.ValueOf(b)
	default:
		return fmt.Errorf("awsapi: member %s of kind %s cannot be bound from a request", name, t.Kind())
	}
	if ptr {
		p := reflect.New(t)
		p.Elem().Set(x)
		fv.Set(p)
	} else {
		fv.Set(x)
	}
	return nil
}

// writeREST writes a REST-JSON operation's output: headers from members tagged header, the
// status from a member tagged status (else the route's), and the raw payload member or the
// JSON of the other members as the body.
func writeREST(w http.ResponseWriter, status int, out any) (int, int) {
	h := w.Header()
	var body []byte
	if out == nil {
		body = []byte("{}")
	} else {
		v := reflect.ValueOf(out)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		t := v.Type()
		raw := false
		for i := range t.NumField() {
			f := t.Field(i)
			fv := v.Field(i)
			if name, ok := f.Tag.Lookup("header"); ok {
				if s := headerValueOf(fv); s != "" {
					h.Set(name, s)
				}
			}
			if _, ok := f.Tag.Lookup("status"); ok && fv.Int() != 0 {
				status = int(fv.Int())
			}
			if _, ok := f.Tag.Lookup("payload"); ok {
				raw, body = true, fv.Bytes()
			}
		}
		if !raw {
			b, err := marshalOutput(out)
			if err != nil {
				b = []byte("{}")
			}
			body = b
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	n, _ := w.Write(body)
	return status, n
}

func headerValueOf(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Int, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	}
	return ""
}

// writeRESTError writes e as REST-JSON services answer errors: the code in the
// X-Amzn-ErrorType header, {"Type": "User" or "Service", "message": …} as the body.
func writeRESTError(w http.ResponseWriter, svc *Service, e *Error) (int, int) {
	status := e.Status
	info, known := LookupError(svc.cfg.Name, e.Code)
	if status == 0 || (e.fromTable && known) {
		status = info.Status
		if !known || status == 0 {
			status = http.StatusBadRequest
		}
	}
	typ := "User"
	if status >= 500 {
		typ = "Service"
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
	}{typ, e.Message})
	h := w.Header()
	h.Set("X-Amzn-ErrorType", e.Code)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	n, _ := w.Write(body)
	return status, n
}
