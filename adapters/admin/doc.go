// Package admin owns Switchboard's operator HTTP API (PROTOCOL.md §6): routing, access
// control (a bearer token compared in constant time, or loopback clients naming this
// server in their Host; a foreign Origin and a POST that is not application/json refused
// either way, PROTOCOL.md §11), request validation and the JSON shape of every answer.
//
// It must never touch server state itself: every request becomes one core.AdminRequest
// handed to an Admin (the node, or a cluster in front of it), and the reply is rendered
// as it comes back.
//
//	mux.Handle("/api/", admin.New(node, admin.Options{Token: token}))
package admin
