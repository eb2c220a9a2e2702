package targets

import "testing"

func FuzzParseARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:events:us-east-1:000000000000:api-destination/hook/0d2a4b6c",
		"arn:aws:events:us-east-1:000000000000:event-bus/aws.partner/x",
		"arn:aws:logs:us-east-1:000000000000:log-group:/aws/events/x:*",
		"arn:aws:sqs:us-east-1:000000000000:q",
		StdoutARN,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		a, err := ParseARN(arn)
		if err != nil {
			return
		}
		if a.Kind == KindUnknown {
			t.Fatalf("ParseARN(%q) succeeded with an unknown kind", arn)
		}
		if a.Kind == KindLogGroup {
			if err := checkLogGroup(a.Name); err != nil {
				t.Fatalf("ParseARN(%q) accepted log group %q: %v", arn, a.Name, err)
			}
		}
	})
}
