package eventbridge

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/targets"
)

// The error texts of the control plane, in one place. "AWS" marks texts
// known to be EventBridge's own; "style" marks texts written in AWS's style
// where the exact text is not known.

// errBusNotFound: AWS.
func errBusNotFound(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Event bus %s does not exist.", name)
}

// errBusExists: AWS.
func errBusExists(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceAlreadyExistsException, "Event bus %s already exists.", name)
}

// errBusNameSlash: AWS (a custom bus name with '/', which only partner buses have).
func errBusNameSlash() *awsapi.Error {
	return awsapi.ValidationError("Event bus name must not contain '/'.")
}

// errEventSourceNotFound: AWS (a partner bus needs its partner event source).
func errEventSourceNotFound(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Event source %s does not exist.", name)
}

// errDeleteDefaultBus: AWS.
func errDeleteDefaultBus() *awsapi.Error {
	return awsapi.ValidationError("Cannot delete event bus default.")
}

// errRuleNotFound: AWS.
func errRuleNotFound(rule, bus string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Rule %s does not exist on EventBus %s.", rule, bus)
}

// errRuleHasTargets: AWS.
func errRuleHasTargets() *awsapi.Error {
	return awsapi.ValidationError("Rule can't be deleted since it has targets.")
}

// errPatternOrSchedule: AWS.
func errPatternOrSchedule() *awsapi.Error {
	return awsapi.ValidationError("Parameter(s) EventPattern or ScheduleExpression must be specified.")
}

// errScheduleNotOnDefaultBus: AWS.
func errScheduleNotOnDefaultBus() *awsapi.Error {
	return awsapi.ValidationError("ScheduleExpression is supported only on the default event bus.")
}

// errScheduleInvalid: AWS.
func errScheduleInvalid() *awsapi.Error {
	return awsapi.ValidationError("Parameter ScheduleExpression is not valid.")
}

// errLimitExceeded: style (AWS's generic quota text, as far as known).
func errLimitExceeded() *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeLimitExceededException, "The requested resource exceeds the maximum number allowed.")
}

// errManagedRule: style.
func errManagedRule(rule, managedBy string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeManagedRuleException,
		"Rule %s is managed by %s. Managed rules can only be changed by their service, or deleted with Force.", rule, managedBy)
}

// errTooManyTags: style.
func errTooManyTags() *awsapi.Error {
	return awsapi.ValidationError(fmt.Sprintf("A resource cannot have more than %d tags.", MaxTagsPerResource))
}

// errResourceNotFound: style, for an ARN that names no bus, rule,
// connection or API destination.
func errResourceNotFound(arn string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Resource %s does not exist.", arn)
}

// errConnectionNotFound: AWS for describe ("Failed to describe the
// connection(s). Connection 'x' does not exist."); the same form with the
// other verbs is style.
func errConnectionNotFound(verb, name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Failed to %s the connection(s). Connection '%s' does not exist.", verb, name)
}

// errConnectionExists: AWS.
func errConnectionExists(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceAlreadyExistsException, "Connection %s already exists.", name)
}

// errDestinationNotFound: AWS for describe ("Failed to describe the
// api-destination(s). An api-destination 'x' does not exist."); other verbs
// style.
func errDestinationNotFound(verb, name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Failed to %s the api-destination(s). An api-destination '%s' does not exist.", verb, name)
}

// errDestinationExists: style.
func errDestinationExists(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceAlreadyExistsException, "An api-destination '%s' already exists.", name)
}

// errAuthParametersMissing: style.
func errAuthParametersMissing(member, authType string) *awsapi.Error {
	return awsapi.ValidationError(fmt.Sprintf("%s must be specified for AuthorizationType %s.", member, authType))
}

// errInsecureEndpoint: style.
func errInsecureEndpoint(endpoint string) *awsapi.Error {
	return awsapi.ValidationError(fmt.Sprintf("Parameter InvocationEndpoint %s is not valid. Reason: only https endpoints are supported (http only on loopback hosts).", endpoint))
}

// Per-entry failures of PutTargets and RemoveTargets (FailedEntries).
const (
	// entryValidation is the ErrorCode of a target PutTargets refuses.
	entryValidation = awsapi.CodeValidationException
	// entryNotFound is the ErrorCode of an id RemoveTargets does not find.
	entryNotFound = awsapi.CodeResourceNotFoundException
)

// errTargetArn: AWS, but for a kind this server is not configured for
// (style). It is PutTargets' answer to a target ARN delivery cannot reach
// (err from TargetChecker.Check). AWS answers a service it does not
// deliver to with "<service> is not a supported service for a target." and
// an ARN not in a form its service takes (a Glue job, say, where Glue
// workflows are targets) with "Parameter <arn> is not valid. Reason:
// Provided Arn is not in correct format.", both ValidationException for the
// whole call (as its other target checks, "RoleArn is required for target
// <arn>."). A kind Conveyor delivers but this server lacks the means for
// (log groups without a log directory): the same form, with the reason.
func errTargetArn(arn string, err error) *awsapi.Error {
	var ae *targets.ARNError
	switch {
	case errors.As(err, &ae) && errors.Is(err, targets.ErrUnsupportedService):
		return awsapi.ValidationError(fmt.Sprintf("%s is not a supported service for a target.", ae.Service))
	case errors.As(err, &ae) && errors.Is(err, targets.ErrNotConfigured):
		return awsapi.ValidationError(fmt.Sprintf("Parameter %s is not valid. Reason: %s.", arn, ae.Detail))
	default:
		return awsapi.ValidationError(fmt.Sprintf("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", arn))
	}
}

// msgDeadLetterNotSQS: style.
func msgDeadLetterNotSQS(arn string) string {
	return fmt.Sprintf("Parameter DeadLetterConfig.Arn %s is not valid. Reason: the dead-letter queue must be an SQS queue ARN (arn:aws:sqs:region:account:queue).", arn)
}

// msgTargetNotFound: style.
func msgTargetNotFound(rule, id string) string {
	return fmt.Sprintf("Rule %s does not have a target with the Id %s.", rule, id)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
