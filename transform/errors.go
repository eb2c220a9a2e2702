package transform

import (
	"fmt"
	"strings"
)

// A ValidationError is a target setting that AWS refuses at PutTargets time.
// Message is AWS's text; the API layer sends it as a ValidationException.
type ValidationError struct {
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

// The messages of this package, in one place. The ones marked "AWS" are the
// texts EventBridge answers; the others follow AWS's style where the exact
// text is not known (see the package's report in the repository history).
const (
	// AWS: PutTargets with more than one of Input, InputPath, InputTransformer.
	msgExclusive = "Only one of Input, InputPath, or InputTransformer must be provided for target %s."
	// AWS: a placeholder that names neither an InputPathsMap key nor a
	// predefined variable.
	msgInvalidPlaceholder = "InputTemplate for target %s contains invalid placeholder %s."
	// AWS (Jackson's location appended): an InputTemplate that begins like
	// JSON but is not JSON once its placeholders stand for values.
	msgInvalidTemplate = "Invalid InputTemplate for target %s : %s"
	// Style of AWS: Input must be JSON text.
	msgInvalidInput = "Invalid Input for target %s : %s"
	// Style of AWS: InputPath must be a JSON path EventBridge supports.
	msgInvalidInputPath = "Invalid InputPath for target %s : %s"
	// Style of AWS: every InputPathsMap value must be such a JSON path.
	msgInvalidPathsMap = "Invalid InputPathsMap for target %s : %s"
	// AWS's request-shape validation (Coral): one violation.
	msgOneViolation = "1 validation error detected: %s"
)

// MaxOutputBytes bounds what a target receives: EventBridge's largest
// event, 256 KB. A transform whose output would be larger fails with an
// *OutputTooLargeError before more than this much is built.
const MaxOutputBytes = 256 << 10

// An OutputTooLargeError is a transform whose output, for one event, would
// be larger than MaxOutputBytes (a template repeating a large value, say).
// Trying again cannot help: the delivery fails for good.
type OutputTooLargeError struct {
	// At least is how many bytes had been built when the bound was passed.
	AtLeast int
}

func (e *OutputTooLargeError) Error() string {
	return fmt.Sprintf("the transformed input is larger than %d bytes (%d or more)", MaxOutputBytes, e.AtLeast)
}

func validationErrorf(format string, args ...any) *ValidationError {
	return &ValidationError{Message: fmt.Sprintf(format, args...)}
}

// jacksonLocation renders where a JSON parse failed the way AWS's messages
// show it (they come from Jackson): the source text, cut after 500
// characters, then the 1-based line and column.
func jacksonLocation(src string, line, col int) string {
	const maxShown = 500
	var b strings.Builder
	b.WriteString(`[Source: (String)"`)
	if r := []rune(src); len(r) > maxShown {
		b.WriteString(string(r[:maxShown]))
		fmt.Fprintf(&b, `"[truncated %d chars]`, len(r)-maxShown)
	} else {
		b.WriteString(src)
		b.WriteByte('"')
	}
	fmt.Fprintf(&b, "; line: %d, column: %d]", line, col)
	return b.String()
}
