package proto

import "testing"

// TestMessageTable checks the table both encoders are generated from: every message
// type has a distinct name and sends each key at most once, and a type outside the
// table is refused loudly rather than encoded as something else.
func TestMessageTable(t *testing.T) {
	names := map[string]bool{}
	for mt := MessageType(0); int(mt) < NumMessageTypes; mt++ {
		spec := messages[mt]
		if spec.name == "" || names[spec.name] {
			t.Errorf("message type %d: name %q empty or repeated", mt, spec.name)
		}
		names[spec.name] = true
		keys := map[messageKey]bool{}
		for _, f := range spec.fields {
			if keys[f.key] {
				t.Errorf("%s sends %q twice", spec.name, messageKeys[f.key].name)
			}
			keys[f.key] = true
		}
	}
	for k, key := range messageKeys {
		if key.name == "" || key.read == "" {
			t.Errorf("message key %d lacks a name or a reader", k)
		}
	}
	for _, f := range []Format{JSON, Msgpack} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: encoding an unknown MessageType did not panic", f)
				}
			}()
			m := &Message{Type: MessageType(NumMessageTypes)}
			m.Payload(f)
		}()
	}
}
