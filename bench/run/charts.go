package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// charts draws slo_rate by room size per system (valid rows only), and p99 latency
// against offered load (valid steps only) for the fanout job with rooms of 100 (or the
// first fanout job run).
func charts(dir string, rows []row, raws []rawResult) {
	if err := roomChart(dir, rows); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
	}
	if err := latencyChart(dir, raws); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
	}
}

// palette gives each of the eleven systems its own colour (plotutil's has seven).
var palette = []color.Color{
	color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	color.RGBA{0xe3, 0x77, 0xc2, 0xff}, color.RGBA{0x7f, 0x7f, 0x7f, 0xff}, color.RGBA{0xbc, 0xbd, 0x22, 0xff},
	color.RGBA{0x17, 0xbe, 0xcf, 0xff}, color.RGBA{0x00, 0x00, 0x00, 0xff},
}

func colorOf(i int) color.Color { return palette[i%len(palette)] }

func systemOrder(rows []row) []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.System] {
			seen[r.System] = true
			names = append(names, r.System)
		}
	}
	return names
}

func roomChart(dir string, rows []row) error {
	var fan []row
	sizes := map[int]bool{}
	for _, r := range rows {
		if r.Valid && r.Scenario == "fanout" && r.Mode == "efficiency" && r.MsgBytes == 100 && r.SLORate != nil {
			fan = append(fan, r)
			sizes[r.RoomSize] = true
		}
	}
	if len(fan) == 0 {
		return nil
	}
	var rs []int
	for s := range sizes {
		rs = append(rs, s)
	}
	sort.Ints(rs)
	p := plot.New()
	p.Title.Text = "fanout, 100 B: slo_rate, deliveries/s at p99 ≤ 50 ms (server on 1 core, median)"
	p.Y.Label.Text = "deliveries per second"
	p.X.Label.Text = "room size"
	names := systemOrder(fan)
	w := vg.Points(60 / float64(len(names)+1))
	for i, n := range names {
		vals := make(plotter.Values, len(rs))
		for k, s := range rs {
			for _, r := range fan {
				if r.System == n && r.RoomSize == s {
					vals[k] = r.SLORate.Median
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = colorOf(i)
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(i)-float64(len(names)-1)/2)
		p.Add(bars)
		p.Legend.Add(n, bars)
	}
	labels := make([]string, len(rs))
	for k, s := range rs {
		labels[k] = fmt.Sprint(s)
		for _, r := range fan {
			if r.RoomSize == s && r.Conns == s {
				labels[k] = fmt.Sprintf("all (%d)", s)
			}
		}
	}
	p.NominalX(labels...)
	p.Legend.Top = true
	return p.Save(10*vg.Inch, 6*vg.Inch, dir+"/fanout_by_room.png")
}

func latencyChart(dir string, raws []rawResult) error {
	// choose the job: fanout, 100 B, efficiency, rooms of 100 if present
	pick := func(r rawResult, size int) bool {
		return r.Job == "fanout" && r.Mode == "efficiency" && r.Repeat == 0 &&
			num(r.Result, "msg_bytes") != nil && *num(r.Result, "msg_bytes") == 100 &&
			num(r.Result, "room_size") != nil && int(*num(r.Result, "room_size")) == size
	}
	size := 100
	found := false
	for _, r := range raws {
		if pick(r, size) {
			found = true
		}
	}
	if !found {
		for _, r := range raws {
			if r.Job == "fanout" && num(r.Result, "room_size") != nil {
				size = int(*num(r.Result, "room_size"))
				break
			}
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("fanout, rooms of %d, 100 B: p99 latency vs offered load (repeat 1)", size)
	p.X.Label.Text = "offered deliveries per second"
	p.Y.Label.Text = "p99 latency, ms (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = ticks125{}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = ticks125{}
	p.X.Label.Text = "offered deliveries per second (log)"
	i := 0
	for _, r := range raws {
		if !pick(r, size) {
			continue
		}
		steps, _ := r.Result["steps"].([]any)
		if h, ok := r.Result["half_load"].(map[string]any); ok {
			steps = append(steps, h)
		}
		var pts plotter.XYs
		for _, s := range steps {
			sm, _ := s.(map[string]any)
			o, l := num(sm, "offered_per_sec"), num(sm, "p99_ms")
			if ok, _ := sm["valid"].(bool); !ok || o == nil || l == nil || *l <= 0 {
				continue
			}
			pts = append(pts, plotter.XY{X: *o, Y: *l})
		}
		sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		line.Color = colorOf(i)
		points.Color = colorOf(i)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(r.System, line, points)
		i++
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p.Save(10*vg.Inch, 6*vg.Inch, dir+"/latency_vs_load.png")
}

// ticks125 marks 1, 2 and 5 of every decade on a log axis.
type ticks125 struct{}

func (ticks125) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	if min <= 0 {
		min = 1e-3
	}
	for d := math.Pow(10, math.Floor(math.Log10(min))); d <= max; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := d * m
			if v < min || v > max {
				continue
			}
			label := strconv.FormatFloat(v, 'f', -1, 64)
			if v >= 1e6 {
				label = strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
			} else if v >= 1e3 {
				label = strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
			}
			t = append(t, plot.Tick{Value: v, Label: label})
		}
	}
	return t
}
