// Package transform holds what an EventBridge rule target sends instead of the
// matched event: a constant Input, the part of the event an InputPath selects,
// or the text an InputTransformer builds from an InputPathsMap and an
// InputTemplate.
//
// Compile validates a target's settings once, at PutTargets time, and returns
// a *ValidationError carrying AWS's message when they are refused; the API
// layer turns it into a ValidationException. Apply runs on the delivery hot
// path: paths are compiled once and values are found by a small scanner that
// walks the raw event bytes without building a tree.
//
// The package knows nothing of HTTP, AWS error shapes or storage.
package transform
