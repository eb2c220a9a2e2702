//go:build !unix

package procgroup

import "os/exec"

// Own leaves the command as it is: cancellation kills the process only (exec's default).
func Own(cmd *exec.Cmd) {}

// Kill kills cmd's process.
func Kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
