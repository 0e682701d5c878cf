package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/switchboard-ws/switchboard/adapters/node"
	"github.com/switchboard-ws/switchboard/core"
	"github.com/switchboard-ws/switchboard/core/proto"
)

// Options configure the proxy.
type Options struct {
	// URL is the backend's base URL: hooks are POSTed to URL/connect, URL/join,
	// URL/publish and URL/rpc.
	URL string
	// Client makes the calls; nil: a client of its own whose keep-alive pool holds
	// Concurrency idle connections to the backend (so calls reuse them).
	Client      *http.Client
	Concurrency int
	// Connect: every handshake is identified by the backend's connect hook (--auth proxy);
	// otherwise identity stays with node.Options.Identify.
	Connect bool
}

// maxAnswerBytes bounds what is read of a backend's answer: a larger one is a failure.
const maxAnswerBytes = 1 << 20

// New returns the hooks that ask the backend at o.URL.
func New(o Options) *node.Hooks {
	if o.Concurrency <= 0 {
		o.Concurrency = node.DefaultHookConcurrency
	}
	if o.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = o.Concurrency, o.Concurrency
		o.Client = &http.Client{Transport: t}
	}
	p := &backend{url: strings.TrimSuffix(o.URL, "/"), client: o.Client}
	h := &node.Hooks{Join: p.join, Publish: p.publish, RPC: p.rpc}
	if o.Connect {
		h.Connect = p.connect
	}
	return h
}

type backend struct {
	url    string
	client *http.Client
}

// errUnauthorized is a 401 or 403 answer to connect.
var errUnauthorized = errors.New("proxy: the backend refused the connection")

// post sends body to URL/hook and decodes a 2xx answer into answer. A 401 or 403 is
// errUnauthorized (to a hook other than connect, a failure like any other, which the
// node answers unavailable); any other failure (transport, status, JSON) an error naming it. The
// body is read to its end so the connection goes back to the keep-alive pool.
func (p *backend) post(ctx context.Context, hook string, body, answer any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/"+hook, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
		resp.Body.Close()
	}()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return errUnauthorized
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fmt.Errorf("proxy: %s answered HTTP %d", hook, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return err
	}
	if len(data) > maxAnswerBytes {
		return fmt.Errorf("proxy: %s answered more than %d bytes", hook, maxAnswerBytes)
	}
	if err := json.Unmarshal(data, answer); err != nil {
		return fmt.Errorf("proxy: %s answered bad JSON: %w", hook, err)
	}
	return nil
}

// connectHeaders are the handshake headers the backend gets (only those sent).
var connectHeaders = []string{"Cookie", "Authorization", "Origin", "User-Agent"}

type connectBody struct {
	Headers    map[string]string `json:"headers"`
	Query      string            `json:"query"`
	RemoteAddr string            `json:"remote_addr"`
}

type connectAnswer struct {
	UserID  string   `json:"user_id"`
	Rooms   []string `json:"rooms"`
	Publish []string `json:"publish"`
	Subs    []string `json:"subs"`
}

func (p *backend) connect(ctx context.Context, r *http.Request) (core.Identity, error) {
	body := connectBody{Headers: map[string]string{}, Query: r.URL.RawQuery, RemoteAddr: r.RemoteAddr}
	for _, h := range connectHeaders {
		if v := r.Header.Values(h); len(v) > 0 {
			body.Headers[h] = strings.Join(v, ", ")
		}
	}
	var a connectAnswer
	switch err := p.post(ctx, "connect", body, &a); {
	case errors.Is(err, errUnauthorized):
		return core.Identity{}, &node.HTTPError{Status: http.StatusUnauthorized, Code: proto.Unauthorized.String(), Message: "the application refused this connection"}
	case err != nil:
		return core.Identity{}, err
	}
	if !proto.ValidUser([]byte(a.UserID)) {
		return core.Identity{}, fmt.Errorf("proxy: connect answered user_id %q, not a valid user id", a.UserID)
	}
	return core.Identity{User: a.UserID, Rooms: a.Rooms, Publish: a.Publish, Subs: a.Subs}, nil
}

// verdict is the answer of join and publish.
type verdict struct {
	Allow   bool    `json:"allow"`
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Content *string `json:"content"`
}

func (v *verdict) refusal() error {
	if v.Allow {
		return nil
	}
	return &node.Refusal{Code: v.Code, Message: v.Message}
}

func (p *backend) join(ctx context.Context, q node.JoinQuery) error {
	var v verdict
	body := struct {
		UserID string `json:"user_id"`
		ConnID string `json:"conn_id"`
		Room   string `json:"room"`
	}{q.User, node.ConnIDString(q.Conn), q.Room}
	if err := p.post(ctx, "join", body, &v); err != nil {
		return err
	}
	return v.refusal()
}

func (p *backend) publish(ctx context.Context, q node.PublishQuery) (string, bool, error) {
	var v verdict
	body := struct {
		UserID  string `json:"user_id"`
		ConnID  string `json:"conn_id"`
		Room    string `json:"room"`
		Type    string `json:"type"`
		Content string `json:"content"`
		Event   string `json:"event,omitempty"`
	}{q.User, node.ConnIDString(q.Conn), q.Room, q.Type, q.Content, q.Event}
	if err := p.post(ctx, "publish", body, &v); err != nil {
		return "", false, err
	}
	if err := v.refusal(); err != nil {
		return "", false, err
	}
	if v.Content != nil {
		return *v.Content, true, nil
	}
	return "", false, nil
}

type rpcAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (p *backend) rpc(ctx context.Context, q node.RPCQuery) (json.RawMessage, error) {
	var a rpcAnswer
	body := struct {
		UserID string          `json:"user_id"`
		ConnID string          `json:"conn_id"`
		Method string          `json:"method"`
		Data   json.RawMessage `json:"data"`
	}{q.User, node.ConnIDString(q.Conn), q.Method, q.Data}
	if err := p.post(ctx, "rpc", body, &a); err != nil {
		return nil, err
	}
	if a.Error != nil {
		return nil, &node.Refusal{Code: a.Error.Code, Message: a.Error.Message}
	}
	return a.Result, nil
}
