package awsapi

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestEmbeddedModels(t *testing.T) {
	for _, c := range []struct {
		service string
		ops     []string
	}{
		{"events", []string{"PutRule", "PutEvents", "PutTargets", "DescribeEventBus", "CreateConnection", "TestEventPattern"}},
		{"cloudtrail", []string{"LookupEvents", "CreateTrail"}},
		{"sqs", []string{"GetQueueUrl", "SendMessage", "ReceiveMessage"}},
	} {
		m, err := LoadModel(c.service)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range c.ops {
			if _, ok := m.inputs[op]; !ok {
				t.Errorf("%s model lacks %s", c.service, op)
			}
		}
		var unchecked []string
		for _, op := range m.Operations() {
			walkShapes(m.inputs[op], map[*mshape]bool{}, func(s *mshape) {
				if s.pattern != "" && s.re == nil && !containsString(unchecked, s.pattern) {
					unchecked = append(unchecked, s.pattern)
				}
			})
		}
		// Only patterns RE2 cannot express (look-ahead, surrogate ranges) stay unchecked.
		for _, p := range unchecked {
			if !strings.Contains(p, "(?!") && !strings.Contains(p, `\uD800`) {
				t.Errorf("%s: pattern %q does not compile", c.service, p)
			}
		}
	}
	if _, err := LoadModel("s3"); err == nil {
		t.Error("LoadModel(s3) succeeded")
	}
}

func walkShapes(s *mshape, seen map[*mshape]bool, f func(*mshape)) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	f(s)
	for _, m := range s.members {
		walkShapes(m.shape, seen, f)
	}
	walkShapes(s.member, seen, f)
	walkShapes(s.key, seen, f)
	walkShapes(s.value, seen, f)
}

// Input structs as the handler writers declare them.
type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type putRuleInput struct {
	Name         *string `json:"Name"`
	EventPattern *string `json:"EventPattern"`
	State        string  `json:"State"`
	Description  *string `json:"Description"`
	Tags         []tag   `json:"Tags"`
	EventBusName string  `json:"EventBusName"`
}

type inputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap"`
	InputTemplate *string           `json:"InputTemplate"`
}

type target struct {
	Id               string            `json:"Id"`
	Arn              string            `json:"Arn"`
	InputTransformer *inputTransformer `json:"InputTransformer"`
}

type putTargetsInput struct {
	Rule    string   `json:"Rule"`
	Targets []target `json:"Targets"`
}

type listRulesInput struct {
	NamePrefix string `json:"NamePrefix"`
	Limit      int32  `json:"Limit"`
}

type apiKeyParams struct {
	ApiKeyName  string `json:"ApiKeyName"`
	ApiKeyValue string `json:"ApiKeyValue"`
}

type createConnectionInput struct {
	Name              string `json:"Name"`
	AuthorizationType string `json:"AuthorizationType"`
	AuthParameters    *struct {
		ApiKeyAuthParameters *apiKeyParams `json:"ApiKeyAuthParameters"`
	} `json:"AuthParameters"`
}

type lookupInput struct {
	LookupAttributes []struct {
		AttributeKey   string `json:"AttributeKey"`
		AttributeValue string `json:"AttributeValue"`
	} `json:"LookupAttributes"`
	MaxResults *int32 `json:"MaxResults"`
}

func sp(s string) *string { return &s }
func i32(i int32) *int32  { return &i }

func TestModelValidate(t *testing.T) {
	events, cloudtrail := MustLoadModel("events"), MustLoadModel("cloudtrail")
	long := strings.Repeat("d", 513)
	for _, c := range []struct {
		name  string
		model *Model
		op    string
		in    any
		want  string
	}{
		{"put rule ok", events, "PutRule", &putRuleInput{Name: sp("r1"), State: "ENABLED", Tags: []tag{{Key: "k", Value: ""}}}, ""},
		{"rule name null", events, "PutRule", &putRuleInput{}, "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"rule name empty", events, "PutRule", &putRuleInput{Name: sp("")},
			"2 validation errors detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				`Value '' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`},
		{"rule name, state, description, bus", events, "PutRule",
			&putRuleInput{Name: sp("my rule"), State: "ON", Description: &long, EventBusName: "a b"},
			"4 validation errors detected: " +
				`Value 'my rule' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+; ` +
				"Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]; " +
				"Value '" + long + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 512; " +
				`Value 'a b' at 'eventBusName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+`},
		{"tag key too long", events, "PutRule", &putRuleInput{Name: sp("r"), Tags: []tag{{Key: "ok", Value: "v"}, {Key: strings.Repeat("k", 129), Value: "v"}}},
			"1 validation error detected: Value '" + strings.Repeat("k", 129) + "' at 'tags.2.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"targets empty", events, "PutTargets", &putTargetsInput{Rule: "r", Targets: []target{}},
			"1 validation error detected: Value '[]' at 'targets' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"targets null", events, "PutTargets", &putTargetsInput{Rule: "r"},
			"1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null"},
		{"target id", events, "PutTargets", &putTargetsInput{Rule: "r", Targets: []target{{Id: "bad id", Arn: "arn:x"}}},
			`1 validation error detected: Value 'bad id' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`},
		{"input transformer", events, "PutTargets", &putTargetsInput{Rule: "r", Targets: []target{{Id: "t", Arn: "arn:x",
			InputTransformer: &inputTransformer{InputPathsMap: map[string]string{"bad key": "$.a", "ok": strings.Repeat("p", 257)}}}}},
			"3 validation errors detected: " +
				"Value '{bad key=$.a, ok=" + strings.Repeat("p", 257) + "}' at 'targets.1.member.inputTransformer.inputPathsMap' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]; " +
				"Value '{bad key=$.a, ok=" + strings.Repeat("p", 257) + "}' at 'targets.1.member.inputTransformer.inputPathsMap' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256]; " +
				"Value null at 'targets.1.member.inputTransformer.inputTemplate' failed to satisfy constraint: Member must not be null"},
		{"list rules absent members", events, "ListRules", &listRulesInput{}, ""},
		{"list rules limit", events, "ListRules", &listRulesInput{Limit: 101, NamePrefix: "a:b"},
			`2 validation errors detected: Value 'a:b' at 'namePrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+; ` +
				"Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"sensitive value hidden", events, "CreateConnection", &createConnectionInput{Name: "c", AuthorizationType: "API_KEY",
			AuthParameters: &struct {
				ApiKeyAuthParameters *apiKeyParams `json:"ApiKeyAuthParameters"`
			}{&apiKeyParams{ApiKeyName: "x-api-key", ApiKeyValue: "secret\x01"}}},
			"1 validation error detected: Value at 'authParameters.apiKeyAuthParameters.apiKeyValue' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[ \\t]*[^\\x00-\\x1F:\\x7F]+([ \\t]+[^\\x00-\\x1F:\\x7F]+)*[ \\t]*$"},
		{"lookup max results", cloudtrail, "LookupEvents", &lookupInput{MaxResults: i32(0)},
			"1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"lookup attribute key", cloudtrail, "LookupEvents", &lookupInput{LookupAttributes: []struct {
			AttributeKey   string `json:"AttributeKey"`
			AttributeValue string `json:"AttributeValue"`
		}{{"Nope", "x"}}},
			"1 validation error detected: Value 'Nope' at 'lookupAttributes.1.member.attributeKey' failed to satisfy constraint: Member must satisfy enum value set: [EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId]"},
		{"http method in AWS's order", events, "CreateApiDestination", &struct {
			Name, ConnectionArn, InvocationEndpoint, HttpMethod string
		}{"d", "arn:aws:events:us-east-1:000000000000:connection/c/1", "https://example.com", "FOO"},
			"1 validation error detected: Value 'FOO' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]"},
		{"unknown operation", events, "Nope", &putRuleInput{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.model.Validate(c.op, c.in)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != CodeValidationException || ae.Message != c.want {
				t.Errorf("Validate = %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestCheckInput(t *testing.T) {
	m := MustLoadModel("events")
	if err := m.CheckInput("PutRule", reflect.TypeFor[putRuleInput]()); err != nil {
		t.Errorf("PutRule: %v", err)
	}
	if err := m.CheckInput("PutTargets", reflect.TypeFor[*putTargetsInput]()); err != nil {
		t.Errorf("PutTargets: %v", err)
	}
	type typo struct {
		Name    string `json:"Name"`
		Targets []struct {
			ID  string `json:"ID"`
			Arn string
		}
	}
	err := m.CheckInput("PutTargets", reflect.TypeFor[typo]())
	if err == nil || !strings.Contains(err.Error(), "PutTargets: member Name is not in the model's PutTargetsRequest") ||
		!strings.Contains(err.Error(), "PutTargets.Targets: member ID is not in the model's Target") {
		t.Errorf("CheckInput(typo) = %v", err)
	}
	if err := m.CheckInput("Nope", reflect.TypeFor[typo]()); err == nil {
		t.Error("unknown operation accepted")
	}
}

func TestRedact(t *testing.T) {
	m := MustLoadModel("events")
	in := `{"Name":"c","AuthorizationType":"API_KEY","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"x-api-key","ApiKeyValue":"s3cr3t"},` +
		`"InvocationHttpParameters":{"HeaderParameters":[{"Key":"h","Value":"hv","IsValueSecret":true}]}}}`
	out, err := m.Redact("CreateConnection", []byte(in), "HIDDEN_DUE_TO_SECURITY_REASONS")
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	if strings.Contains(got, "s3cr3t") || !strings.Contains(got, `"ApiKeyValue":"HIDDEN_DUE_TO_SECURITY_REASONS"`) ||
		!strings.Contains(got, `"ApiKeyName":"x-api-key"`) || !strings.Contains(got, `"Value":"HIDDEN_DUE_TO_SECURITY_REASONS"`) {
		t.Errorf("Redact = %s", got)
	}
	plain := []byte(`{"Name":"r"}`)
	if out, err := m.Redact("PutRule", plain, "X"); err != nil || string(out) != string(plain) {
		t.Errorf("Redact(PutRule) = %s, %v", out, err)
	}
	if _, err := m.Redact("CreateConnection", []byte(`{`), "X"); err == nil {
		t.Error("malformed body redacted without error")
	}
}

// BenchmarkModelValidate: a valid PutTargets of five targets, as most
// requests are valid.
func BenchmarkModelValidate(b *testing.B) {
	m := MustLoadModel("events")
	in := &putTargetsInput{Rule: "orders"}
	for i := range 5 {
		in.Targets = append(in.Targets, target{Id: fmt.Sprint("t", i), Arn: "arn:aws:sqs:us-east-1:123456789012:q",
			InputTransformer: &inputTransformer{InputPathsMap: map[string]string{"id": "$.detail.id"}, InputTemplate: sp(`{"id":<id>}`)}})
	}
	for b.Loop() {
		if err := m.Validate("PutTargets", in); err != nil {
			b.Fatal(err)
		}
	}
}
