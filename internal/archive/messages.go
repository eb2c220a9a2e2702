package archive

import (
	"github.com/conveyor/conveyor/internal/awsapi"
)

// The error texts of archives and replays, in one place. "AWS" marks texts
// known to be EventBridge's; "style" marks texts in AWS's style where the
// exact text is not known.

// errBusNotFound: AWS.
func errBusNotFound(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Event bus %s does not exist.", name)
}

// errArchiveExists: AWS.
func errArchiveExists(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceAlreadyExistsException, "Archive %s already exists.", name)
}

// errArchiveNotFound: AWS.
func errArchiveNotFound(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Archive %s does not exist.", name)
}

// errReplayExists: AWS.
func errReplayExists(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceAlreadyExistsException, "Replay %s already exists.", name)
}

// errReplayNotFound: AWS.
func errReplayNotFound(name string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Replay %s does not exist.", name)
}

// errRuleNotFound: AWS.
func errRuleNotFound(rule, bus string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Rule %s does not exist on EventBus %s.", rule, bus)
}

// errInvalidParameter: AWS ("Parameter X is not valid.").
func errInvalidParameter(member string) *awsapi.Error {
	return awsapi.ValidationError("Parameter " + member + " is not valid.")
}

// errCrossBusReplay: AWS.
func errCrossBusReplay() *awsapi.Error {
	return awsapi.ValidationError("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.")
}

// errReplayArchiveNotFound: AWS (StartReplay from an archive that does not
// exist is a ValidationException, not a ResourceNotFoundException).
func errReplayArchiveNotFound(name string) *awsapi.Error {
	return awsapi.ValidationError("Parameter EventSourceArn is not valid. Reason: Archive " + name + " does not exist.")
}

// errTimeOrder: AWS (also when the times are equal).
func errTimeOrder() *awsapi.Error {
	return awsapi.ValidationError("Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.")
}

// errNothingToUpdate: AWS (UpdateArchive checks it before it looks the
// archive up).
func errNothingToUpdate() *awsapi.Error {
	return awsapi.ValidationError("At least one of EventPattern, RetentionDays or Description must be provided.")
}

// errTooManyReplays: AWS (more than Config.ReplayLimit replays STARTING or
// RUNNING in the account and region).
func errTooManyReplays() *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeLimitExceededException, "The requested resource exceeds the maximum number allowed.")
}

// errOneFilter: AWS's words, its " : " included (ListArchives and
// ListReplays take one of NamePrefix, EventSourceArn and State at a time).
func errOneFilter(op string) *awsapi.Error {
	return awsapi.ValidationError("At most one filter is allowed for " + op + ". Use either : State, EventSourceArn, or NamePrefix.")
}

// oneFilter refuses a list call given more than one of its filters.
func oneFilter(op string, namePrefix, eventSourceArn, state *string) error {
	n := 0
	for _, f := range []*string{namePrefix, eventSourceArn, state} {
		if f != nil {
			n++
		}
	}
	if n > 1 {
		return errOneFilter(op)
	}
	return nil
}

// errFilterNotOnBus: style.
func errFilterNotOnBus(arn, bus string) *awsapi.Error {
	return awsapi.ValidationError("Parameter Destination.FilterArns is not valid. Reason: " + arn + " is not a rule of event bus " + bus + ".")
}

// errNotCancellable: style.
func errNotCancellable(name, state string) *awsapi.Error {
	return awsapi.Errorf(awsapi.CodeIllegalStatusException, "Replay %s cannot be cancelled in state %s.", name, state)
}
