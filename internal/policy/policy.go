package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
)

// MaxLength is the longest policy document accepted (EventBridge's and SQS's resource policy
// size bound).
const MaxLength = 10240

// Document is a resource policy.
type Document struct {
	Version   string      `json:"Version,omitempty"`
	ID        string      `json:"Id,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy.
type Statement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal *Principal `json:"Principal,omitempty"`
	Action    Strings    `json:"Action,omitempty"`
	Resource  Strings    `json:"Resource,omitempty"`
	// Condition is operator → key → values, e.g. {"StringEquals": {"aws:PrincipalOrgID": ["o-1"]}}.
	Condition map[string]map[string]Strings `json:"Condition,omitempty"`
}

// Strings is a JSON string or array of strings.
type Strings []string

// UnmarshalJSON reads a string or an array of strings.
func (s *Strings) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		var l []string
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*s = l
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*s = Strings{one}
	return nil
}

// MarshalJSON writes one value as a string, several as an array, as AWS writes them.
func (s Strings) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

// Principal is "*" (anyone), or {"AWS": accounts or ARNs, "Service": service principals such
// as "events.amazonaws.com"}.
type Principal struct {
	Any     bool
	AWS     Strings
	Service Strings
}

// UnmarshalJSON reads "*" or {"AWS": …}.
func (p *Principal) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != "*" {
			return fmt.Errorf("principal %q is not \"*\" or an object", s)
		}
		p.Any = true
		return nil
	}
	var o map[string]Strings
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	for k, v := range o {
		switch k {
		case "AWS":
			p.AWS = v
		case "Service":
			p.Service = v
		default:
			return fmt.Errorf("principal type %q is not supported (only AWS and Service)", k)
		}
	}
	if len(p.AWS) == 0 && len(p.Service) == 0 {
		return errors.New("principal names no AWS account or service")
	}
	return nil
}

// MarshalJSON writes "*" or {"AWS": …, "Service": …}.
func (p Principal) MarshalJSON() ([]byte, error) {
	if p.Any {
		return []byte(`"*"`), nil
	}
	m := map[string]Strings{}
	if len(p.AWS) > 0 {
		m["AWS"] = p.AWS
	}
	if len(p.Service) > 0 {
		m["Service"] = p.Service
	}
	return json.Marshal(m)
}

// Parse reads a policy document and checks its shape: statements with Effect Allow or Deny,
// a principal, actions and resources.
func Parse(doc string) (*Document, error) {
	if len(doc) > MaxLength {
		return nil, fmt.Errorf("policy: %d characters, more than %d", len(doc), MaxLength)
	}
	var d Document
	dec := json.NewDecoder(strings.NewReader(doc))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	for i, st := range d.Statement {
		switch {
		case st.Effect != "Allow" && st.Effect != "Deny":
			return nil, fmt.Errorf("policy: statement %d: Effect %q is not Allow or Deny", i, st.Effect)
		case st.Principal == nil:
			return nil, fmt.Errorf("policy: statement %d has no Principal", i)
		case len(st.Action) == 0:
			return nil, fmt.Errorf("policy: statement %d has no Action", i)
		case len(st.Resource) == 0:
			return nil, fmt.Errorf("policy: statement %d has no Resource", i)
		}
	}
	return &d, nil
}

// String is the document as JSON.
func (d *Document) String() string {
	b, _ := json.Marshal(d)
	return string(b)
}

// Put adds st, replacing the statement with the same Sid.
func (d *Document) Put(st Statement) {
	for i := range d.Statement {
		if d.Statement[i].Sid == st.Sid {
			d.Statement[i] = st
			return
		}
	}
	d.Statement = append(d.Statement, st)
}

// Remove removes the statement with Sid sid and reports whether there was one.
func (d *Document) Remove(sid string) bool {
	for i := range d.Statement {
		if d.Statement[i].Sid == sid {
			d.Statement = append(d.Statement[:i], d.Statement[i+1:]...)
			return true
		}
	}
	return false
}

// Request is what a principal of another account asks to do.
type Request struct {
	// Account is the caller's account; PrincipalARN its ARN (a user, a role session, or the
	// account's root), when known. Service is the service principal acting for the account
	// (e.g. "events.amazonaws.com" delivering a rule's target), if one is.
	Account      string
	PrincipalARN string
	Service      string
	// Action is e.g. "events:PutEvents", Resource the ARN acted on.
	Action, Resource string
	// Context holds the condition keys the request has, e.g. "aws:SourceArn".
	Context map[string]string
}

// Allows says whether d lets r happen: some Allow statement matches it and no Deny does.
func (d *Document) Allows(r Request) bool {
	if d == nil {
		return false
	}
	allowed := false
	for _, st := range d.Statement {
		if !st.matches(r) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func (st *Statement) matches(r Request) bool {
	return st.Principal.matches(r) && anyMatch(st.Action, r.Action, true) && anyMatch(st.Resource, r.Resource, false) &&
		st.conditionsHold(r)
}

func (p *Principal) matches(r Request) bool {
	if p.Any {
		return true
	}
	for _, svc := range p.Service {
		if r.Service != "" && svc == r.Service {
			return true
		}
	}
	for _, a := range p.AWS {
		switch {
		case a == "*", a == r.Account, a == "arn:aws:iam::"+r.Account+":root":
			return true
		case r.PrincipalARN != "" && a == r.PrincipalARN:
			return true
		}
	}
	return false
}

// anyMatch says whether one of patterns (with * and ? wildcards) matches s; actions are
// matched without regard to case, as IAM does.
func anyMatch(patterns Strings, s string, fold bool) bool {
	if fold {
		s = strings.ToLower(s)
	}
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if wildcard(p, s) {
			return true
		}
	}
	return false
}

// wildcard matches s against p, where * is any run of characters and ? one character.
func wildcard(p, s string) bool {
	if !strings.ContainsAny(p, "*?") {
		return p == s
	}
	// path.Match treats '/' specially and '[' as a class: escape them away.
	esc := strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`).Replace(p)
	ok, err := path.Match(strings.ReplaceAll(esc, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

// conditionsHold evaluates the statement's conditions: every operator's every key must hold
// for one of its values. An operator or key Conveyor does not know does not hold.
func (st *Statement) conditionsHold(r Request) bool {
	for op, keys := range st.Condition {
		for key, values := range keys {
			have, ok := r.Context[key]
			switch key {
			case "aws:PrincipalAccount", "aws:SourceAccount":
				if !ok {
					have, ok = r.Account, true
				}
			}
			if !ok {
				return false
			}
			var hold bool
			switch op {
			case "StringEquals", "ArnEquals":
				hold = anyMatchExact(values, have)
			case "StringLike", "ArnLike":
				hold = anyMatch(values, have, false)
			case "StringNotEquals", "ArnNotEquals":
				hold = !anyMatchExact(values, have)
			default:
				return false
			}
			if !hold {
				return false
			}
		}
	}
	return true
}

func anyMatchExact(values Strings, s string) bool {
	for _, v := range values {
		if v == s {
			return true
		}
	}
	return false
}
