package catalog

import (
	"strings"
)

// ARN is an Amazon Resource Name taken apart:
// arn:<Partition>:<Service>:<Region>:<Account>:<Resource>.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// ParseARN splits s into its six fields. It reports false when s is not
// syntactically an ARN: fewer than six colon-separated fields, an empty
// partition, service or resource.
func ParseARN(s string) (ARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, false
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

// String joins the fields back into an ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

func (c *Catalog) arn(resource string) string {
	return ARN{Partition: "aws", Service: "events", Region: c.region, Account: c.account, Resource: resource}.String()
}

// Region returns the region the catalog's ARNs are in.
func (c *Catalog) Region() string { return c.region }

// Account returns the account the catalog's ARNs are in.
func (c *Catalog) Account() string { return c.account }

// BusARN returns the ARN of the bus named name.
func (c *Catalog) BusARN(name string) string { return c.arn("event-bus/" + name) }

// RuleARN returns the ARN of a rule: rule/<name> on the default bus,
// rule/<bus>/<name> on any other bus, as AWS forms them.
func (c *Catalog) RuleARN(bus, name string) string {
	if bus == DefaultBusName {
		return c.arn("rule/" + name)
	}
	return c.arn("rule/" + bus + "/" + name)
}

// ConnectionARN returns the ARN of a connection; id is the random suffix AWS
// gives each connection.
func (c *Catalog) ConnectionARN(name, id string) string {
	return c.arn("connection/" + name + "/" + id)
}

// APIDestinationARN returns the ARN of an API destination; id is the random
// suffix AWS gives each destination.
func (c *Catalog) APIDestinationARN(name, id string) string {
	return c.arn("api-destination/" + name + "/" + id)
}

// SecretARN returns the Secrets Manager ARN AWS shows for a connection's
// secret.
func (c *Catalog) SecretARN(connection, id string) string {
	return ARN{Partition: "aws", Service: "secretsmanager", Region: c.region, Account: c.account,
		Resource: "secret:events!connection/" + connection + "/" + id}.String()
}

// BusNameFromARN returns the bus name in an event-bus ARN of this catalog's
// region and account.
func (c *Catalog) BusNameFromARN(s string) (string, bool) {
	ref, ok := c.ParseResourceARN(s)
	if !ok || ref.Kind != KindBus {
		return "", false
	}
	return ref.Name, true
}

// ResourceRef names a catalog record, as an ARN addresses it.
type ResourceRef struct {
	Kind Kind
	// Bus is the bus of a rule, or the bus itself for KindBus.
	Bus string
	// Name is the record's name (the bus name for KindBus).
	Name string
	// ID is the random suffix of a connection or API destination ARN.
	ID string
}

// ParseResourceARN resolves an EventBridge ARN of this catalog's region and
// account to the record it names. It does not look the record up.
func (c *Catalog) ParseResourceARN(s string) (ResourceRef, bool) {
	a, ok := ParseARN(s)
	if !ok || a.Service != "events" || a.Region != c.region || a.Account != c.account {
		return ResourceRef{}, false
	}
	typ, rest, ok := strings.Cut(a.Resource, "/")
	if !ok || rest == "" {
		return ResourceRef{}, false
	}
	switch typ {
	case "event-bus":
		return ResourceRef{Kind: KindBus, Bus: rest, Name: rest}, true
	case "rule":
		// Rule names have no '/'; bus names may (partner buses).
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			return ResourceRef{Kind: KindRule, Bus: DefaultBusName, Name: rest}, true
		}
		if i == 0 || i == len(rest)-1 {
			return ResourceRef{}, false
		}
		return ResourceRef{Kind: KindRule, Bus: rest[:i], Name: rest[i+1:]}, true
	case "connection", "api-destination":
		name, id, ok := strings.Cut(rest, "/")
		if !ok || name == "" || id == "" || strings.Contains(id, "/") {
			return ResourceRef{}, false
		}
		kind := KindConnection
		if typ == "api-destination" {
			kind = KindAPIDestination
		}
		return ResourceRef{Kind: kind, Name: name, ID: id}, true
	}
	return ResourceRef{}, false
}
