//go:build !unix

package datadir

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("locked")

// lockFile does nothing where flock does not exist: the directory is not
// locked there.
func lockFile(*os.File) error { return nil }
