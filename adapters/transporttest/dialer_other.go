//go:build !unix

package transporttest

import "syscall"

// smallReceiveBuffer keeps the default buffer here; the slow reader just takes longer.
func smallReceiveBuffer(_, _ string, _ syscall.RawConn) error { return nil }
