package natsbroker

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// tcpProxy stands between one node and NATS, to make that node's link misbehave in ways
// a NATS restart cannot: refuse new connections, stall (no byte moves, nothing is
// closed: a dead route or a frozen peer).
type tcpProxy struct {
	t      testing.TB
	l      net.Listener
	target string

	mu     sync.Mutex
	mode   proxyMode
	conns  []net.Conn
	change chan struct{} // closed and replaced whenever mode changes
	wg     sync.WaitGroup
}

type proxyMode uint8

const (
	proxyForward proxyMode = iota
	proxyRefuse            // close every connection, accept none
	proxyStall             // keep connections open, move no byte
)

func startProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, l: l, target: target, change: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) url() string { return "nats://" + p.l.Addr().String() }

func (p *tcpProxy) set(mode proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	close(p.change)
	p.change = make(chan struct{})
	if mode == proxyRefuse {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

func (p *tcpProxy) close() {
	p.l.Close()
	p.set(proxyRefuse)
	p.wg.Wait()
}

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.mode == proxyRefuse {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, s)
		p.wg.Add(2)
		go p.pipe(s, c)
		go p.pipe(c, s)
		p.mu.Unlock()
	}
}

// pipe copies src to dst while the mode allows.
func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	chunks := make(chan []byte, 1024)
	done := make(chan struct{})
	go func() { // the writer: keeps order and waits out any stall
		defer close(done)
		for data := range chunks {
			if !p.await() {
				return
			}
			if _, err := dst.Write(data); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case chunks <- append([]byte(nil), buf[:n]...):
			case <-done:
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				p.t.Logf("proxy: %v", err)
			}
			close(chunks)
			<-done
			return
		}
	}
}

// await blocks while the proxy stalls; it reports false once the proxy refuses.
func (p *tcpProxy) await() bool {
	for {
		p.mu.Lock()
		mode, change := p.mode, p.change
		p.mu.Unlock()
		switch mode {
		case proxyForward:
			return true
		case proxyRefuse:
			return false
		}
		<-change
	}
}
