//go:build !unix

package function

import "os/exec"

// ownGroup leaves the command as it is: cancellation kills the process
// only (exec's default).
func ownGroup(cmd *exec.Cmd) {}
