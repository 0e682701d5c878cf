package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-ws/switchboard/core"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("scrape lacks line %q", l)
		}
	}
}

func TestFreshScrape(t *testing.T) {
	text := scrape(t, New())
	wantLines(t, text,
		"# TYPE switchboard_connections gauge",
		"switchboard_connections 0",
		"# TYPE switchboard_rooms gauge",
		"switchboard_rooms 0",
		"# TYPE switchboard_messages_received_total counter",
		"switchboard_messages_received_total 0",
		"# TYPE switchboard_messages_delivered_total counter",
		"switchboard_messages_delivered_total 0",
		"# TYPE switchboard_closes_total counter",
		`switchboard_closes_total{code="1001"} 0`,
		`switchboard_closes_total{code="4008"} 0`,
	)
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_resident_memory_bytes", "process_open_fds"} {
		if !strings.Contains(text, "\n"+name+" ") {
			t.Errorf("scrape lacks standard series %s", name)
		}
	}
}

func TestCounts(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 250 {
				m.ConnOpened()
				m.Received()
				m.Delivered(3)
			}
		})
	}
	wg.Wait()
	for range 10 {
		m.ConnClosed(1001)
	}
	m.ConnClosed(4009)
	for code := range uint16(300) { // clients choosing codes choose no new series
		m.ConnClosed(3000 + code)
	}
	m.ConnClosed(1008)
	m.ConnClosed(4001)
	m.Rooms(7)
	wantLines(t, scrape(t, m),
		"switchboard_connections 687",
		"switchboard_rooms 7",
		"switchboard_messages_received_total 1000",
		"switchboard_messages_delivered_total 3000",
		`switchboard_closes_total{code="1001"} 10`,
		`switchboard_closes_total{code="4009"} 1`,
		`switchboard_closes_total{code="other"} 300`,
		`switchboard_closes_total{code="1008"} 1`,
		`switchboard_closes_total{code="4001"} 1`,
		`switchboard_closes_total{code="4002"} 0`,
		`switchboard_closes_total{code="1000"} 0`,
	)
	if text := scrape(t, m); strings.Contains(text, `code="3000"`) || strings.Count(text, "switchboard_closes_total{") != len(core.CloseReasons)+1 {
		t.Fatalf("close-code series are not bounded:\n%s", text)
	}
}
