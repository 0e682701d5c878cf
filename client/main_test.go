package client_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test ends with no goroutine of the client, the servers or the proxies left.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
