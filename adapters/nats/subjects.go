package natsbroker

import "strings"

// Subjects. A room or user name becomes one subject token: the protocol allows '.' in
// names, which NATS reads as a token separator, so '.' is written as '%' (a character no
// valid name contains, so the mapping is one-to-one).
const (
	roomPrefix     = "sb.room." // chat published into the room stream (stored, sequenced)
	livePrefix     = "sb.live." // the stream republishes each stored chat here, with its sequence; ephemeral room events
	userPrefix     = "sb.user." // private copies and kicks for one user's connections
	broadcastSubj  = "sb.all"   // broadcast and system notices, every node listens
	presenceSubj   = "sb.pres"  // presence batches and heartbeats, every node listens
	helloSubj      = "sb.hello" // a node that (re)starts asks every node for a heartbeat now
	snapshotPrefix = "sb.snap." // request/reply: one node's full presence
	streamName     = "SB_ROOMS" // the JetStream stream over roomPrefix+">"
	directGetSubj  = "$JS.API.DIRECT.GET." + streamName
	// streamAdvisorySubj: JetStream announces that the room stream was created (by any
	// node, e.g. after NATS lost it); every node sets it up again to learn the epoch.
	streamAdvisorySubj = "$JS.EVENT.ADVISORY.STREAM.CREATED." + streamName
)

func token(name string) string { return strings.ReplaceAll(name, ".", "%") }

func roomSubject(room string) string { return roomPrefix + token(room) }
func liveSubject(room string) string { return livePrefix + token(room) }
func userSubject(user string) string { return userPrefix + token(user) }
func snapSubject(node string) string { return snapshotPrefix + token(node) }
