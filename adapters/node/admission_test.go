package node

import (
	"net/netip"
	"testing"
	"time"
)

func TestAdmissionPerIP(t *testing.T) {
	a := NewAdmission(2, 0)
	ann, bob := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	now := time.Unix(1000, 0)
	for i := range 2 {
		if _, ok := a.Admit(ann, now); !ok {
			t.Fatalf("handshake %d from ann refused", i+1)
		}
	}
	if wait, ok := a.Admit(ann, now); ok || wait <= 0 {
		t.Fatalf("third from ann: ok=%v wait=%v", ok, wait)
	}
	if _, ok := a.Admit(bob, now); !ok {
		t.Fatal("bob refused for ann's connections")
	}
	a.Release(ann)
	if _, ok := a.Admit(ann, now); !ok {
		t.Fatal("ann refused after one of hers ended")
	}
}

func TestAdmissionRate(t *testing.T) {
	a := NewAdmission(0, 10)
	ip := netip.MustParseAddr("127.0.0.1")
	now := time.Unix(1000, 0)
	for i := range 10 {
		if _, ok := a.Admit(ip, now); !ok {
			t.Fatalf("handshake %d of the first second refused", i+1)
		}
	}
	wait, ok := a.Admit(ip, now)
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("11th at once: ok=%v wait=%v, want refused for 100ms", ok, wait)
	}
	if RetryAfterHeader(wait) != "1" {
		t.Fatalf("Retry-After %q", RetryAfterHeader(wait))
	}
	if _, ok := a.Admit(ip, now.Add(100*time.Millisecond)); !ok {
		t.Fatal("refused once a token came back")
	}
	if _, ok := a.Admit(ip, now.Add(100*time.Millisecond)); ok {
		t.Fatal("two handshakes on one token")
	}
	// A long pause refills the bucket to one second's worth, not more.
	later := now.Add(time.Hour)
	for i := range 10 {
		if _, ok := a.Admit(ip, later); !ok {
			t.Fatalf("after a pause, handshake %d refused", i+1)
		}
	}
	if _, ok := a.Admit(ip, later); ok {
		t.Fatal("the bucket held more than one second's worth")
	}
	// A clock that steps back changes nothing.
	if _, ok := a.Admit(ip, now); ok {
		t.Fatal("a step back in time gave tokens")
	}
}

func TestAdmissionOffAdmitsAll(t *testing.T) {
	a := NewAdmission(0, 0)
	ip := netip.MustParseAddr("::1")
	for range 1000 {
		if _, ok := a.Admit(ip, time.Time{}); !ok {
			t.Fatal("refused with no limits")
		}
	}
}
