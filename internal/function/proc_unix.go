//go:build unix

package function

import (
	"os/exec"
	"syscall"
)

// ownGroup runs the command in a process group of its own and makes
// cancellation kill the whole group, so a script's children (a sleep, a
// pipeline) die with it and do not hold its output open.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
