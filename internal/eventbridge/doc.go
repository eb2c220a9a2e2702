// Package eventbridge implements the control plane of the EventBridge API:
// the AWSEvents operations on event buses, rules, targets, connections, API
// destinations and tags, with AWS's validation, limits and error texts.
//
// Each operation is a plain function from a decoded input struct (AWS's
// member names) to an output struct or an *awsapi.Error; Register puts them
// all on an awsapi.Service. The records live in the catalog package.
//
// PutEvents and TestEventPattern are not here (see the ingest package), nor
// is routing or delivery.
package eventbridge
