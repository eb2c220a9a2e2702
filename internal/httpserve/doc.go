// Package httpserve holds the limits Conveyor's HTTP servers put on their
// clients: how long a request may take to arrive and its answer to leave,
// how long an idle kept-alive connection stays open, how large headers may
// be, and how many connections are served at once.
//
// Without them a client that sends half a body, or opens connections and
// idles, holds a connection and a file descriptor for ever; enough of them
// exhaust the process. With them such a connection is closed once its bound
// passes, and connections over the cap wait in the kernel's accept queue
// until one closes.
package httpserve
