// Package fuzz holds Switchboard's go test -fuzz targets: the protocol parsers and
// encoders (proto_fuzz_test.go) and event sequences through the hub. Seed corpora live
// in testdata/fuzz/FuzzX/, so a plain `go test ./fuzz/` replays every seed and every
// failure the fuzzer has saved; `make fuzz` runs each target in turn.
//
// It must never hold production code: nothing outside this package imports it.
package fuzz
