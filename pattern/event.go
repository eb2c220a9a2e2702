package pattern

import "strings"

// requiredEventFields are the envelope fields an event given to
// TestEventPattern must have. AWS's API documentation also lists
// "resources", but AWS accepts events without it (most recorded cases of
// testdata/eventbridge-patterns.json omit it and still match), so it is not
// required here.
var requiredEventFields = []string{"id", "account", "source", "time", "region", "detail-type"}

// CheckEvent validates an event given to TestEventPattern as AWS does: it
// must be a JSON object with every envelope field AWS requires (id, account,
// source, time, region, detail-type) at its top level. Any value is accepted
// for those fields (AWS takes a "detail-type" that is an array: case
// content_ignorecase_NEG). A bad event gives an *InvalidEventError, whose
// message is AWS's "Parameter Event is not valid.".
func CheckEvent(event []byte) error {
	s := scanner{data: event}
	t, err := s.next()
	if err != nil {
		return eventErr(err)
	}
	if t.kind != tokObject {
		if err := s.skip(t); err != nil {
			return eventErr(err)
		}
		return &InvalidEventError{Reason: "the event is not a JSON object"}
	}
	seen := make([]bool, len(requiredEventFields))
	for first := true; ; first = false {
		key, done, err := s.objectNext(first)
		if err != nil {
			return eventErr(err)
		}
		if done {
			break
		}
		for i, f := range requiredEventFields {
			if key == f {
				seen[i] = true
			}
		}
		v, err := s.next()
		if err != nil {
			return eventErr(err)
		}
		if err := s.skip(v); err != nil {
			return eventErr(err)
		}
	}
	if err := s.end(); err != nil {
		return eventErr(err)
	}
	var missing []string
	for i, ok := range seen {
		if !ok {
			missing = append(missing, requiredEventFields[i])
		}
	}
	if len(missing) > 0 {
		return &InvalidEventError{Reason: "missing required field(s): " + strings.Join(missing, ", ")}
	}
	return nil
}

// eventErr turns a JSON syntax error of the scanner into an event error.
func eventErr(err error) error {
	if e, ok := err.(*InvalidPatternError); ok {
		return &InvalidEventError{Reason: "not valid JSON: " + e.Reason}
	}
	return &InvalidEventError{Reason: err.Error()}
}
