//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package store

import "errors"

// freeBytes cannot be known here: JetStream's own limit applies.
func freeBytes(string) (int64, error) {
	return 0, errors.New("store: free space unknown on this system")
}
