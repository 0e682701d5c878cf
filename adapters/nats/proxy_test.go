package natsbroker

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpProxy stands between one node and NATS, to make that node's link misbehave in ways
// a NATS restart cannot: refuse new connections, stall (no byte moves, nothing is
// closed: a dead route or a frozen peer), or delay what NATS sends to the node.
type tcpProxy struct {
	t      testing.TB
	l      net.Listener
	target string

	mu     sync.Mutex
	mode   proxyMode
	delay  time.Duration // server → node latency
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
		go p.pipe(s, c, false)
		go p.pipe(c, s, true)
		p.mu.Unlock()
	}
}

// pipe copies src to dst while the mode allows, holding each chunk back by the delay
// when it goes from NATS to the node (toNode).
func (p *tcpProxy) pipe(dst, src net.Conn, toNode bool) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	type chunk struct {
		at   time.Time
		data []byte
	}
	chunks := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() { // the writer: keeps order, waits out the delay and any stall
		defer close(done)
		for ch := range chunks {
			time.Sleep(time.Until(ch.at))
			if !p.await() {
				return
			}
			if _, err := dst.Write(ch.data); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			if !toNode {
				d = 0
			}
			select {
			case chunks <- chunk{time.Now().Add(d), append([]byte(nil), buf[:n]...)}:
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
