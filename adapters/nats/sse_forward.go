package natsbroker

import (
	"bytes"
	"context"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go"
)

// ssePrefix + a node's id is the subject on which that node answers the POST /sse/send
// requests other nodes forward for its streams (PROTOCOL.md §12): request/reply, the
// request the session and the messages, one per line; the reply the HTTP status.
const ssePrefix = "sb.sse."

func sseSubject(node string) string { return ssePrefix + token(node) }

// SSEForwarder carries POSTs for streams held by other nodes (sse.Forwarder).
type SSEForwarder struct{ b *Broker }

// ForwardSSE makes this node answer the POSTs other nodes forward for its streams with
// deliver (sse.Handler.Deliver: it returns the status to answer), one request at a time
// in the order they arrive, and returns the forwarder for this node's own POSTs. The
// subscription lives as long as the broker.
func (b *Broker) ForwardSSE(deliver func(session string, msgs [][]byte) int) (*SSEForwarder, error) {
	_, err := b.nc.Subscribe(sseSubject(b.opts.NodeID), func(m *nats.Msg) {
		session, msgs, ok := decodeSSEForward(m.Data)
		status := 400
		if ok {
			status = deliver(session, msgs)
		}
		m.Respond(strconv.AppendInt(nil, int64(status), 10))
	})
	if err != nil {
		return nil, err
	}
	return &SSEForwarder{b: b}, nil
}

// Forward implements sse.Forwarder (0: no node of that name subscribes): it waits for the
// holder's answer, so one session's
// POSTs, each answered only once it took effect, take effect in the order answered.
func (f *SSEForwarder) Forward(ctx context.Context, node, session string, msgs [][]byte) (int, error) {
	reply, err := f.b.nc.RequestWithContext(ctx, sseSubject(node), encodeSSEForward(session, msgs))
	if errors.Is(err, nats.ErrNoResponders) {
		return 0, nil // no node of that name: the stream is gone, or never was
	}
	if err != nil {
		return 0, err
	}
	status, err := strconv.Atoi(string(reply.Data))
	if err != nil {
		return 0, errors.New("natsbroker: bad SSE forward reply")
	}
	return status, nil
}

// The request: the session, then each message, each followed by a newline (neither a
// session nor a message of a POST body holds one).
func encodeSSEForward(session string, msgs [][]byte) []byte {
	n := len(session) + 1
	for _, m := range msgs {
		n += len(m) + 1
	}
	b := make([]byte, 0, n)
	b = append(append(b, session...), '\n')
	for _, m := range msgs {
		b = append(append(b, m...), '\n')
	}
	return b
}

func decodeSSEForward(b []byte) (session string, msgs [][]byte, ok bool) {
	first, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return "", nil, false
	}
	for len(rest) > 0 {
		var m []byte
		m, rest, _ = bytes.Cut(rest, []byte("\n"))
		msgs = append(msgs, m)
	}
	return string(first), msgs, true
}
