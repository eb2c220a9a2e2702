// Package secrets seals the secrets Conveyor keeps (connection passwords, API keys, OAuth
// client secrets) with AES-256-GCM under a key held in a file, so that the store's files never
// hold them readable.
package secrets
