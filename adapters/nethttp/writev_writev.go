//go:build darwin || linux || openbsd

package nethttp

import "golang.org/x/sys/unix"

// writev coalesces every queued frame into one system call.
func writev(fd int, bufs [][]byte) (int, error) { return unix.Writev(fd, bufs) }
