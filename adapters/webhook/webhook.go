package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Defaults of PROTOCOL.md §9.2.
const (
	DefaultRetry   = 10 * time.Minute // --webhook-retry
	DefaultQueue   = 100000           // --webhook-queue
	MaxBatch       = 100              // events per POST
	DefaultWait    = time.Second      // a batch goes at most this long after its first event
	DefaultBackoff = time.Second      // the first retry's delay, doubling
	MaxBackoff     = 60 * time.Second
	AttemptTimeout = 5 * time.Second // an answer later than this is a failure
)

// typeDropped is the event that reports events lost to the queue's bound or to retries
// that ran out.
const typeDropped = "events_dropped"

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body with the secret.
const SignatureHeader = "X-Switchboard-Signature"

// Sign returns the SignatureHeader value of body: what a receiver recomputes to check it.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Options configure a Sender; zero values take the defaults above.
type Options struct {
	URL    string
	Secret string
	Node   string // the `node` of every event (--node-id)
	Retry  time.Duration
	Queue  int
	// Wait and Backoff shorten the batching window and the first retry delay (tests).
	Wait    time.Duration
	Backoff time.Duration
	Client  *http.Client // nil: a client of its own with AttemptTimeout
	Metrics Metrics      // may be nil
}

// Metrics counts deliveries (adapters/metrics implements it); called from the sender's
// goroutine and from Add's callers.
type Metrics interface {
	WebhookDelivered(events int)
	WebhookRetried()
	WebhookDropped(events int)
	WebhookQueue(depth int)
}

// Event is one event as the receiver gets it (PROTOCOL.md §9.2).
type Event struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Time   string `json:"time"`
	Node   string `json:"node"`
	UserID string `json:"user_id,omitempty"`
	Room   string `json:"room,omitempty"`
	Count  int    `json:"count,omitempty"` // events_dropped
}

// Batch is the body of one POST.
type Batch struct {
	Events []Event `json:"events"`
}

// queued is an event waiting, with when it arrived (the batch window starts then).
type queued struct {
	ev Event
	at time.Time
}

// Sender batches, signs and delivers events on a goroutine of its own.
type Sender struct {
	o      Options
	prefix string // event ids: node, start time, sequence

	mu       sync.Mutex
	queue    []queued
	inFlight int // events of the batch being delivered (they count toward Queue)
	dropped  int // events lost since the last events_dropped report
	seq      uint64
	closing  bool
	wake     chan struct{}

	stop context.Context
	halt context.CancelFunc
	done chan struct{}
}

// New starts a Sender.
func New(o Options) *Sender {
	if o.Retry <= 0 {
		o.Retry = DefaultRetry
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: AttemptTimeout}
	}
	s := &Sender{
		o:      o,
		prefix: o.Node + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-",
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	s.stop, s.halt = context.WithCancel(context.Background())
	go s.run()
	return s
}

// Add queues ev without waiting; when the queue is full the oldest waiting event is
// dropped (reported by a later events_dropped). Safe from any goroutine. The event's id
// is ev.ID when the core set one (a cluster's, the same on every node that may send
// it), else one the sender numbers.
func (s *Sender) Add(ev core.AppEvent) {
	s.add(Event{Type: ev.Type.String(), ID: ev.ID, Time: proto.Timestamp(ev.Time), UserID: ev.User, Room: ev.Room})
}

func (s *Sender) add(ev Event) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	if ev.ID == "" {
		s.seq++
		ev.ID = s.prefix + strconv.FormatUint(s.seq, 10)
	}
	ev.Node = s.o.Node
	drop := 0
	if len(s.queue)+s.inFlight >= s.o.Queue {
		drop, s.dropped = 1, s.dropped+1
		if len(s.queue) == 0 { // all of the bound is in flight: the new one goes
			s.mu.Unlock()
			s.count(func(m Metrics) { m.WebhookDropped(1) })
			return
		}
		s.queue[0] = queued{}
		s.queue = s.queue[1:]
	}
	s.queue = append(s.queue, queued{ev: ev, at: time.Now()})
	depth := len(s.queue) + s.inFlight
	s.mu.Unlock()
	if drop > 0 {
		s.count(func(m Metrics) { m.WebhookDropped(drop) })
	}
	s.count(func(m Metrics) { m.WebhookQueue(depth) })
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Sender) count(f func(Metrics)) {
	if s.o.Metrics != nil {
		f(s.o.Metrics)
	}
}

// Close stops taking events and delivers what is queued until ctx ends; then it gives
// up on the rest and returns ctx's error.
func (s *Sender) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		err = ctx.Err()
		s.halt()
		<-s.done
	}
	s.halt()
	return err
}

// run takes batches off the queue, in order, and delivers each until it is taken or
// its retry time ran out.
func (s *Sender) run() {
	defer close(s.done)
	for {
		batch, ok := s.next()
		if !ok {
			return
		}
		s.deliver(batch)
	}
}

// next waits for a batch: MaxBatch events, or what came within Wait of the first (at
// once when closing). With events lost since the last batch, it begins with
// events_dropped. ok is false when closing with nothing left, or stopped.
func (s *Sender) next() (b Batch, ok bool) {
	for {
		s.mu.Lock()
		n, closing := len(s.queue), s.closing
		var due time.Time
		if n > 0 {
			due = s.queue[0].at.Add(s.o.Wait)
		}
		if n > 0 && (n >= MaxBatch || closing || !time.Now().Before(due)) {
			break // with s.mu held
		}
		s.mu.Unlock()
		if n == 0 && closing {
			return b, false
		}
		var t *time.Timer
		var timer <-chan time.Time
		if n > 0 {
			t = time.NewTimer(time.Until(due))
			timer = t.C
		}
		select {
		case <-s.wake:
		case <-timer:
		case <-s.stop.Done():
		}
		if t != nil {
			t.Stop()
		}
		if s.stop.Err() != nil {
			return b, false
		}
	}
	defer s.mu.Unlock()
	room := MaxBatch
	if s.dropped > 0 {
		s.seq++
		b.Events = append(b.Events, Event{Type: typeDropped, ID: s.prefix + strconv.FormatUint(s.seq, 10),
			Time: proto.Timestamp(time.Now()), Node: s.o.Node, Count: s.dropped})
		s.dropped = 0
		room--
	}
	k := min(room, len(s.queue))
	for i := range k {
		b.Events = append(b.Events, s.queue[i].ev)
		s.queue[i] = queued{}
	}
	s.queue = s.queue[k:]
	s.inFlight = k
	return b, true
}

// deliver POSTs b until a 2xx, backing off between attempts (Backoff doubling to
// MaxBackoff), for up to Retry; then b is dropped (reported as events_dropped).
func (s *Sender) deliver(b Batch) {
	body, err := json.Marshal(b)
	if err != nil { // plain strings and ints: cannot fail
		panic("webhook: " + err.Error())
	}
	sig := Sign([]byte(s.o.Secret), body)
	first := time.Now()
	wait := s.o.Backoff
	for {
		if s.attempt(body, sig) {
			s.count(func(m Metrics) { m.WebhookDelivered(len(b.Events)) })
			break
		}
		if time.Since(first)+wait > s.o.Retry || s.stop.Err() != nil {
			lost, reported := 0, 0
			for _, ev := range b.Events {
				if ev.Type == typeDropped {
					reported += ev.Count // counted when dropped; still to be reported
				} else {
					lost++
				}
			}
			s.mu.Lock()
			s.dropped += lost + reported
			s.mu.Unlock()
			s.count(func(m Metrics) { m.WebhookDropped(lost) })
			break
		}
		s.count(func(m Metrics) { m.WebhookRetried() })
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.stop.Done():
			t.Stop()
		}
		wait = min(2*wait, MaxBackoff)
	}
	s.mu.Lock()
	s.inFlight = 0
	s.mu.Unlock()
}

// attempt POSTs body once and reports whether the receiver took it (2xx in time).
func (s *Sender) attempt(body []byte, sig string) bool {
	ctx, cancel := context.WithTimeout(s.stop, AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.URL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode <= 299
}
