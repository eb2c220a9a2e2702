package audit

import (
	"github.com/conveyor/conveyor/internal/scope"

	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// Resource types, as CloudTrail names them.
const (
	TypeEventBus       = "AWS::Events::EventBus"
	TypeRule           = "AWS::Events::Rule"
	TypeConnection     = "AWS::Events::Connection"
	TypeAPIDestination = "AWS::Events::ApiDestination"
	TypeArchive        = "AWS::Events::Archive"
	TypeReplay         = "AWS::Events::Replay"
	TypeEndpoint       = "AWS::Events::Endpoint"
	TypeQueue          = "AWS::SQS::Queue"
	TypeBucket         = "AWS::S3::Bucket"
	TypeFunction       = "AWS::Lambda::Function"
	TypeObject         = "AWS::S3::Object"
)

// members holds the request and response members resources are derived
// from; absent members are empty.
type members struct {
	Name, EventBusName, Rule, ResourceARN, ArchiveName, ReplayName string
	EventSourceArn, QueueUrl, QueueName                            string
	RuleArn, EventBusArn, ConnectionArn, ApiDestinationArn         string
	ArchiveArn, ReplayArn, EndpointArn, Arn                        string
	FunctionName, FunctionArn                                      string
	Entries                                                        []struct{ EventBusName string }
}

// field returns the string member called name (exactly, or when exact is
// false as encoding/json matches names: exactly, else by case folding), or
// nil.
func (m *members) field(name []byte, exact bool) *string {
	fields := [...]struct {
		name string
		v    *string
	}{{"Name", &m.Name}, {"EventBusName", &m.EventBusName}, {"Rule", &m.Rule}, {"ResourceARN", &m.ResourceARN},
		{"ArchiveName", &m.ArchiveName}, {"ReplayName", &m.ReplayName}, {"EventSourceArn", &m.EventSourceArn},
		{"QueueUrl", &m.QueueUrl}, {"QueueName", &m.QueueName}, {"RuleArn", &m.RuleArn}, {"EventBusArn", &m.EventBusArn},
		{"ConnectionArn", &m.ConnectionArn}, {"ApiDestinationArn", &m.ApiDestinationArn}, {"ArchiveArn", &m.ArchiveArn},
		{"ReplayArn", &m.ReplayArn}, {"EndpointArn", &m.EndpointArn}, {"Arn", &m.Arn},
		{"FunctionName", &m.FunctionName}, {"FunctionArn", &m.FunctionArn}}
	for _, f := range fields {
		if string(name) == f.name {
			return f.v
		}
	}
	if !exact {
		for _, f := range fields {
			if bytes.EqualFold(name, []byte(f.name)) {
				return f.v
			}
		}
	}
	return nil
}

// scan fills m from body as json.Unmarshal would (names matched exactly
// when exact, as awsapi.Unmarshal matches them), without reflection. It
// gives up (false) on a request with Entries (a list) and leaves m
// unspecified: the caller then decodes the body with encoding/json.
func (m *members) scan(body []byte, exact, valid bool) bool {
	if !valid && !json.Valid(body) {
		return true // json.Unmarshal would fill nothing
	}
	s := &fieldScanner{b: body}
	if s.peek() != '{' {
		return true // not an object: nothing filled either
	}
	err := s.object(func(key []byte) error {
		if exact && string(key) == "Entries" {
			return errEntries
		}
		v := m.field(key, exact)
		if v == nil || s.peek() != '"' {
			// Another member, or a value of another type: json.Unmarshal
			// skips it (with an error, which is ignored), or null, which
			// leaves the field as it is.
			return s.skip()
		}
		return s.str(v)
	})
	return err == nil
}

var errEntries = errors.New("entries")

// requestMembers reads the members of a request that name resources
// (reqJSON: req is known to be JSON).
func requestMembers(req []byte, reqJSON bool) members {
	var in members
	if len(req) > 0 && !in.scan(req, true, reqJSON) {
		// Member names match exactly, as the service decoded them: a member
		// spelled otherwise was not the one acted on. (Decoded into a
		// members of its own, so that in stays off the heap.)
		var dec members
		_ = awsapi.Unmarshal(req, &dec) // a malformed request names no resource
		in = dec
	}
	return in
}

// responseMembers reads the members of a successful call's response that
// name resources (respJSON: resp is known to be JSON).
func responseMembers(resp []byte, respJSON bool) members {
	var out members
	if len(resp) > 0 && !out.scan(resp, false, respJSON) {
		var dec members // of its own: out stays off the heap
		_ = json.Unmarshal(resp, &dec)
		out = dec
	}
	return out
}

// resourcesOf lists the resources a call names: from its request's members
// in (see requestMembers) and, for ARNs that only the service knows (a
// connection's), its response's, out (see responseMembers).
func resourcesOf(service, op, region, account string, in, out *members) []Resource {
	arn := func(kind, name string) string {
		return "arn:aws:" + service + ":" + region + ":" + account + ":" + kind + "/" + name
	}
	busARN := func(name string) string {
		if name == "" {
			name = "default"
		}
		if strings.HasPrefix(name, "arn:") {
			return name
		}
		return arn("event-bus", name)
	}
	one := func(typ, arn string) []Resource { return []Resource{{Type: typ, ARN: arn}} }
	first := func(s ...string) string {
		for _, x := range s {
			if x != "" {
				return x
			}
		}
		return ""
	}

	switch serviceOf(EventSource(service)) {
	case "events":
		service = "events"
		switch op {
		case "CreateEventBus", "DeleteEventBus", "DescribeEventBus", "UpdateEventBus":
			return one(TypeEventBus, first(out.EventBusArn, out.Arn, busARN(in.Name)))
		case "PutPermission", "RemovePermission", "ListRules":
			return one(TypeEventBus, busARN(in.EventBusName))
		case "PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule",
			"PutTargets", "RemoveTargets", "ListTargetsByRule":
			name := first(in.Name, in.Rule)
			if name == "" {
				return nil
			}
			return one(TypeRule, first(out.RuleArn, ruleARN(region, account, in.EventBusName, name)))
		case "CreateConnection", "DeleteConnection", "DescribeConnection", "UpdateConnection",
			"DeauthorizeConnection":
			if in.Name == "" {
				return nil
			}
			return one(TypeConnection, first(out.ConnectionArn, arn("connection", in.Name)))
		case "CreateApiDestination", "DeleteApiDestination", "DescribeApiDestination",
			"UpdateApiDestination":
			if in.Name == "" {
				return nil
			}
			return one(TypeAPIDestination, first(out.ApiDestinationArn, arn("api-destination", in.Name)))
		case "CreateArchive", "DeleteArchive", "DescribeArchive", "UpdateArchive":
			if in.ArchiveName == "" {
				return nil
			}
			res := one(TypeArchive, first(out.ArchiveArn, arn("archive", in.ArchiveName)))
			if in.EventSourceArn != "" {
				res = append(res, Resource{Type: TypeEventBus, ARN: in.EventSourceArn})
			}
			return res
		case "StartReplay", "CancelReplay", "DescribeReplay":
			if in.ReplayName == "" {
				return nil
			}
			return one(TypeReplay, first(out.ReplayArn, arn("replay", in.ReplayName)))
		case "CreateEndpoint", "DeleteEndpoint", "DescribeEndpoint", "UpdateEndpoint":
			if in.Name == "" {
				return nil
			}
			return one(TypeEndpoint, first(out.Arn, out.EndpointArn, arn("endpoint", in.Name)))
		case "TagResource", "UntagResource", "ListTagsForResource":
			if t := typeOfARN(in.ResourceARN); t != "" {
				return one(t, in.ResourceARN)
			}
		case "PutEvents":
			var res []Resource
			seen := map[string]bool{}
			for _, e := range in.Entries {
				a := busARN(e.EventBusName)
				if !seen[a] {
					seen[a] = true
					res = append(res, Resource{Type: TypeEventBus, ARN: a})
				}
			}
			return res
		}
	case "lambda":
		// A call naming a function (in its path, or its body), or answering one.
		if a := first(out.FunctionArn, functionARN(in.FunctionName, region, account)); a != "" {
			return one(TypeFunction, a)
		}
	case "sqs":
		if u := first(in.QueueUrl, out.QueueUrl); u != "" {
			if a := queueARN(u, region, account); a != "" {
				return one(TypeQueue, a)
			}
		}
		if in.QueueName != "" {
			return one(TypeQueue, "arn:aws:sqs:"+region+":"+account+":"+in.QueueName)
		}
	}
	return nil
}

// functionARN is the unqualified ARN of the function a FunctionName member names (a name,
// a partial ARN or an ARN, with or without a qualifier), "" for none.
func functionARN(ref, region, account string) string {
	if ref == "" {
		return ""
	}
	if strings.HasPrefix(ref, "arn:") {
		parts := strings.Split(ref, ":")
		if len(parts) < 7 || parts[5] != "function" {
			return ""
		}
		return strings.Join(parts[:7], ":")
	}
	parts := strings.Split(ref, ":")
	switch {
	case len(parts) >= 3 && parts[1] == "function": // ACCOUNT:function:NAME[:QUALIFIER]
		account, ref = parts[0], parts[2]
	default: // NAME[:QUALIFIER]
		ref = parts[0]
	}
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + ref
}

// ruleARN is AWS's rule ARN: rule/NAME on the default bus, rule/BUS/NAME on
// any other.
func ruleARN(region, account, bus, name string) string {
	if strings.HasPrefix(bus, "arn:") {
		if i := strings.Index(bus, ":event-bus/"); i >= 0 {
			bus = bus[i+len(":event-bus/"):]
		}
	}
	if bus == "" || bus == "default" {
		return "arn:aws:events:" + region + ":" + account + ":rule/" + name
	}
	return "arn:aws:events:" + region + ":" + account + ":rule/" + bus + "/" + name
}

// queueARN derives a queue's ARN from its URL (http://host/ACCOUNT/NAME).
func queueARN(queueURL, region, account string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) == 0 || parts[len(parts)-1] == "" {
		return ""
	}
	if len(parts) >= 2 && accountID.MatchString(parts[len(parts)-2]) {
		account = parts[len(parts)-2]
	}
	return "arn:aws:sqs:" + region + ":" + account + ":" + parts[len(parts)-1]
}

// typeOfARN names the resource type of an ARN, or "" when it is not one
// Conveyor knows.
func typeOfARN(arn string) string {
	a, ok := scope.ParseARN(arn)
	if !ok {
		return ""
	}
	res := a.Resource
	switch a.Service {
	case "events":
		kind, _, _ := strings.Cut(res, "/")
		switch kind {
		case "event-bus":
			return TypeEventBus
		case "rule":
			return TypeRule
		case "connection":
			return TypeConnection
		case "api-destination":
			return TypeAPIDestination
		case "archive":
			return TypeArchive
		case "replay":
			return TypeReplay
		case "endpoint":
			return TypeEndpoint
		}
	case "sqs":
		return TypeQueue
	case "s3":
		if strings.Contains(res, "/") {
			return TypeObject
		}
		return TypeBucket
	}
	return ""
}

// ResourceName is the name the event history shows for a resource ARN: a
// rule's, bus's, connection's or queue's own name, a bucket's name, and for
// other services the resource's ID after its type ("i-1234567" for an EC2
// instance, as AWS's LookupEvents shows it): a function's, role's or log
// group's name.
func ResourceName(arn string) string {
	a, ok := scope.ParseARN(arn)
	if !ok {
		return arn
	}
	res := a.Resource
	switch a.Service {
	case "events":
		kind, rest, ok := strings.Cut(res, "/")
		if !ok {
			return res
		}
		switch kind {
		case "rule":
			// rule/BUS/NAME on a custom bus
			if i := strings.LastIndex(rest, "/"); i >= 0 {
				return rest[i+1:]
			}
		case "connection", "api-destination":
			// connection/NAME/UUID
			name, _, _ := strings.Cut(rest, "/")
			return name
		}
		return rest
	case "s3", "sqs", "sns":
		// A bucket (or an object's path), a queue, a topic: no type.
		return res
	}
	i := strings.IndexAny(res, "/:")
	if i < 0 {
		return res
	}
	rest := res[i+1:]
	switch a.Service {
	case "iam":
		// role/PATH/NAME: the name is last.
		return rest[strings.LastIndex(rest, "/")+1:]
	case "lambda":
		// function:NAME or function:NAME:QUALIFIER
		name, _, _ := strings.Cut(rest, ":")
		return name
	case "logs":
		// log-group:NAME or log-group:NAME:*
		return strings.TrimSuffix(rest, ":*")
	}
	if rest == "" {
		return res
	}
	return rest
}
