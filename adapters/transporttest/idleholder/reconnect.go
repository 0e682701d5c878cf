package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"
)

// closeGoingAway is the start of a server close frame with code 1001.
var closeGoingAway = []byte{0x03, 0xe9}

// followDrain waits until the server has closed every connection (as a drain does),
// each one reconnecting at once to addr as a client behind a load balancer would, and
// prints how long the closes took, how many said 1001, and how many reconnects failed.
func followDrain(conns []net.Conn, addr, path string) {
	type result struct {
		at        time.Time
		goingAway bool
		err       error
	}
	results := make([]result, len(conns))
	fresh := make([]net.Conn, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetDeadline(time.Time{})
			// Everything the server sends until it closes: the connected frame, then
			// its close frame; the socket ends after it.
			b, _ := io.ReadAll(c)
			c.Close() // the descriptor goes before the new one comes (20,000 per process)
			results[i].at = time.Now()
			j := bytes.LastIndexByte(b, 0x88)
			results[i].goingAway = j >= 0 && len(b) >= j+4 && bytes.Equal(b[j+2:j+4], closeGoingAway)
			fresh[i], results[i].err = dial(addr, path+"?user=idle"+strconv.Itoa(i))
		}()
	}
	wg.Wait()
	at := make([]time.Time, len(results))
	goingAway, failed := 0, 0
	var firstErr error
	for i, r := range results {
		at[i] = r.at
		if r.goingAway {
			goingAway++
		}
		if r.err != nil {
			failed++
			if firstErr == nil {
				firstErr = r.err
			}
		}
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	fmt.Printf("drained %d connections in %v (first close to last), %d closed 1001; reconnects to %s: %d ok, %d failed",
		len(conns), at[len(at)-1].Sub(at[0]).Round(time.Millisecond), goingAway, addr, len(conns)-failed, failed)
	if firstErr != nil {
		fmt.Printf(" (first: %v)", firstErr)
	}
	fmt.Println()
	for _, c := range fresh {
		if c != nil {
			c.Close()
		}
	}
}
