package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/switchboard-ws/switchboard/core"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the one file Open keeps in the data directory.
const FileName = "streams.db"

// lockTimeout is how long Open waits for another process to release the file's lock
// before it gives up: long enough for a restart that overlaps the old process's exit,
// short enough that a second server on the same directory fails at once.
const lockTimeout = time.Second

// Layout: bucket streamsBucket holds one nested bucket per room, named by the room. In
// it, key metaKey holds the stream's last offset (8 bytes, big endian; 0 before its first
// message) followed by its epoch; each held message is key msgPrefix + offset (8 bytes,
// big endian, so the keys sort by offset) with value time (Unix nanoseconds, 8 bytes),
// then the sender and the chat's id (§10.4, for dedupe after a restart), each as uvarint
// length + bytes, then the content.
var (
	streamsBucket = []byte("streams")
	metaKey       = []byte("s")
	msgPrefix     = []byte("m")
)

const msgKeyLen = 1 + 8

// Store is an open data directory. Its methods may not be called concurrently with
// Close; Write and Load may run on any one goroutine at a time.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens (creating it and the file when needed) the data directory dir. It fails
// when another process holds dir open, or when the file is not a stream store.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: lockTimeout,
		// See the package doc: the OS page cache, not the disk, before each ack.
		NoSync: true,
		// The freelist is rebuilt by scanning at open instead of written by every
		// transaction (etcd's setting): fewer pages per chat.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%s is in use by another process (its lock was not released within %s)", path, lockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(streamsBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// Close releases the file and its lock.
func (s *Store) Close() error { return s.db.Close() }

// Write carries out the ActionStore actions among actions, in order, in one transaction
// (node.Store): it returns once the operating system has them. Other kinds are ignored.
func (s *Store) Write(actions []core.Action) error {
	if !slices.ContainsFunc(actions, func(a core.Action) bool { return a.Kind == core.ActionStore }) {
		return nil // no transaction for a step that keeps nothing
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		streams := tx.Bucket(streamsBucket)
		for i := range actions {
			a := &actions[i]
			if a.Kind != core.ActionStore {
				continue
			}
			var err error
			switch a.Store {
			case core.StoreAppend:
				err = appendMsg(streams, a)
			case core.StoreBegin:
				err = begin(streams, a)
			case core.StoreDrop:
				err = streams.DeleteBucket([]byte(a.Room))
				if errors.Is(err, berrors.ErrBucketNotFound) {
					err = nil // never written (or already gone): nothing to forget
				}
			default:
				err = fmt.Errorf("unknown store op %d", a.Store)
			}
			if err != nil {
				return fmt.Errorf("store %s: %w", a.Room, err)
			}
		}
		return nil
	})
}

// epochBucket returns the bucket of a's room holding a.Epoch, replacing a stream of
// another epoch (or an unreadable one) by an empty bucket; fresh says it is new.
func epochBucket(streams *bolt.Bucket, a *core.Action) (b *bolt.Bucket, fresh bool, err error) {
	if a.Epoch == "" {
		return nil, false, errors.New("no epoch")
	}
	room := []byte(a.Room)
	if b = streams.Bucket(room); b != nil {
		if _, epoch, ok := decodeMeta(b.Get(metaKey)); ok && epoch == a.Epoch {
			return b, false, nil
		}
		if err := streams.DeleteBucket(room); err != nil {
			return nil, false, err
		}
	}
	b, err = streams.CreateBucket(room)
	return b, true, err
}

func putMeta(b *bolt.Bucket, offset uint64, epoch string) error {
	meta := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(epoch)), offset)
	return b.Put(metaKey, append(meta, epoch...))
}

// begin records a's epoch at offset 0 for a stream with no message yet; a stream the
// file already holds in that epoch stays as it is.
func begin(streams *bolt.Bucket, a *core.Action) error {
	b, fresh, err := epochBucket(streams, a)
	if err != nil || !fresh {
		return err
	}
	return putMeta(b, 0, a.Epoch)
}

// appendMsg adds a's chat to its room's stream, replacing a stream of another epoch,
// and trims the stream to its a.Keep newest messages.
func appendMsg(streams *bolt.Bucket, a *core.Action) error {
	if a.Msg == nil {
		return errors.New("append without a message")
	}
	b, _, err := epochBucket(streams, a)
	if err != nil {
		return err
	}
	m := a.Msg
	if err := putMeta(b, m.Offset, a.Epoch); err != nil {
		return err
	}
	if a.Keep > 0 {
		val := binary.BigEndian.AppendUint64(make([]byte, 0, 8+2*binary.MaxVarintLen64+len(m.Sender)+len(m.ID)+len(m.Content)), uint64(m.Time.UnixNano()))
		val = binary.AppendUvarint(val, uint64(len(m.Sender)))
		val = append(val, m.Sender...)
		val = binary.AppendUvarint(val, uint64(len(m.ID)))
		val = append(append(val, m.ID...), m.Content...)
		if err := b.Put(msgKey(m.Offset), val); err != nil {
			return err
		}
	}
	return trim(b, m.Offset, a.Keep)
}

// trim deletes the messages of b at or below last-keep. Offsets of an epoch are
// consecutive, so the newest keep messages are exactly those above it; the loop deletes
// one message per append in steady state, more after --history was lowered.
func trim(b *bolt.Bucket, last uint64, keep int) error {
	if keep < 0 {
		keep = 0
	}
	if last <= uint64(keep) {
		return nil
	}
	cut := last - uint64(keep)
	c := b.Cursor()
	for k, _ := c.Seek(msgPrefix); isMsgKey(k) && binary.BigEndian.Uint64(k[1:]) <= cut; k, _ = c.Seek(msgPrefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Load returns every stream the file holds, each with its messages oldest first, for
// node.Options.Restore.
func (s *Store) Load() ([]core.StreamState, error) {
	var out []core.StreamState
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(streamsBucket).ForEachBucket(func(name []byte) error {
			b := tx.Bucket(streamsBucket).Bucket(name)
			offset, epoch, ok := decodeMeta(b.Get(metaKey))
			if !ok {
				return fmt.Errorf("stream %q: bad meta record", name)
			}
			st := core.StreamState{Room: string(name), Epoch: epoch, Offset: offset}
			c := b.Cursor()
			for k, v := c.Seek(msgPrefix); isMsgKey(k); k, v = c.Next() {
				m, ok := decodeMsg(v)
				if !ok {
					return fmt.Errorf("stream %q: bad message record at offset %d", name, binary.BigEndian.Uint64(k[1:]))
				}
				m.Offset = binary.BigEndian.Uint64(k[1:])
				st.Messages = append(st.Messages, m)
			}
			out = append(out, st)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	return out, nil
}

func msgKey(offset uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, msgKeyLen), msgPrefix...), offset)
}

func isMsgKey(k []byte) bool { return len(k) == msgKeyLen && k[0] == msgPrefix[0] }

func decodeMeta(v []byte) (offset uint64, epoch string, ok bool) {
	if len(v) <= 8 {
		return 0, "", false
	}
	return binary.BigEndian.Uint64(v), string(v[8:]), true
}

// decodeMsg reads a message value, copying out of the transaction's memory.
func decodeMsg(v []byte) (core.StoredMessage, bool) {
	if len(v) < 8 {
		return core.StoredMessage{}, false
	}
	at := int64(binary.BigEndian.Uint64(v))
	rest := v[8:]
	sender, ok := cutField(&rest)
	if !ok {
		return core.StoredMessage{}, false
	}
	id, ok := cutField(&rest)
	if !ok {
		return core.StoredMessage{}, false
	}
	m := core.StoredMessage{Sender: string(sender), Content: append([]byte(nil), rest...), Time: time.Unix(0, at).UTC()}
	if len(id) > 0 {
		m.ID = append([]byte(nil), id...)
	}
	return m, true
}

// cutField takes one uvarint-length-prefixed field off the front of *rest.
func cutField(rest *[]byte) ([]byte, bool) {
	n, w := binary.Uvarint(*rest)
	if w <= 0 || uint64(len(*rest)-w) < n {
		return nil, false
	}
	f := (*rest)[w : w+int(n)]
	*rest = (*rest)[w+int(n):]
	return f, true
}
