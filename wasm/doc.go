// Command wasm is Switchboard's core compiled for the browser (GOOS=js GOARCH=wasm): the
// very same core package the server runs, behind a small JavaScript API that the
// /playground page uses to run a hub with simulated users and no server.
//
// It owns only the glue: decoding configs and events from JSON, stepping the hub, and
// rendering every action (each target's frame in that connection's format, closes, admin
// replies) as JSON. It must never fork or re-implement core behaviour, and never do I/O
// beyond handing strings to and from JavaScript.
//
//	// make playground → web/static/playground/hub.wasm + wasm_exec.js
//	const id = switchboard.newHub(JSON.stringify({max_per_user: 2}))   // or an Error
//	let r = JSON.parse(switchboard.step(id, JSON.stringify(
//	    {kind: "connect", conn: 1, user: "ann", format: "json", now: Date.now()})))
//	r = JSON.parse(switchboard.step(id, JSON.stringify(
//	    {kind: "frame", conn: 1, data: '{"type":"join","room":"lobby"}'})))
//	// r.actions: [{kind: "deliver", type: "user_joined", targets: [1],
//	//              frames: {json: {text: "{…}", bytes: 97}}}, …]
//	switchboard.step(id, JSON.stringify({kind: "tick", now: Date.now() + 5000}))
//	switchboard.closeHub(id)
package main
