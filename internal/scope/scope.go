package scope

import (
	"fmt"
	"regexp"
	"strings"
)

// Scope is an AWS account and region.
type Scope struct {
	Account string `json:"account"`
	Region  string `json:"region"`
}

var (
	account = regexp.MustCompile(`^\d{12}$`)
	// region is what a region name may be: AWS's (us-east-1, us-gov-west-1) and local names
	// such as "local", lower-case letters, digits and hyphens.
	region = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// ValidRegion says whether r can be a region.
func ValidRegion(r string) bool { return region.MatchString(r) }

// ValidAccount says whether a is an account id (12 digits).
func ValidAccount(a string) bool { return account.MatchString(a) }

// Validate says what is wrong with s, if anything.
func (s Scope) Validate() error {
	if !ValidAccount(s.Account) {
		return fmt.Errorf("scope: account %q is not 12 digits", s.Account)
	}
	if !ValidRegion(s.Region) {
		return fmt.Errorf("scope: region %q is not a region name", s.Region)
	}
	return nil
}

// ARN is the ARN of resource of service in s (partition aws).
func (s Scope) ARN(service, resource string) string {
	return "arn:aws:" + service + ":" + s.Region + ":" + s.Account + ":" + resource
}

// String is "account/region".
func (s Scope) String() string { return s.Account + "/" + s.Region }

// ARN is an Amazon Resource Name taken apart:
// arn:<Partition>:<Service>:<Region>:<Account>:<Resource>.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// ParseARN splits s into its six fields. It reports false when s is not syntactically an
// ARN: fewer than six colon-separated fields, an empty partition, service or resource.
func ParseARN(s string) (ARN, bool) {
	// Cut, not Split: no allocation (every delivery parses its rule's and
	// target's ARNs).
	var parts [6]string
	rest := s
	for i := range 5 {
		var ok bool
		if parts[i], rest, ok = strings.Cut(rest, ":"); !ok {
			return ARN{}, false
		}
	}
	parts[5] = rest
	if parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, false
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

// String joins the fields back into an ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// Scope is the account and region of the ARN.
func (a ARN) Scope() Scope { return Scope{Account: a.Account, Region: a.Region} }
