package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Client is one logical session with a Switchboard server, kept over as many
// connections as it takes. Its methods are safe for concurrent use.
type Client struct {
	url    string
	opts   Options
	events chan Event
	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the client has stopped and Events is closed
	first  chan error    // the first connection's outcome, for Dial
	idBase string        // this client's prefix of request ids: unique across processes
	seq    atomic.Uint64
	drops  atomic.Uint64

	mu     sync.Mutex
	state  State
	conn   *conn         // the open connection, nil between connections
	ready  chan struct{} // closed when a connection opens; replaced when it ends
	rooms  map[string]*roomState
	order  []string   // wanted rooms in join order: the rejoin order
	outbox []*chatReq // chats not yet acked, in send order: resent, in order, after a reconnect
	err    error      // why the client stopped, once it has
	userID string
}

// roomState is what the client knows of a room's stream, for a `since` rejoin.
type roomState struct {
	since uint64 // the last chat offset delivered (or the offset joined at)
	known bool   // since means something: a join reported it or a chat came
	epoch string // "" until a `joined` frame named it
}

// chatReq is one chat awaiting its ack; its encoded frame keeps its id for resends.
type chatReq struct {
	id  string
	typ websocket.MessageType
	msg []byte
	ch  chan answer
}

type answer struct {
	fr  *frame
	err error
}

// Dial connects to url (ws:// or wss://, e.g. "ws://127.0.0.1:8080/ws") and returns once
// the server said `connected`. It retries with backoff until ctx ends; a refusal (HTTP
// 401, close 4001 …) returns at once as a *ClosedError. ctx bounds only the dial: the
// client then lives until Close or a refusal.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	opts.applyDefaults()
	var id [6]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	c := &Client{
		url:    url,
		opts:   opts,
		events: make(chan Event, opts.EventBuffer),
		done:   make(chan struct{}),
		first:  make(chan error, 1),
		idBase: hex.EncodeToString(id[:]) + "-",
		ready:  make(chan struct{}),
		rooms:  make(map[string]*roomState),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	select {
	case err := <-c.first:
		if err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// Events delivers server messages and the client's reports, in the order they
// happened; it is closed after the final EventState (Closed). Read it promptly: when it
// is full, Options.Overflow decides.
func (c *Client) Events() <-chan Event { return c.events }

// Dropped counts the events discarded because Events was full.
func (c *Client) Dropped() uint64 { return c.drops.Load() }

// Close ends the session: the connection is closed 1000, waiting requests fail with
// ErrClosed, Events is closed. It returns once everything has stopped.
func (c *Client) Close() error {
	c.cancel()
	<-c.done
	return nil
}

// Done is closed when the client has stopped (Close, or a refusal); Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is nil while the client runs, then ErrClosed or the *ClosedError that stopped it.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// State is the connection's current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// UserID is who the server says this client is (from the last `connected`).
func (c *Client) UserID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userID
}

// Position is where the client stands in room's stream: the epoch and the offset of
// the last chat it delivered. An application that keeps it can pass it to JoinAt after
// a restart of its own.
func (c *Client) Position(room string) (epoch string, offset uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs := c.rooms[room]
	if rs == nil || !rs.known {
		return "", 0, false
	}
	return rs.epoch, rs.since, true
}

func (c *Client) nextID() string {
	return c.idBase + strconv.FormatUint(c.seq.Add(1), 10)
}

// emit puts ev into Events without ever waiting. It reports false only under the
// Reconnect policy when a server message (frame) does not fit. The client's own reports
// then give way instead (DropNewest): evicting a chat would lose it, as its offset
// already counts as delivered, while the state is there to read from State.
func (c *Client) emit(ev Event, frame bool) bool {
	select {
	case c.events <- ev:
		return true
	default:
	}
	policy := c.opts.Overflow
	if policy == Reconnect && !frame {
		policy = DropNewest
	}
	switch policy {
	case DropOldest:
		select {
		case <-c.events:
		default:
		}
		select {
		case c.events <- ev:
		default: // the reader emptied and the other producer refilled it meanwhile
		}
		c.drops.Add(1)
		return true
	case DropNewest:
		c.drops.Add(1)
		return true
	}
	return false
}

func (c *Client) setState(s State, retryIn time.Duration, why error) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
	c.emit(Event{Type: EventState, State: s, RetryIn: retryIn, Err: why}, false)
}

// run is the client's one long-lived goroutine: connect, wait for the connection's end,
// decide by its close code, back off, again.
func (c *Client) run() {
	attempt := 0
	var wait time.Duration
	var why error
	for {
		if attempt > 0 {
			c.setState(Reconnecting, wait, why)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				c.finish(ErrClosed)
				return
			}
		} else if c.State() != Connected {
			c.setState(Connecting, 0, nil)
		}
		cn, v, after, err := c.connect()
		if err != nil {
			if c.ctx.Err() != nil {
				c.finish(ErrClosed)
				return
			}
			if v == stop {
				c.finish(err)
				return
			}
			c.opts.Logger.Warn("switchboard: connect failed", "url", c.url, "attempt", attempt, "err", err)
			wait, why = backoff(attempt, c.opts.MinDelay, c.opts.MaxDelay, after, c.opts.rand), err
			attempt++
			continue
		}
		c.signalFirst(nil)
		select {
		case <-cn.ctx.Done():
		case <-c.ctx.Done():
			_ = cn.ws.Close(websocket.StatusNormalClosure, "")
			cn.fail(ErrClosed)
		}
		c.disconnect(cn)
		if c.ctx.Err() != nil {
			c.finish(ErrClosed)
			return
		}
		code := websocket.CloseStatus(cn.err)
		c.opts.Logger.Debug("switchboard: connection ended", "code", int(code), "err", cn.err)
		why = closeError(cn.err)
		switch closeVerdict(code) {
		case stop:
			c.finish(why)
			return
		case retryNow:
			wait = 0
		default:
			wait = backoff(0, c.opts.MinDelay, c.opts.MaxDelay, 0, c.opts.rand)
		}
		attempt = 1
	}
}

func (c *Client) signalFirst(err error) {
	select {
	case c.first <- err:
	default:
	}
}

// connect makes one attempt: token, handshake, `connected`; then it rejoins every room,
// queues every unacked chat behind the joins, and starts the connection's goroutines.
// On failure it says whether to retry and the server's Retry-After.
func (c *Client) connect() (*conn, verdict, time.Duration, error) {
	actx, cancel := context.WithTimeout(c.ctx, c.opts.HandshakeTimeout)
	defer cancel()
	var token string
	if c.opts.Token != nil {
		var err error
		if token, err = c.opts.Token(actx); err != nil {
			return nil, retry, 0, fmt.Errorf("switchboard: token: %w", err)
		}
	}
	hdr := c.opts.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	if token != "" && !c.opts.AuthMessage {
		hdr.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.Dial(actx, c.url, &websocket.DialOptions{
		HTTPClient:   c.opts.HTTPClient,
		HTTPHeader:   hdr,
		Subprotocols: []string{c.opts.Format.Subprotocol()},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, statusVerdict(resp.StatusCode), retryAfter(resp.Header, time.Now()), refusal(resp)
		}
		return nil, retry, 0, err
	}
	ws.SetReadLimit(c.opts.MaxMessageBytes)
	if token != "" && c.opts.AuthMessage {
		typ, msg, err := encode(c.opts.Format, &request{Type: "auth", Token: token})
		if err == nil {
			err = ws.Write(actx, typ, msg)
		}
		if err != nil {
			ws.CloseNow()
			return nil, retry, 0, err
		}
	}
	typ, p, err := ws.Read(actx)
	if err != nil {
		ws.CloseNow()
		return nil, closeVerdict(websocket.CloseStatus(err)), 0, closeError(err)
	}
	fr, err := decode(c.opts.Format, typ, p)
	if err != nil || fr.Type != "connected" {
		ws.Close(websocket.StatusProtocolError, "expected connected")
		return nil, retry, 0, fmt.Errorf("switchboard: first message is not `connected` (%v)", err)
	}

	cn := newConn(ws)
	c.mu.Lock()
	c.userID = fr.UserID
	c.rejoinLocked(cn)
	for _, cr := range c.outbox {
		cn.sendq = append(cn.sendq, outFrame{cr.typ, cr.msg})
	}
	c.conn = cn
	c.state = Connected
	close(c.ready)
	c.mu.Unlock()
	c.emit(Event{Type: EventState, State: Connected}, false)

	cn.start(func() { c.readLoop(cn) })
	cn.start(func() { c.writeLoop(cn) })
	if c.opts.PingInterval > 0 {
		cn.start(func() { c.pingLoop(cn) })
	}
	if token != "" {
		cn.start(func() { c.refreshLoop(cn, token) })
	}
	cn.wake()
	return cn, retry, 0, nil
}

// closeError is err as a *ClosedError when the server closed with a code, else err.
func closeError(err error) error {
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return err
	}
	return &ClosedError{Code: int(ce.Code), Reason: ce.Reason}
}

// refusal describes a handshake the server answered with an HTTP error.
func refusal(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	var e struct {
		Message string `json:"message"`
	}
	reason := http.StatusText(resp.StatusCode)
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		reason = e.Message
	}
	return &ClosedError{Status: resp.StatusCode, Reason: reason}
}

// disconnect retires an ended connection: requests that waited on it fail with
// ErrConnectionLost (chats stay in the outbox for the next one).
func (c *Client) disconnect(cn *conn) {
	cn.cancel()
	c.mu.Lock()
	if c.conn == cn {
		c.conn = nil
		c.ready = make(chan struct{})
	}
	pending := cn.pending
	cn.pending = nil
	c.mu.Unlock()
	for _, w := range pending {
		w.ch <- answer{err: ErrConnectionLost}
	}
	cn.wg.Wait()
	cn.ws.CloseNow()
}

// finish stops the client for good with err.
func (c *Client) finish(err error) {
	c.mu.Lock()
	c.err = err
	c.state = Closed
	outbox := c.outbox
	c.outbox = nil
	c.mu.Unlock()
	for _, cr := range outbox {
		cr.ch <- answer{err: err}
	}
	c.signalFirst(err)
	c.emit(Event{Type: EventState, State: Closed, Err: err}, false)
	close(c.events)
	c.cancel()
	close(c.done)
}
