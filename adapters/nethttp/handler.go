package nethttp

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/adapters/wsframe"
	"github.com/switchboard-ws/switchboard/core"
)

// readBufferSize is each connection's read buffer (this transport trades memory per
// connection for portability; adapters/epoll keeps none for an idle connection).
const readBufferSize = 4096

// closeGrace bounds how long a closing connection may block its goroutines: the close
// frame's write and the wait for the peer's EOF.
const closeGrace = 5 * time.Second

// Handler serves the WebSocket endpoint of a node.
type Handler struct{ node *node.Node }

// New returns the WebSocket endpoint of n as an http.Handler.
func New(n *node.Node) *Handler { return &Handler{node: n} }

// ServeHTTP upgrades the request and starts the connection's reader and writer
// goroutines.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hs, ok := h.node.Upgrade(w, r)
	if !ok {
		return
	}
	c := &conn{raw: hs.Conn, wake: make(chan struct{}, 1), stop: make(chan struct{}), writerDone: make(chan struct{}), closeSent: make(chan struct{})}
	h.node.InitReader(&c.reader, hs.Format)
	c.rc = rawConnOf(hs.Conn)
	nc, err := h.node.Attach(hs, c)
	if err != nil {
		hs.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		hs.Conn.Write(wsframe.AppendClose(nil, core.CloseGoingAway, core.ReasonShutdown))
		hs.Conn.Close()
		return
	}
	c.nc = nc
	nc.Start()
	// Both loops get fresh goroutines and this one returns: the HTTP server's per-request
	// state (its buffered reader and writer, the request) is dropped with it.
	go c.writeLoop()
	go c.readLoop(hs.Buffered)
}

// conn is one connection: the node's half (nc) and the socket.
type conn struct {
	raw        net.Conn
	nc         *node.Conn
	reader     wsframe.Reader
	broken     bool       // the reader's: the peer broke a rule, its bytes are discarded
	batch      node.Batch // the writer's
	bufs       [][]byte   // the writer's scratch for vectored writes
	wake       chan struct{}
	stop       chan struct{} // closed by the reader when the socket is gone
	writerDone chan struct{}
	closeSent  chan struct{}   // closed by the writer once the close frame is written
	rc         syscall.RawConn // non-blocking writes; nil where not available
	wmu        sync.Mutex      // held around writes: the batch and the socket's send side
}

// TryFlush implements node.Link: write what is queued as far as the socket takes it
// without waiting. wmu is held only around system calls (never while the writer waits
// for the socket), so taking it here waits for a syscall at most.
func (c *conn) TryFlush() {
	if c.rc == nil {
		return // no raw access here: the writer goroutine does all writing
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.Pull(&c.batch)
	c.rc.Control(func(fd uintptr) { c.writeSome(fd) })
}

// Wake implements node.Link.
func (c *conn) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Abort implements node.Link: closing the socket ends both goroutines.
func (c *conn) Abort() { c.raw.Close() }

// Message, Ping and Pong implement wsframe.Handler.
func (c *conn) Message(p []byte) { c.nc.Receive(p) }
func (c *conn) Ping(p []byte)    { c.nc.Pong(p) }
func (c *conn) Pong([]byte)      { c.nc.Seen() }

// feed decodes bytes from the socket and reports whether the peer's stream ended with
// its close frame. While closing, data is dropped (Receive refuses it) but
// frames are still decoded to spot the peer's close frame.
func (c *conn) feed(p []byte) (ended bool) {
	if c.broken {
		return false
	}
	err := c.reader.Feed(p, c)
	c.nc.Fed(c.reader.Partial())
	if err == nil {
		return false
	}
	var ce *wsframe.CloseError
	if !errors.As(err, &ce) {
		return false
	}
	if c.nc.Open() {
		c.nc.Close(uint16(ce.Code), "")
	}
	c.reader.Reset()
	if !ce.FromPeer {
		// A violation: the rest of the stream is noise. Keep reading it away until the
		// peer's EOF (or the grace) so that closing does not reset our close frame away.
		c.broken = true
		return false
	}
	return true
}

func (c *conn) readLoop(buffered []byte) {
	ended := len(buffered) > 0 && c.feed(buffered)
	buf := make([]byte, readBufferSize)
	for !ended {
		n, err := c.raw.Read(buf)
		if n > 0 && c.feed(buf[:n]) {
			ended = true
			break
		}
		if err != nil {
			// EOF after our close frame is the end we waited for; otherwise the peer
			// vanished without a close handshake.
			c.nc.Lost()
			break
		}
	}
	if ended {
		// The peer's close frame came: let our close frame (the echo) go out
		// before the socket closes; the node's grace bounds the writer (Abort).
		select {
		case <-c.closeSent:
		case <-c.writerDone:
		}
	}
	c.reader.Reset() // give back what a partial message held
	c.raw.Close()
	close(c.stop)
	<-c.writerDone
	c.nc.Finished(&c.batch)
}

// write writes the pulled batch, waiting for the socket as long as it takes (this is
// the connection's own goroutine; the node's grace bounds it through Abort).
func (c *conn) write() error {
	if c.rc == nil {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		c.bufs = c.batch.Buffers(c.bufs[:0], 1024)
		bufs := net.Buffers(c.bufs)
		n, err := bufs.WriteTo(c.raw)
		c.nc.Written(&c.batch, int(n))
		return err
	}
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		full, err := c.writeSome(fd)
		werr = err
		if full {
			c.nc.SocketFull()
		}
		return !full // full: the runtime waits until the socket is writable, then calls again
	})
	if err != nil {
		return err
	}
	return werr
}

func (c *conn) writeLoop() {
	defer close(c.writerDone)
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			return
		}
		for {
			c.wmu.Lock()
			closing := c.nc.Pull(&c.batch)
			empty := c.batch.Empty()
			c.wmu.Unlock()
			if empty {
				if closing {
					// The close frame is out: half-close and let the reader wait for the
					// peer's close or EOF, for a bounded time. (A write stuck on a full
					// socket is ended by the node's Abort after its grace.)
					c.raw.SetReadDeadline(time.Now().Add(closeGrace))
					if cw, ok := c.raw.(interface{ CloseWrite() error }); ok {
						cw.CloseWrite()
					}
					close(c.closeSent)
					<-c.stop
					return
				}
				break
			}
			err := c.write()
			if err != nil {
				c.nc.Lost()
				c.raw.Close()
				<-c.stop
				return
			}
		}
	}
}
