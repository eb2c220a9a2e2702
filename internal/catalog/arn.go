package catalog

import (
	"strings"

	"github.com/conveyor/conveyor/internal/scope"
)

func (s *Scoped) arn(resource string) string { return s.scope.ARN("events", resource) }

// BusARN returns the ARN of the bus named name.
func (s *Scoped) BusARN(name string) string { return s.arn("event-bus/" + name) }

// RuleARN returns the ARN of a rule: rule/<name> on the default bus,
// rule/<bus>/<name> on any other bus, as AWS forms them.
func (s *Scoped) RuleARN(bus, name string) string {
	if bus == DefaultBusName {
		return s.arn("rule/" + name)
	}
	return s.arn("rule/" + bus + "/" + name)
}

// ConnectionARN returns the ARN of a connection; id is the random suffix AWS
// gives each connection.
func (s *Scoped) ConnectionARN(name, id string) string {
	return s.arn("connection/" + name + "/" + id)
}

// APIDestinationARN returns the ARN of an API destination; id is the random
// suffix AWS gives each destination.
func (s *Scoped) APIDestinationARN(name, id string) string {
	return s.arn("api-destination/" + name + "/" + id)
}

// SecretARN returns the Secrets Manager ARN AWS shows for a connection's
// secret.
func (s *Scoped) SecretARN(connection, id string) string {
	return s.scope.ARN("secretsmanager", "secret:events!connection/"+connection+"/"+id)
}

// BusNameFromARN returns the bus name in an event-bus ARN of the scope.
func (s *Scoped) BusNameFromARN(arn string) (string, bool) {
	ref, ok := s.ParseResourceARN(arn)
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

// ParseResourceARN resolves an EventBridge ARN of the scope to the record it
// names (false for an ARN of another scope). It does not look the record up.
func (s *Scoped) ParseResourceARN(arn string) (ResourceRef, bool) {
	sc, ref, ok := ParseResourceARN(arn)
	if !ok || sc != s.scope {
		return ResourceRef{}, false
	}
	return ref, true
}

// ParseResourceARN resolves an EventBridge ARN to the scope and the record it
// names. It does not look the record up.
func ParseResourceARN(s string) (scope.Scope, ResourceRef, bool) {
	a, ok := scope.ParseARN(s)
	if !ok || a.Service != "events" {
		return scope.Scope{}, ResourceRef{}, false
	}
	typ, rest, ok := strings.Cut(a.Resource, "/")
	if !ok || rest == "" {
		return scope.Scope{}, ResourceRef{}, false
	}
	sc := a.Scope()
	switch typ {
	case "event-bus":
		return sc, ResourceRef{Kind: KindBus, Bus: rest, Name: rest}, true
	case "rule":
		// Rule names have no '/'; bus names may (partner buses).
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			return sc, ResourceRef{Kind: KindRule, Bus: DefaultBusName, Name: rest}, true
		}
		if i == 0 || i == len(rest)-1 {
			return scope.Scope{}, ResourceRef{}, false
		}
		return sc, ResourceRef{Kind: KindRule, Bus: rest[:i], Name: rest[i+1:]}, true
	case "connection", "api-destination":
		name, id, ok := strings.Cut(rest, "/")
		if !ok || name == "" || id == "" || strings.Contains(id, "/") {
			return scope.Scope{}, ResourceRef{}, false
		}
		kind := KindConnection
		if typ == "api-destination" {
			kind = KindAPIDestination
		}
		return sc, ResourceRef{Kind: kind, Name: name, ID: id}, true
	}
	return scope.Scope{}, ResourceRef{}, false
}
