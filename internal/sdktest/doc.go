// Package sdktest holds what the tests' AWS SDK clients share: the retry
// policy of a client that wants to see every error the server answers.
package sdktest
