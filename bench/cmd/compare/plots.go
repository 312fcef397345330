package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotFile is one chart written next to the report.
type plotFile struct {
	title string
	path  string
}

// writePlots draws, for each series of scenarios (GET and SET at 1 to
// 1,024 goroutines), throughput and p99 latency against goroutines, one
// line per client and a dashed one for redis-benchmark, as PNG files in
// dir.
func writePlots(cfg *config, res results, dir string) ([]plotFile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []plotFile
	for _, series := range []struct{ name, op string }{{"get", "GET"}, {"set", "SET"}} {
		var members []scenario
		for _, s := range cfg.scenarios {
			if s.series == series.name {
				members = append(members, s)
			}
		}
		if len(members) < 2 {
			continue
		}
		charts := []struct {
			suffix, title, yLabel string
			value                 func(cell) float64
			logY                  bool
		}{
			{"throughput", series.op + " throughput (16-byte values)", "thousand operations per second", func(c cell) float64 { return c.opsPerSec / 1e3 }, false},
			{"p99", series.op + " p99 latency (16-byte values)", "p99 latency per call, ms (log scale)", func(c cell) float64 { return c.p99.Seconds() * 1e3 }, true},
		}
		for _, ch := range charts {
			path := filepath.Join(dir, series.name+"-"+ch.suffix+".png")
			if err := drawChart(cfg, res, members, ch.title, ch.yLabel, ch.value, ch.logY, path); err != nil {
				return nil, fmt.Errorf("compare: plot %s: %w", path, err)
			}
			files = append(files, plotFile{title: ch.title, path: path})
		}
	}
	return files, nil
}

func drawChart(cfg *config, res results, members []scenario, title, yLabel string, value func(cell) float64, logY bool, path string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "goroutines (log scale)"
	p.Y.Label.Text = yLabel
	p.X.Scale = plot.LogScale{}
	var ticks []plot.Tick
	for _, s := range members {
		ticks = append(ticks, plot.Tick{Value: float64(s.goroutines), Label: strconv.Itoa(s.goroutines)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Y.Min = 0
		p.Y.Tick.Marker = plot.TickerFunc(linearTicks)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())

	names := make([]string, 0, len(cfg.clients)+1)
	for _, c := range cfg.clients {
		names = append(names, c.name)
	}
	names = append(names, referenceName)
	for i, name := range names {
		var xys plotter.XYs
		for _, s := range members {
			c := res.cell(s.name, name)
			if !c.ok {
				continue
			}
			v := value(c)
			if v <= 0 && logY {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(s.goroutines), Y: v})
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		col := plotutil.Color(i)
		line.Color, points.Color = col, col
		line.Width = vg.Points(1.5)
		points.Shape = plotutil.Shape(i)
		if name == referenceName {
			gray := color.Gray{Y: 90}
			line.Color, points.Color = gray, gray
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			points.Shape = draw.CrossGlyph{}
		}
		p.Add(line, points)
		p.Legend.Add(clientTitle(name), line, points)
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// linearTicks labels about six round values between min and max.
func linearTicks(min, max float64) []plot.Tick {
	if max <= min {
		return []plot.Tick{{Value: min, Label: strconv.FormatFloat(min, 'g', 4, 64)}}
	}
	step := math.Pow(10, math.Floor(math.Log10((max-min)/6)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (max-min)/(step*m) <= 7 {
			step *= m
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max+step/1e6; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}
