package targets

import "testing"

func TestParseARN(t *testing.T) {
	cases := []struct {
		arn  string
		kind Kind
		name string
		bad  bool
	}{
		{arn: "arn:aws:events:us-east-1:000000000000:api-destination/hook/0d2a4b6c-1111-2222-3333-444455556666", kind: KindAPIDestination, name: "hook"},
		{arn: "arn:aws:events:us-east-1:000000000000:event-bus/orders", kind: KindBus, name: "orders"},
		{arn: "arn:aws:events:us-east-1:000000000000:event-bus/aws.partner/saas.com/1/x", kind: KindBus, name: "aws.partner/saas.com/1/x"},
		{arn: "arn:aws:logs:us-east-1:000000000000:log-group:/aws/events/orders", kind: KindLogGroup, name: "/aws/events/orders"},
		{arn: "arn:aws:logs:us-east-1:000000000000:log-group:/aws/events/orders:*", kind: KindLogGroup, name: "/aws/events/orders"},
		{arn: "arn:conveyor:log:::stdout", kind: KindStdout},
		{arn: "arn:conveyor:log:::stderr", kind: KindStderr},
		{arn: "arn:aws:events:us-east-1:000000000000:api-destination/hook", bad: true},
		{arn: "arn:aws:events:us-east-1:000000000000:event-bus/", bad: true},
		{arn: "arn:aws:logs:us-east-1:000000000000:log-group:../../etc/passwd", bad: true},
		{arn: "arn:aws:logs:us-east-1:000000000000:log-group:a/./b", bad: true},
		{arn: "arn:aws:logs:us-east-1:000000000000:log-group:///", bad: true},
		{arn: "arn:aws:logs:us-east-1:000000000000:log-group:a b", bad: true},
		{arn: "arn:aws:lambda:us-east-1:000000000000:function:f", kind: KindFunction, name: "f"},
		{arn: "arn:aws:lambda:us-east-1:000000000000:function:f:prod", kind: KindFunction, name: "f"},
		{arn: "arn:aws:sqs:us-east-1:000000000000:q", kind: KindQueue, name: "q"},
		{arn: "arn:aws:sqs:us-east-1:000000000000:", bad: true},
		{arn: "arn:aws:sqs:us-east-1:000000000000:a/b", bad: true},
		{arn: "not an arn", bad: true},
		{arn: "", bad: true},
		{arn: "arn:conveyor:log:::stdin", bad: true},
	}
	for _, c := range cases {
		a, err := ParseARN(c.arn)
		if c.bad {
			if err == nil {
				t.Errorf("ParseARN(%q) = %+v, want an error", c.arn, a)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseARN(%q): %v", c.arn, err)
			continue
		}
		if a.Kind != c.kind || a.Name != c.name {
			t.Errorf("ParseARN(%q) = %v %q, want %v %q", c.arn, a.Kind, a.Name, c.kind, c.name)
		}
	}
}
