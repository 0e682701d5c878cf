//go:build !unix

package nethttp

import (
	"net"
	"syscall"
)

// rawConnOf gives no raw access here: writes go through net.Conn, blocking.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func (c *conn) writeSome(uintptr) (bool, error) { return false, nil }
