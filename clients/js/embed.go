// Package jsclient holds switchboard.js, the JavaScript client, for the Go side: the
// server embeds these very bytes and serves them at /switchboard.js, so the npm package
// (this directory) and the served module are one source, never a copy.
//
// It must never hold anything but the file's bytes.
package jsclient

import _ "embed"

// Source is switchboard.js as the npm package ships it.
//
//go:embed switchboard.js
var Source []byte
