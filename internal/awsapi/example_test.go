package awsapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/conveyor/conveyor/internal/awsapi"
)

type DescribeRuleInput struct {
	Name         *string `json:"Name"`
	EventBusName *string `json:"EventBusName"`
}

type DescribeRuleOutput struct {
	Name  string `json:"Name"`
	State string `json:"State"`
}

var ruleName = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)

func Example() {
	svc := awsapi.NewEventBridge()
	awsapi.Handle(svc, "DescribeRule", func(ctx context.Context, in *DescribeRuleInput) (*DescribeRuleOutput, error) {
		v := awsapi.NewValidator()
		if v.Required("name", in.Name != nil) {
			v.Length("name", *in.Name, 1, 64)
			v.Pattern("name", *in.Name, ruleName, `[\.\-_A-Za-z0-9]+`)
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		if *in.Name != "r1" {
			return nil, awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Rule %s does not exist on EventBus default.", *in.Name)
		}
		return &DescribeRuleOutput{Name: "r1", State: "ENABLED"}, nil
	})
	srv, err := awsapi.NewServer(awsapi.Config{}, svc)
	if err != nil {
		panic(err)
	}
	for _, body := range []string{`{"Name":"r1"}`, `{"Name":"r2"}`, `{"Name":"my rule"}`, `{"Name":1}`} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AWSEvents.DescribeRule")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 {"Name":"r1","State":"ENABLED"}
	// 400 {"__type":"ResourceNotFoundException","message":"Rule r2 does not exist on EventBus default."}
	// 400 {"__type":"ValidationException","message":"1 validation error detected: Value 'my rule' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"}
	// 400 {"__type":"SerializationException","message":"NUMBER_VALUE can not be converted to a String"}
}
