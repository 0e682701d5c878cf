package proto

import "testing"

// A client request built as JSON and re-encoded for switchboard.msgpack parses like the
// JSON itself, and a server message survives FromJSON then ToJSON unchanged.
func TestFromJSONRoundTrips(t *testing.T) {
	doc := `{"type":"join","room":"lobby","since":7,"id":"j1"}`
	b, err := FromJSON(Msgpack, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var req Request
	if err := Parse(Msgpack, b, &req); err != nil {
		t.Fatal(err)
	}
	if req.Type != ReqJoin || string(req.Room) != "lobby" || !req.HasSince || req.Since != 7 || string(req.ID) != "j1" {
		t.Fatalf("parsed %+v", req)
	}
	for _, doc := range []string{
		`{"type":"rpc_result","id":"1","result":{"n":-3,"f":1.5,"ok":true,"none":null,"list":["a",2]}}`,
		`{"type":"members","room":"r","members":[]}`,
	} {
		b, err := FromJSON(Msgpack, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		back, err := ToJSON(Msgpack, b)
		if err != nil {
			t.Fatal(err)
		}
		if string(back) != doc {
			t.Errorf("round trip\n got %s\nwant %s", back, doc)
		}
	}
	for _, bad := range []string{`{"a":`, `{"a":1} {}`, `[`} {
		if _, err := FromJSON(Msgpack, []byte(bad)); err == nil {
			t.Errorf("FromJSON(%s): no error", bad)
		}
	}
}
