// Package lambda serves the AWS Lambda API (REST-JSON): functions kept per account and region
// in a JetStream bucket, their code (a zip) in a JetStream object store, so that every
// Conveyor sharing the store sees them.
//
// It answers as Lambda does: CreateFunction (201) with the function's configuration,
// GetFunction, GetFunctionConfiguration, ListFunctions (Marker, MaxItems), DeleteFunction
// (204); ResourceConflictException "Function already exist: NAME",
// ResourceNotFoundException "Function not found: ARN", InvalidParameterValueException for
// a value Lambda refuses. A function is named by its name, its partial ARN
// (ACCOUNT:function:NAME) or its ARN.
package lambda
