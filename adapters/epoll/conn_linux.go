//go:build linux

package epoll

import (
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/wsframe"
)

const (
	readEvents  = unix.EPOLLIN | unix.EPOLLRDHUP
	writeEvents = readEvents | unix.EPOLLOUT
	maxIovecs   = 1024 // IOV_MAX
)

// conn is one WebSocket connection of the epoll set. Between frames it holds no buffer:
// its reader and batch keep pooled memory only while a frame is partial or unwritten.
// The 4-byte and 1-byte fields are grouped so that padding does not push the struct into
// a bigger size class.
type conn struct {
	sh   *shard // its transport's shard: its poller and writer
	nc   *node.Conn
	next *conn // the run queue's link while sched

	rmu        sync.Mutex     // held while feeding, so that finish can release what reader holds
	finished   atomic.Bool    // the socket is closed: nothing more is fed
	draining   atomic.Bool    // our close frame is out (SHUT_WR): waiting for the peer's close or EOF
	peerClosed atomic.Bool    // the peer's close frame ended its stream
	sched      atomic.Bool    // on the run queue
	gen        uint32         // tells this conn from an earlier one on the same fd number
	broken     bool           // the poller's: the peer broke a rule, its bytes are discarded
	outArmed   bool           // EPOLLOUT requested: the socket was full (under io)
	reader     wsframe.Reader // the feeder's (the poller, or ServeHTTP before it), under rmu

	io    sync.Mutex // the descriptor's users: read, writev, epoll_ctl, close
	fd    int        // -1 once closed
	batch node.Batch // frames pulled and not yet written
}

// Wake implements node.Link: queue c for its shard's write worker (once, until it
// runs). Each connection has one worker, so there is no global lock on the write path
// and two workers never contend for one connection.
func (c *conn) Wake() {
	if c.sched.CompareAndSwap(false, true) {
		c.sh.ready.push(c)
	}
}

// Abort implements node.Link.
func (c *conn) Abort() { c.finish() }

// TryFlush implements node.Link: the same non-blocking flush a worker does, on the
// caller's goroutine (the io lock is only ever held for a non-blocking system call).
func (c *conn) TryFlush() {
	w := writers.Get().(*writer)
	c.flush(w)
	writers.Put(w)
}

var writers = sync.Pool{New: func() any { return &writer{} }}

// Message, Ping and Pong implement wsframe.Handler.
func (c *conn) Message(p []byte) { c.nc.Receive(p) }
func (c *conn) Ping(p []byte)    { c.nc.Pong(p) }
func (c *conn) Pong([]byte)      { c.nc.Seen() }

// feed hands bytes read from the socket to the frame reader. While closing, data is
// dropped (Receive refuses it) but frames are still decoded to spot the peer's close
// frame: once both close frames crossed, the socket is closed without waiting for EOF.
func (c *conn) feed(p []byte) {
	c.rmu.Lock()
	if !c.finished.Load() {
		c.feedLocked(p)
	}
	c.rmu.Unlock()
	if c.finished.Load() {
		c.releaseReader()
	}
}

// releaseReader gives back what the reader holds of a partial message, once the socket
// is closed. Whoever takes rmu after finished is set does it: finish, unless a feed is
// under way, which then does it itself when done (finish must never wait for a feed,
// which may be waiting for the node).
func (c *conn) releaseReader() {
	if c.rmu.TryLock() {
		c.reader.Reset()
		c.rmu.Unlock()
	}
}

func (c *conn) feedLocked(p []byte) {
	if c.peerClosed.Load() || c.broken {
		return
	}
	err := c.reader.Feed(p, c)
	c.nc.Fed(c.reader.Partial())
	if err == nil {
		return
	}
	var ce *wsframe.CloseError
	if !errors.As(err, &ce) {
		return
	}
	if c.nc.Open() {
		c.nc.Close(uint16(ce.Code), "")
	}
	c.reader.Reset()
	if !ce.FromPeer {
		// A violation: the rest of the stream is noise. Keep reading it away until the
		// peer's EOF (or the grace) so that closing does not reset our close frame away.
		c.broken = true
		return
	}
	c.peerClosed.Store(true)
	if c.draining.Load() {
		c.finish()
	}
}

// readable is the poller's turn on a readable (or hung-up) connection: one
// non-blocking read into the poller's buffer; epoll reports it again if more is pending.
func (c *conn) readable(buf []byte) {
	c.io.Lock()
	if c.fd < 0 {
		c.io.Unlock()
		return
	}
	n, err := unix.Read(c.fd, buf)
	c.io.Unlock()
	switch {
	case n > 0:
		c.feed(buf[:n])
	case err == unix.EAGAIN || err == unix.EINTR:
	default:
		// EOF or a broken socket: after our close frame that is the end we waited for;
		// before it, the peer vanished without a close handshake.
		c.nc.Lost()
		c.finish()
	}
}

// writable is the poller's turn on EPOLLOUT: room in the socket again.
func (c *conn) writable() {
	c.io.Lock()
	if c.fd >= 0 && c.outArmed {
		c.outArmed = false
		ev := unix.EpollEvent{Events: readEvents, Fd: int32(c.fd), Pad: int32(c.gen)}
		unix.EpollCtl(c.sh.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
	}
	c.io.Unlock()
	c.Wake()
}

// flush is a worker's turn: write everything queued with one writev (a few when more
// arrives meanwhile), never waiting for the socket — when it is full, EPOLLOUT resumes.
func (c *conn) flush(w *writer) {
	c.io.Lock()
	defer c.io.Unlock()
	if c.fd < 0 || c.outArmed {
		return // finished, or waiting for EPOLLOUT
	}
	for range 4 {
		closing := c.nc.Pull(&c.batch)
		if c.batch.Empty() {
			if closing && !c.draining.Load() {
				// The close frame is on the wire: stop sending, wait for the peer's EOF
				// (or the node's grace) while discarding what it still sends.
				c.draining.Store(true)
				unix.Shutdown(c.fd, unix.SHUT_WR)
				if c.peerClosed.Load() {
					c.finishLocked() // both close frames crossed: done
				}
			}
			return
		}
		w.bufs = c.batch.Buffers(w.bufs[:0], maxIovecs)
		n, err := w.writev(c.fd)
		c.sh.writevs.Add(1)
		if n > 0 {
			c.nc.Written(&c.batch, n)
		}
		switch {
		case err == unix.EAGAIN || err == nil && n < w.total:
			// The socket took less than offered: it is full.
			c.armOut()
			return
		case err == unix.EINTR:
		case err != nil:
			c.nc.Lost()
			c.finishLocked()
			return
		}
	}
	c.Wake() // more keeps coming: yield to other connections, come back later
}

func (c *conn) armOut() {
	if c.outArmed {
		return
	}
	c.outArmed = true
	c.nc.SocketFull()
	ev := unix.EpollEvent{Events: writeEvents, Fd: int32(c.fd), Pad: int32(c.gen)}
	unix.EpollCtl(c.sh.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
}

// finish closes the socket (deregistered first, so a reused fd number never inherits
// the registration) and tells the node, once.
func (c *conn) finish() {
	c.io.Lock()
	c.finishLocked()
	c.io.Unlock()
}

func (c *conn) finishLocked() {
	if c.fd < 0 {
		return
	}
	fd := c.fd
	c.fd = -1
	c.sh.t.slots[fd].CompareAndSwap(c, nil)
	unix.EpollCtl(c.sh.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	unix.Close(fd)
	c.finished.Store(true)
	c.releaseReader()
	if c.nc != nil {
		c.nc.Finished(&c.batch)
	}
}

// writer is one worker's scratch space for vectored writes, reused for every flush.
type writer struct {
	bufs  [][]byte
	iov   []unix.Iovec
	total int // bytes offered to the last writev
}

// writev writes w.bufs with one system call; unix.Writev would allocate its iovecs.
func (w *writer) writev(fd int) (int, error) {
	w.iov, w.total = w.iov[:0], 0
	for _, b := range w.bufs {
		if len(b) == 0 {
			continue
		}
		w.total += len(b)
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		w.iov = append(w.iov, v)
	}
	if len(w.iov) == 0 {
		return 0, nil
	}
	n, _, errno := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&w.iov[0])), uintptr(len(w.iov)))
	clear(w.iov) // drop the pointers into frames that may go back to their pool
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
