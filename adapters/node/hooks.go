package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Hooks are the application's decisions of PROTOCOL.md §9.1 as Go functions; a nil one
// is not asked (a nil Connect leaves identity to Options.Identify, a nil Join, Publish or
// RPC answers unavailable). The HTTP proxy (adapters/proxy) is one implementation.
//
// Each call runs on the node's bounded worker pool (Options.HookConcurrency calls at
// once, Options.HookQueue waiting) with a context that ends Options.HookTimeout after
// the call was queued; a call that is late, fails or finds the queue full is answered
// unavailable (HTTP 503 for Connect). A nil error allows; a *Refusal refuses with its
// code. The hub never waits for a hook: a connection's later requests are held in the
// core until its answer, and other connections go on. A hook should return when its
// context ends: a late result is dropped anyway, and Shutdown waits for calls in flight.
// A hook that panics fails its call.
type Hooks struct {
	// Connect identifies a WebSocket handshake. An *HTTPError answers it with its status
	// (the proxy answers 401); any other error is HTTP 503.
	Connect func(ctx context.Context, r *http.Request) (core.Identity, error)
	// Join decides a join in a `join: proxy` namespace.
	Join func(ctx context.Context, q JoinQuery) error
	// Publish decides a chat or event in a `publish: proxy` namespace; with replace,
	// content replaces what the client sent.
	Publish func(ctx context.Context, q PublishQuery) (content string, replace bool, err error)
	// RPC answers a client's rpc with one JSON value (nil: null).
	RPC func(ctx context.Context, q RPCQuery) (result json.RawMessage, err error)
}

// JoinQuery is a join the backend decides.
type JoinQuery struct {
	User string
	Conn core.ConnID
	Room string
}

// PublishQuery is a chat or an event the backend decides; Type is "chat" or "event",
// Event the event's name.
type PublishQuery struct {
	User    string
	Conn    core.ConnID
	Room    string
	Type    string
	Event   string
	Content string
}

// RPCQuery is a client's rpc; Data is its JSON value (null when it sent none).
type RPCQuery struct {
	User   string
	Conn   core.ConnID
	Method string
	Data   json.RawMessage
}

// Refusal is a hook's "no": the client gets error Code (forbidden when empty; a code
// of the backend's own is sent as it is) with Message.
type Refusal struct {
	Code    string
	Message string
}

func (r *Refusal) Error() string { return "refused: " + r.Code + ": " + r.Message }

// HookMetrics is what a Metrics may also implement to count hook calls (adapters/metrics
// does): the outcome of each call with its latency from queueing to answer, and the
// queue's depth. Its methods are called from any goroutine.
type HookMetrics interface {
	HookCall(hook string, outcome HookOutcome, d time.Duration)
	HookQueue(depth int)
}

// HookOutcome is how a hook call ended.
type HookOutcome string

const (
	HookAllowed  HookOutcome = "allowed"  // answered yes (a Connect that identified)
	HookRefused  HookOutcome = "refused"  // answered no (a Refusal, or an HTTPError for Connect)
	HookFailed   HookOutcome = "failed"   // returned another error
	HookTimeout  HookOutcome = "timeout"  // not answered within HookTimeout
	HookOverflow HookOutcome = "overflow" // the queue was full: never called
)

// Hook names as HookMetrics sees them.
const (
	hookConnect = "connect"
	hookJoin    = "join"
	hookPublish = "publish"
	hookRPC     = "rpc"
)

// Defaults of PROTOCOL.md §9 (--proxy-concurrency, the queue, --proxy-timeout) and of
// the Go event stream's buffer.
const (
	DefaultHookConcurrency = 64
	DefaultHookQueue       = 1024
	DefaultHookTimeout     = 2 * time.Second
	DefaultEventBuffer     = 4096
)

var errHookOverflow = errors.New("node: hook queue full")

// hookJob is one call waiting for, or running on, a worker. call returns what it found
// as fill, which is applied only when the call, not its timer, finishes the job: finish
// is called exactly once, with the call's error, or errTimeout when its deadline passed
// first (a late call's result is then dropped, so nothing races with the answer).
type hookJob struct {
	hook     string
	queued   time.Time
	deadline time.Time
	call     func(ctx context.Context) (fill func(), err error)
	finish   func(err error)
	done     atomic.Bool
	timer    atomic.Pointer[time.Timer] // set after the timer starts, which may fire first
}

var errTimeout = context.DeadlineExceeded

// end finishes j once, with fill (may be nil) and err.
func (j *hookJob) end(p *hookPool, fill func(), err error) {
	if !j.done.CompareAndSwap(false, true) {
		return
	}
	if t := j.timer.Load(); t != nil {
		t.Stop()
	}
	p.count(j.hook, outcomeOf(err), time.Since(j.queued))
	if fill != nil {
		fill()
	}
	j.finish(err)
}

func outcomeOf(err error) HookOutcome {
	var ref *Refusal
	var he *HTTPError
	switch {
	case err == nil:
		return HookAllowed
	case errors.As(err, &ref), errors.As(err, &he):
		return HookRefused
	case errors.Is(err, errTimeout):
		return HookTimeout
	case errors.Is(err, errHookOverflow):
		return HookOverflow
	}
	return HookFailed
}

// hookPool is the bounded worker pool every hook call runs on: workers started at New,
// a queue of bounded length; a timer per call answers it when its deadline passes, even
// when the hook ignores its context.
type hookPool struct {
	jobs    chan *hookJob
	timeout time.Duration
	metrics HookMetrics // may be nil
	base    context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newHookPool(workers, queue int, timeout time.Duration, m HookMetrics) *hookPool {
	p := &hookPool{jobs: make(chan *hookJob, queue), timeout: timeout, metrics: m}
	p.base, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

func (p *hookPool) work() {
	defer p.wg.Done()
	for {
		select {
		case <-p.base.Done():
			return
		case j := <-p.jobs:
			p.depth()
			if j.done.Load() { // answered by its timer while it waited
				continue
			}
			ctx, cancel := context.WithDeadline(p.base, j.deadline)
			fill, err := j.run(ctx)
			if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err = errTimeout // whatever the hook made of its context's end
			}
			cancel()
			j.end(p, fill, err)
		}
	}
}

// run calls the hook; a hook that panics fails the call (unavailable) instead of the
// server, as net/http does for a handler.
func (j *hookJob) run(ctx context.Context) (fill func(), err error) {
	defer func() {
		if v := recover(); v != nil {
			fill, err = nil, fmt.Errorf("node: %s hook panicked: %v", j.hook, v)
		}
	}()
	return j.call(ctx)
}

// submit queues j without waiting; a full queue finishes it at once with overflow.
func (p *hookPool) submit(j *hookJob) {
	j.queued = time.Now()
	j.deadline = j.queued.Add(p.timeout)
	j.timer.Store(time.AfterFunc(p.timeout, func() { j.end(p, nil, errTimeout) }))
	select {
	case p.jobs <- j:
		p.depth()
	default:
		j.end(p, nil, errHookOverflow)
	}
}

// stop ends the workers (their calls' contexts are cancelled) and waits for them; the
// calls still queued are answered by their timers or never (the node is gone).
func (p *hookPool) stop() {
	p.cancel()
	p.wg.Wait()
	for {
		select {
		case j := <-p.jobs:
			j.end(p, nil, context.Canceled)
		default:
			return
		}
	}
}

func (p *hookPool) count(hook string, o HookOutcome, d time.Duration) {
	if p.metrics != nil {
		p.metrics.HookCall(hook, o, d)
	}
}

func (p *hookPool) depth() {
	if p.metrics != nil {
		p.metrics.HookQueue(len(p.jobs))
	}
}

// answerAsk finds out what the hub asked (ActionAsk), off the owner goroutine, and posts
// the EventAnswer; it never waits. The token asks (AskRefresh, AskRoomToken) go to
// Options.Tokens (access.go); the backend's to Options.Hooks on the hook pool.
func (n *Node) answerAsk(a *core.Ask) {
	if a.Kind == core.AskRefresh || a.Kind == core.AskRoomToken {
		n.ask(a)
		return
	}
	ask := *a
	answer := &core.Answer{ID: ask.ID, Conn: ask.Conn}
	post := func() { n.inbox.post(event{kind: evAnswer, answer: answer}) }
	if n.pool == nil { // no hooks: nobody can say yes (the hub asks only with Core.Backend)
		answer.Code = proto.Unavailable
		post()
		return
	}
	j := &hookJob{finish: func(err error) {
		if err != nil {
			refusal(answer, err)
		}
		post()
	}}
	h := n.opts.Hooks
	switch ask.Kind {
	case core.AskJoin:
		j.hook = hookJoin
		j.call = func(ctx context.Context) (func(), error) {
			if h == nil || h.Join == nil {
				return nil, errNoHook
			}
			return nil, h.Join(ctx, JoinQuery{User: ask.User, Conn: ask.Conn, Room: ask.Room})
		}
	case core.AskPublish:
		j.hook = hookPublish
		j.call = func(ctx context.Context) (func(), error) {
			if h == nil || h.Publish == nil {
				return nil, errNoHook
			}
			content, replace, err := h.Publish(ctx, PublishQuery{
				User: ask.User, Conn: ask.Conn, Room: ask.Room, Type: ask.Type.String(),
				Event: ask.Event, Content: string(ask.Content),
			})
			if err != nil || !replace {
				return nil, err
			}
			return func() { answer.Rewrite, answer.Content = true, []byte(content) }, nil
		}
	case core.AskRPC:
		j.hook = hookRPC
		j.call = func(ctx context.Context) (func(), error) {
			if h == nil || h.RPC == nil {
				return nil, errNoHook
			}
			result, err := h.RPC(ctx, RPCQuery{User: ask.User, Conn: ask.Conn, Method: ask.Method, Data: ask.Data})
			if err != nil {
				return nil, err
			}
			return func() { answer.Result = result }, nil
		}
	default:
		answer.Code = proto.Unavailable
		post()
		return
	}
	n.pool.submit(j)
}

var errNoHook = errors.New("node: no hook for this decision")

// refusal turns a hook's error into the answer's refusal: a Refusal's code (one of the
// protocol's, or the backend's own, sent as it is), anything else unavailable.
func refusal(a *core.Answer, err error) {
	var ref *Refusal
	if !errors.As(err, &ref) {
		a.Code, a.Message = proto.Unavailable, ""
		return
	}
	a.Message = ref.Message
	if ref.Code == "" {
		a.Code = proto.Forbidden
		return
	}
	if c, ok := proto.CodeOf(ref.Code); ok && c != proto.OK {
		a.Code = c
		return
	}
	a.Code, a.ErrorCode = proto.Forbidden, ref.Code
}

// connectHook runs Hooks.Connect for a handshake on the pool and waits (this is the
// handshake's own goroutine) at most HookTimeout: late, failed or overflowing is 503.
func (n *Node) connectHook(r *http.Request) (core.Identity, error) {
	var id core.Identity
	result := make(chan error, 1)
	j := &hookJob{hook: hookConnect, finish: func(err error) { result <- err }}
	j.call = func(ctx context.Context) (func(), error) {
		got, err := n.opts.Hooks.Connect(ctx, r)
		return func() { id = got }, err
	}
	n.pool.submit(j)
	err := <-result
	var he *HTTPError
	switch {
	case err == nil:
		return id, nil
	case errors.As(err, &he):
		return core.Identity{}, he
	}
	return core.Identity{}, &HTTPError{Status: http.StatusServiceUnavailable, Code: proto.Unavailable.String(), Message: "the backend did not identify this connection"}
}

// emit hands an app event to the Go event stream without waiting: a full buffer drops
// it (counted in Stats.EventsDropped).
func (n *Node) emit(ev *core.AppEvent) {
	select {
	case n.events <- *ev:
	default:
		n.eventsDropped.Add(1)
	}
}

// runEvents calls Options.Events for every app event, in order, until the node stops
// (what is buffered then is still handed over).
func (n *Node) runEvents() {
	defer close(n.eventsDone)
	for {
		select {
		case ev := <-n.events:
			n.opts.Events(ev)
		case <-n.done:
			for {
				select {
				case ev := <-n.events:
					n.opts.Events(ev)
				default:
					return
				}
			}
		}
	}
}

// ConnIDString is a connection id as the protocol writes it (conn_id is a string).
func ConnIDString(id core.ConnID) string { return strconv.FormatUint(uint64(id), 10) }
