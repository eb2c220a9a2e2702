//go:build unix

package procgroup

import (
	"os/exec"
	"syscall"
)

// Own makes cmd (not started yet) run in a process group of its own; a command made with
// exec.CommandContext also kills the whole group when its context ends.
func Own(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cmd.Cancel != nil { // set by exec.CommandContext
		cmd.Cancel = func() error { Kill(cmd); return nil }
	}
}

// Kill kills cmd's process group (cmd started after Own).
func Kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
