// Package transform holds what an EventBridge rule target sends instead of the
// matched event: a constant Input, the part of the event an InputPath selects,
// or the text an InputTransformer builds from an InputPathsMap and an
// InputTemplate.
//
// Compile validates a target's settings once, at PutTargets time, and returns
// a *ValidationError carrying AWS's message when they are refused; the API
// layer turns it into a ValidationException. Violations lists the breaches of
// the request shape (lengths, map size, key pattern) for the API layer's
// "N validation errors detected" message. Apply runs on the delivery hot
// path: paths are compiled once into a tree, and one pass of a small scanner
// over the raw event bytes finds all of a template's values without building
// a tree of the event.
//
// The rules, as AWS documents them:
//
//   - At most one of Input, InputPath and InputTransformer; none sends the
//     event as it is.
//   - Input is JSON text (8,192 characters at most), sent as it is.
//   - InputPath and InputPathsMap values are JSON paths in dot notation with
//     array indexes ($.detail.state, $.resources[0]); 256 characters at most.
//   - InputPathsMap has at most 100 keys matching [A-Za-z0-9_-]+ (so the
//     predefined aws.events.* names cannot be keys); InputTemplate has 1 to
//     8,192 characters, and every <name> in it must be a key or one of the
//     predefined variables <aws.events.rule-arn>, <aws.events.rule-name>,
//     <aws.events.event.ingestion-time>, <aws.events.event> (the event
//     without detail) and <aws.events.event.json> (the whole event).
//   - A template that begins with '{' or '[' is JSON: it must parse once each
//     placeholder outside a string stands for a value. There a string value
//     is written quoted and any other value as JSON. Inside a string a
//     value is written with JSON string escaping and no quotes, an object or
//     array compact with the quotes of its strings removed. Outside strings
//     in a template that is not JSON, values are written raw.
//   - A path that selects nothing gives null as a whole JSON value and
//     nothing elsewhere; an InputPath that selects nothing sends null.
//
// The package knows nothing of HTTP, AWS error shapes or storage.
package transform
