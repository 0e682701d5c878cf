//go:build unix && !(darwin || linux || openbsd)

package nethttp

import "syscall"

// writev writes the frames one by one where the platform offers no writev wrapper.
func writev(fd int, bufs [][]byte) (int, error) {
	total := 0
	for _, b := range bufs {
		n, err := syscall.Write(fd, b)
		if n > 0 {
			total += n
		}
		if err != nil {
			return total, err
		}
		if n < len(b) {
			return total, syscall.EAGAIN
		}
	}
	return total, nil
}
