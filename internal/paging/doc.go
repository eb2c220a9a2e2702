// Package paging holds the NextToken of Conveyor's List operations.
//
// A token carries the key of the last item returned and a hash of the query
// it belongs to (operation and parameters), so that a token is refused by
// another query with AWS's "The NextToken provided is not valid.". Tokens are
// base64url of JSON: opaque to clients, and checked when they come back. A
// page starts after the token's key, so an item deleted between two pages
// does not break paging.
package paging
