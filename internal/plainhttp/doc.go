// Package plainhttp is a lean HTTP/1.1 client for http:// endpoints: kept-alive
// connections, one request at a time on each, no goroutine besides the caller's.
package plainhttp
