// Package lambdatest holds functions for the Lambda tests: real handlers built with
// aws-lambda-go, run unchanged as a function's bootstrap.
package lambdatest
