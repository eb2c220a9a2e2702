package policy_test

import (
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/policy"
)

const bus = "arn:aws:events:us-east-1:111111111111:event-bus/orders"

func TestAllows(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"bob","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"events:PutEvents","Resource":"` + bus + `"},
	  {"Sid":"org","Effect":"Allow","Principal":"*","Action":["events:*"],"Resource":"arn:aws:events:us-east-1:111111111111:event-bus/*",
	   "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}},
	  {"Sid":"carol","Effect":"Allow","Principal":{"AWS":["333333333333"]},"Action":"EVENTS:putevents","Resource":"` + bus + `"},
	  {"Sid":"no-carol-payroll","Effect":"Deny","Principal":{"AWS":"333333333333"},"Action":"events:PutEvents","Resource":"arn:aws:events:*:*:event-bus/payroll"}
	]}`
	d, err := policy.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	put := func(account, resource string, ctx map[string]string) policy.Request {
		return policy.Request{Account: account, Action: "events:PutEvents", Resource: resource, Context: ctx}
	}
	payroll := "arn:aws:events:us-east-1:111111111111:event-bus/payroll"
	for _, c := range []struct {
		name string
		r    policy.Request
		want bool
	}{
		{"bob's account", put("222222222222", bus, nil), true},
		{"bob, another bus", put("222222222222", payroll, nil), false},
		{"a stranger", put("444444444444", bus, nil), false},
		{"the organisation", put("444444444444", payroll, map[string]string{"aws:PrincipalOrgID": "o-abc"}), true},
		{"another organisation", put("444444444444", bus, map[string]string{"aws:PrincipalOrgID": "o-xyz"}), false},
		{"carol, action in other case", put("333333333333", bus, nil), true},
		{"carol denied payroll even in the organisation", put("333333333333", payroll, map[string]string{"aws:PrincipalOrgID": "o-abc"}), false},
		{"another action", policy.Request{Account: "222222222222", Action: "events:DeleteRule", Resource: bus}, false},
	} {
		if got := d.Allows(c.r); got != c.want {
			t.Errorf("%s: Allows = %v, want %v", c.name, got, c.want)
		}
	}
	var none *policy.Document
	if none.Allows(put("222222222222", bus, nil)) {
		t.Error("no policy allows")
	}
}

func TestPutRemove(t *testing.T) {
	d := &policy.Document{Version: "2012-10-17"}
	d.Put(policy.Statement{Sid: "a", Effect: "Allow", Principal: &policy.Principal{AWS: policy.Strings{"arn:aws:iam::222222222222:root"}},
		Action: policy.Strings{"events:PutEvents"}, Resource: policy.Strings{bus}})
	d.Put(policy.Statement{Sid: "a", Effect: "Allow", Principal: &policy.Principal{Any: true},
		Action: policy.Strings{"events:PutEvents"}, Resource: policy.Strings{bus}})
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":"` + bus + `"}]}`
	if d.String() != want {
		t.Errorf("document %s\nwant     %s", d, want)
	}
	back, err := policy.Parse(d.String())
	if err != nil || back.String() != want {
		t.Errorf("round trip: %v %v", back, err)
	}
	if !d.Remove("a") || d.Remove("a") || len(d.Statement) != 0 {
		t.Error("Remove")
	}
}

func TestParseRefuses(t *testing.T) {
	for _, doc := range []string{
		`{`,
		`{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"a","Resource":"r"}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"a","Resource":"r"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"someone","Action":"a","Resource":"r"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"Federated":"x"},"Action":"a","Resource":"r"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Resource":"r"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"a"}]}`,
		`{"Statement":[]}` + strings.Repeat(" ", policy.MaxLength),
	} {
		if _, err := policy.Parse(doc); err == nil {
			t.Errorf("accepted %.80q", doc)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"events:*","Resource":"arn:*"}]}`)
	f.Add(`{"Statement":[{"Effect":"Deny","Principal":{"AWS":["1","2"]},"Action":["a"],"Resource":["[/]"],"Condition":{"StringLike":{"k":"*"}}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := policy.Parse(doc)
		if err != nil {
			return
		}
		_ = d.Allows(policy.Request{Account: "1", Action: "a", Resource: "[/]", Context: map[string]string{"k": "v"}})
		if _, err := policy.Parse(d.String()); err != nil {
			t.Fatalf("a parsed policy does not parse again: %v\n%s", err, d)
		}
	})
}

// The policy EventBridge's documentation gives a queue that a rule sends to: the events
// service, for one rule.
func TestServicePrincipal(t *testing.T) {
	q := "arn:aws:sqs:us-east-1:111111111111:jobs"
	d, err := policy.Parse(`{"Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage",
	  "Resource":"` + q + `","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:222222222222:rule/r"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	send := func(service, rule string) bool {
		return d.Allows(policy.Request{Account: "222222222222", Service: service, Action: "sqs:SendMessage", Resource: q,
			Context: map[string]string{"aws:SourceArn": rule}})
	}
	if !send("events.amazonaws.com", "arn:aws:events:us-east-1:222222222222:rule/r") {
		t.Error("the rule may not send")
	}
	if send("events.amazonaws.com", "arn:aws:events:us-east-1:222222222222:rule/other") || send("", "arn:aws:events:us-east-1:222222222222:rule/r") {
		t.Error("another rule, or the account itself, may send")
	}
}
