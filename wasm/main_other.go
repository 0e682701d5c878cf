//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// main explains itself: this command only means something compiled for the browser.
func main() {
	fmt.Fprintln(os.Stderr, "wasm: build with GOOS=js GOARCH=wasm (make playground)")
	os.Exit(2)
}
