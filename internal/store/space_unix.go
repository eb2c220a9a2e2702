//go:build linux || darwin || freebsd || netbsd || openbsd

package store

import "syscall"

// freeBytes is the space available to this process on dir's filesystem.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
