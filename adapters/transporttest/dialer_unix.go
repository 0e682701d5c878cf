//go:build unix

package transporttest

import "syscall"

// smallReceiveBuffer shrinks a client's receive buffer so that a reader that stops
// reading fills the server's queue soon.
func smallReceiveBuffer(_, _ string, rc syscall.RawConn) error {
	return rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
}
