package function_test

import (
	"slices"
	"testing"

	"github.com/conveyor/conveyor/internal/function"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "./notify.sh", want: []string{"./notify.sh"}},
		{in: "  python3   resize.py\t--size 100 ", want: []string{"python3", "resize.py", "--size", "100"}},
		{in: `echo 'a b' "c d" e\ f`, want: []string{"echo", "a b", "c d", "e f"}},
		{in: `echo "say \"hi\" \\ \n"`, want: []string{"echo", `say "hi" \ \n`}},
		{in: `echo 'it''s'`, want: []string{"echo", "its"}},
		{in: `echo '' ""`, want: []string{"echo", "", ""}},
		{in: `echo $HOME *.txt | wc`, want: []string{"echo", "$HOME", "*.txt", "|", "wc"}},
		{in: "", want: nil},
		{in: `echo 'open`, bad: true},
		{in: `echo "open`, bad: true},
		{in: `echo "open\"`, bad: true},
	}
	for _, tt := range tests {
		got, err := function.SplitWords(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("SplitWords(%q) error %v, want error %v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad && !slices.Equal(got, tt.want) {
			t.Errorf("SplitWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseSpecs(t *testing.T) {
	tests := []struct {
		in   string
		want []function.Spec
		bad  bool
	}{
		{in: "notify=./notify.sh", want: []function.Spec{{Name: "notify", Command: []string{"./notify.sh"}}}},
		{in: " a = ./a.sh x ;b=echo 'p;q'\n\nc=sh -c \"x;y\";", want: []function.Spec{
			{Name: "a", Command: []string{"./a.sh", "x"}},
			{Name: "b", Command: []string{"echo", "p;q"}},
			{Name: "c", Command: []string{"sh", "-c", "x;y"}},
		}},
		{in: "a=x=y", want: []function.Spec{{Name: "a", Command: []string{"x=y"}}}},
		{in: "", want: nil},
		{in: "noequals", bad: true},
		{in: "=./x", bad: true},
		{in: "a=", bad: true},
		{in: "a b=./x", bad: true},
		{in: "a=./x; b", bad: true},
		{in: "n" + string(make([]byte, 64)) + "=x", bad: true},
	}
	for _, tt := range tests {
		got, err := function.ParseSpecs(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("ParseSpecs(%q) error %v, want error %v", tt.in, err, tt.bad)
			continue
		}
		if tt.bad {
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParseSpecs(%q) = %+v, want %+v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i].Name != tt.want[i].Name || !slices.Equal(got[i].Command, tt.want[i].Command) {
				t.Errorf("ParseSpecs(%q)[%d] = %+v, want %+v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestParseARN(t *testing.T) {
	tests := []struct {
		in   string
		want function.ARN
		bad  bool
	}{
		{in: "arn:aws:lambda:us-east-1:000000000000:function:notify", want: function.ARN{Partition: "aws", Region: "us-east-1", Account: "000000000000", Name: "notify"}},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:notify:$LATEST", want: function.ARN{Partition: "aws", Region: "us-east-1", Account: "000000000000", Name: "notify", Qualifier: "$LATEST"}},
		{in: "arn:aws-cn:lambda:cn-north-1:123456789012:function:a_b-c:12", want: function.ARN{Partition: "aws-cn", Region: "cn-north-1", Account: "123456789012", Name: "a_b-c", Qualifier: "12"}},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:notify:prod", want: function.ARN{Partition: "aws", Region: "us-east-1", Account: "000000000000", Name: "notify", Qualifier: "prod"}},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:", bad: true},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:no/pe", bad: true},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:a:b:c", bad: true},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:a:", bad: true},
		{in: "arn:aws:lambda:us-east-1:000000000000:layer:a", bad: true},
		{in: "arn:aws:sqs:us-east-1:000000000000:function:a", bad: true},
		{in: "notify", bad: true},
	}
	for _, tt := range tests {
		got, err := function.ParseARN(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("ParseARN(%q) error %v, want error %v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad {
			if got != tt.want {
				t.Errorf("ParseARN(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("ParseARN(%q).String() = %q", tt.in, got.String())
			}
		}
	}
}
