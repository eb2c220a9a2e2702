// Package peers counts the Conveyor processes sharing one NATS server or
// cluster, so that a limit meant for the whole deployment (an API
// destination's InvocationRateLimitPerSecond) can be split between them.
package peers
