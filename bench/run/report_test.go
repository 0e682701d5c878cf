package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func raw(t *testing.T, system string, repeat int, js string) rawResult {
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return rawResult{System: system, Repeat: repeat, Mode: "efficiency", Job: m["scenario"].(string), Result: m}
}

// Measures are min/median/max over the valid repeats only; a row with fewer valid
// repeats than required is invalid and says why, and the README table leaves it out.
func TestAggregateValidRepeatsOnly(t *testing.T) {
	var raws []rawResult
	for i, rate := range []float64{100, 300, 200, 900, 250, 150} {
		valid := i != 3 // the 900 came from a busy machine
		js := `{"scenario":"fanout","conns":10,"room_size":5,"msg_bytes":100,"valid":` + map[bool]string{true: "true", false: "false"}[valid] +
			`,"slo_rate":` + jsonNum(rate) + `,"p99_ms_at_half_slo":3,"core_sec_per_million":0.5,"writes_per_delivery":0.1,"cost_rate":50000`
		if !valid {
			js += `,"invalid_reasons":["other processes used 40% of the machine (limit 10%)"]`
		}
		if i == 4 {
			js += `,"cost_step":{"slo_pass":false}`
		}
		raws = append(raws, raw(t, "x", i, js+"}"))
	}
	rows := aggregate(raws, 5)
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	if !r.Valid || r.Repeats != 6 || r.ValidRepeats != 5 {
		t.Fatalf("valid %v repeats %d valid %d", r.Valid, r.Repeats, r.ValidRepeats)
	}
	if s := r.SLORate; s == nil || s.Min != 100 || s.Median != 200 || s.Max != 300 || s.N != 5 {
		t.Fatalf("slo_rate %+v, want 100/200/300 over 5", s)
	}
	if !r.CostMissedSLO || !strings.Contains(table(rows), "missed the SLO at the cost rate") {
		t.Fatalf("a cost step that missed the SLO is not flagged: %v", r.CostMissedSLO)
	}
	if len(r.Invalid) != 1 || !strings.Contains(r.Invalid[0], "other processes") {
		t.Fatalf("reasons %v", r.Invalid)
	}
	if rows := aggregate(raws, 6); rows[0].Valid || !strings.Contains(strings.Join(rows[0].Invalid, ";"), "5 valid repeats of 6") {
		t.Fatalf("with 6 required: valid %v %v", rows[0].Valid, rows[0].Invalid)
	}
	if tb := table(aggregate(raws, 6)); strings.Contains(tb, "| x |") || !strings.Contains(tb, "1 more rows were invalid") {
		t.Fatalf("an invalid row reached the table:\n%s", tb)
	}
	if tb := table(rows); !strings.Contains(tb, "| x | fanout | 10 | 5 | 100 | 0k (0k–0k) | 3.0 | 0.50 | 0.100 |") {
		t.Fatalf("valid row missing:\n%s", tb)
	}
}

func TestIdleRowsPerCheckpoint(t *testing.T) {
	var raws []rawResult
	for i := 0; i < 5; i++ {
		raws = append(raws, raw(t, "y", i, `{"scenario":"idle","conns":2000,"msg_bytes":100,"valid":true,"idle":[
			{"conns":1000,"rss_per_conn_bytes":900,"rss_per_conn_after_msg_bytes":1000,"heap_stack_per_conn_after_msg_bytes":700,"goroutines_after_msg":9},
			{"conns":2000,"rss_per_conn_bytes":800,"rss_per_conn_after_msg_bytes":`+jsonNum(float64(1100+i))+`,"heap_stack_per_conn_after_msg_bytes":-1,"goroutines_after_msg":9}]}`))
	}
	rows := aggregate(raws, 5)
	if len(rows) != 2 || rows[0].Conns != 1000 || rows[1].Conns != 2000 {
		t.Fatalf("rows %+v", rows)
	}
	if rows[0].HeapPerConn == nil || rows[0].HeapPerConn.Median != 700 || rows[1].HeapPerConn != nil {
		t.Fatalf("heap %+v %+v (an unknown heap must stay null)", rows[0].HeapPerConn, rows[1].HeapPerConn)
	}
	if s := rows[1].RSSPerConn; s.Min != 1100 || s.Median != 1102 || s.Max != 1104 {
		t.Fatalf("rss %+v", s)
	}
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }
