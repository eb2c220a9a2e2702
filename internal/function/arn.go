package function

import (
	"github.com/conveyor/conveyor/internal/scope"

	"fmt"
	"regexp"
	"strings"
)

// ARN is a parsed Lambda function ARN,
// arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>].
type ARN struct {
	Partition string
	Region    string
	Account   string
	// Name is the function's name.
	Name string
	// Qualifier is the version or alias after the name ("" for none).
	Qualifier string
}

// String returns the ARN in its text form.
func (a ARN) String() string {
	s := "arn:" + a.Partition + ":lambda:" + a.Region + ":" + a.Account + ":function:" + a.Name
	if a.Qualifier != "" {
		s += ":" + a.Qualifier
	}
	return s
}

// Lambda's constraints: function names are 1 to 64 letters, digits, '-' or
// '_'; a qualifier is $LATEST, a version number or an alias name.
var (
	nameRe      = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	qualifierRe = regexp.MustCompile(`^(\$LATEST|[0-9]{1,10}|[a-zA-Z0-9_-]{1,128})$`)
)

// ValidName reports whether name is a valid Lambda function name.
func ValidName(name string) bool { return nameRe.MatchString(name) }

// ParseARN parses a Lambda function ARN, with or without a qualifier.
func ParseARN(s string) (ARN, error) {
	g, ok := scope.ParseARN(s)
	res := strings.Split(g.Resource, ":")
	if !ok || g.Service != "lambda" || len(res) < 2 || len(res) > 3 || res[0] != "function" {
		return ARN{}, fmt.Errorf("%q is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>])", s)
	}
	a := ARN{Partition: g.Partition, Region: g.Region, Account: g.Account, Name: res[1]}
	if !ValidName(a.Name) {
		return ARN{}, fmt.Errorf("function ARN %q: name %q must be 1 to 64 letters, digits, '-' or '_'", s, a.Name)
	}
	if len(res) == 3 {
		a.Qualifier = res[2]
		if !qualifierRe.MatchString(a.Qualifier) {
			return ARN{}, fmt.Errorf("function ARN %q: qualifier %q is not $LATEST, a version or an alias", s, a.Qualifier)
		}
	}
	return a, nil
}
