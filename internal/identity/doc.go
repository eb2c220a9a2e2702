// Package identity holds who may call Conveyor's APIs: access keys with their secrets, the
// accounts they act in and the principals they stand for (as CloudTrail's userIdentity shows
// them), read from a JSON file that can be reloaded while the server runs.
package identity
