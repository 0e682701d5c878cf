package natsbroker

import (
	"sync"

	"github.com/switchboard-ws/switchboard/core"
)

// Link carries a node's core.ClusterAction to a Broker and the Broker's news back as
// core.ClusterEvent: it is what node.Options.Cluster takes.
//
//	link, err := natsbroker.Dial(natsbroker.Options{URL: url, NodeID: id, History: 100})
//	n := node.New(node.Options{Core: cfg, Cluster: link}) // New calls link.Start
//	…
//	n.Shutdown(ctx); link.Close()
type Link struct {
	*Broker

	mu    sync.Mutex
	post  func(core.ClusterEvent)
	early []core.ClusterEvent // what arrived before Start
}

// Dial connects a Broker for a node; see Connect.
func Dial(opts Options) (*Link, error) {
	l := &Link{}
	b, err := Connect(opts, l.deliver)
	if err != nil {
		return nil, err
	}
	l.Broker = b
	return l, nil
}

// Start hands every cluster event, from now on and those that came before, to post. It
// is called once, by node.New.
func (l *Link) Start(post func(core.ClusterEvent)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.post = post
	for _, ev := range l.early {
		post(ev)
	}
	l.early = nil
}

func (l *Link) deliver(ev core.ClusterEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.post == nil {
		l.early = append(l.early, ev)
		return
	}
	l.post(ev)
}

// Do carries out one cluster action of the hub. It never waits for the network.
func (l *Link) Do(a core.ClusterAction) {
	switch a := a.(type) {
	case core.ClusterPublish:
		l.PublishChat(a.Room, a.Sender, a.Content, a.Time, a.Ref, a.DedupeID)
	case core.ClusterPrivate:
		l.Private(a.Sender, a.To, a.Content, a.Time, !a.NoCopy)
	case core.ClusterBroadcast:
		l.Broadcast(a.Sender, a.Content, a.Exclude, a.Time)
	case core.ClusterSystem:
		l.System(a.Room, a.Content, a.Time)
	case core.ClusterKick:
		l.Kick(a.User)
	case core.ClusterSeat:
		l.Seat(a.User, a.Room, !a.Leave)
	case core.ClusterConnOpened:
		l.ConnOpened(a.User, uint64(a.Conn), a.Order)
	case core.ClusterConnClosed:
		l.ConnClosed(a.User, uint64(a.Conn))
	case core.ClusterRoomCount:
		l.RoomCountSince(a.Room, a.User, a.Count, a.Began)
	case core.ClusterRecover:
		l.Recover(uint64(a.Conn), a.Room, a.Since)
	case core.ClusterRoomMessage:
		l.RoomMessage(a)
	}
}
