package fuzz

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz/FuzzParse{JSON,Msgpack} from jsonSeeds")

// jsonSeeds: requests of every type, valid and invalid, and the JSON corners the parser
// must get right. FuzzParseMsgpack uses their MessagePack forms.
var jsonSeeds = []string{
	`{"type":"join","room":"lobby"}`,
	`{"type":"join","room":"team:blue/ops@x.y-z_1","since":42,"id":"j1"}`,
	`{"type":"join","room":"r","since":-1}`,
	`{"type":"join","room":"r","since":1.5e3}`,
	`{"type":"join","room":"r","since":18446744073709551616}`,
	`{"type":"join","room":"has space"}`,
	`{"type":"leave","room":"lobby","id":""}`,
	`{"type":"members","room":"lobby"}`,
	`{"type":"chat","room":"lobby","content":"hello \"world\"\n\u00e9\ud83d\ude00","id":"c1"}`,
	`{"type":"chat","room":"lobby"}`,
	`{"sender":"mallory","type":"chat","room":"r","content":"x","user_id":"m","from":"m"}`,
	`{"type":"private","to":"bob","content":"psst"}`,
	`{"type":"private","to":"room:x","content":"psst"}`,
	`{"type":"broadcast","content":"to all"}`,
	`{"type":"online"}`,
	`{"type":"ping","id":"p"}`,
	`{"type":"dance","id":"d"}`,
	`{"type":5}`,
	`{"id":"` + strings.Repeat("i", 65) + `","type":"ping"}`,
	`{"type":"ping","type":"chat","room":"a","room":"b","content":null,"content":""}`,
	`{"type":"ping","x":{"a":[1,-2.5e-3,true,false,null,{"b":[]}]}}`,
	`{"type":"ping","x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
	` {"type" : "ping"} `,
	`{"type":"ping"} {}`,
	`{"type":"broadcast","content":"\ud83d"}`,
	`{"type":"broadcast","content":"\u0000\b\f\t\/"}`,
	`["type","ping"]`,
	`{}`,
	`null`,
}

// TestWriteSeeds rewrites the seed corpora (go test ./fuzz -run TestWriteSeeds -write-seeds).
// Without the flag it checks that every seed is on disk, so the corpora cannot drift.
func TestWriteSeeds(t *testing.T) {
	for target, seeds := range map[string][][]byte{
		"FuzzParseJSON":    jsonSeedBytes(),
		"FuzzParseMsgpack": msgpackSeedBytes(t),
	} {
		dir := filepath.Join("testdata", "fuzz", target)
		for i, seed := range seeds {
			path := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seed)
			if *writeSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale: run go test ./fuzz -run TestWriteSeeds -write-seeds", path)
			}
		}
	}
}

func jsonSeedBytes() (out [][]byte) {
	for _, s := range jsonSeeds {
		out = append(out, []byte(s))
	}
	return out
}

func msgpackSeedBytes(t *testing.T) (out [][]byte) {
	for _, s := range jsonSeeds {
		var doc any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if dec.Decode(&doc) != nil {
			continue
		}
		mp, err := toMsgpack(nil, doc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mp)
	}
	return out
}
