//go:build unix

package nethttp

import (
	"net"
	"syscall"
)

func rawConnOf(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// writeSome writes the batch with non-blocking writes (the descriptor Go keeps is
// non-blocking) until it is empty, the socket is full, or an error; called with wmu held.
func (c *conn) writeSome(fd uintptr) (full bool, err error) {
	for !c.batch.Empty() {
		c.bufs = c.batch.Buffers(c.bufs[:0], 1024)
		n, err := writev(int(fd), c.bufs)
		if n > 0 {
			c.nc.Written(&c.batch, n)
		}
		switch err {
		case nil:
		case syscall.EINTR:
		case syscall.EAGAIN:
			return true, nil
		default:
			return false, err
		}
	}
	return false, nil
}
