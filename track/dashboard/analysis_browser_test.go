package dashboard_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sigoco/sigoco/track"
	"github.com/sigoco/sigoco/track/server"
	"github.com/sigoco/sigoco/track/store"
)

// analysisRun logs a finished run for the analysis views: params lr and
// opt, a loss curve of 100 points, a one-point series, and (with images)
// three stepped images and system metrics.
func analysisRun(t *testing.T, s *stack, name string, lr float64, opt string, images bool) string {
	t.Helper()
	ctx := ctxT(t, 60*time.Second)
	opts := track.Options{Project: "analysis", Name: name, Addr: s.addr, SpoolDir: t.TempDir(), NoSource: true, NoSysMetrics: !images, SysMetricsInterval: 20 * time.Millisecond}
	if images { // two GPUs, through a fake nvidia-smi
		opts.GPUCommand = filepath.Join(t.TempDir(), "nvidia-smi")
		if err := os.WriteFile(opts.GPUCommand, []byte("#!/bin/sh\necho '0, 37, 1024, 16384, 45, 71.25'\necho '1, 80, 4096, 16384, 60, [N/A]'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run, err := track.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	run.LogParam("lr", lr)
	run.LogParam("opt", opt)
	for i := range 100 {
		noise := 0.05 * math.Sin(float64(i)*1.7)
		run.LogResult("loss", math.Exp(-float64(i)*lr)+noise+lr, int64(i))
	}
	run.LogResult("final", 1/lr, 99)
	if images {
		for step, w := range []int{8, 12, 16} {
			img := image.NewRGBA(image.Rect(0, 0, w, 8))
			for x := range w {
				img.Set(x, x%8, color.RGBA{R: uint8(40 * step), G: 120, B: 200, A: 255})
			}
			run.LogImage("field", img, int64(step*50))
		}
		// Wait (on the stored run, with ctx's deadline) for a few samples.
		storedRun(t, s, run.ID(), func(r *store.Run) bool {
			run.Flush(ctx)
			for _, si := range r.Series {
				if si.Key == "sys.go.goroutines" && si.Len >= 3 {
					return true
				}
			}
			return false
		}, "system metrics sampled")
	}
	if err := run.End(ctx, track.StatusFinished); err != nil {
		t.Fatal(err)
	}
	return run.ID()
}

// docShot writes an element's screenshot into $SIGOCO_DOC_SCREENSHOTS
// (docs/img when making the documentation's pictures), if set.
func (p *page) docShot(name, sel string) {
	p.t.Helper()
	dir := os.Getenv("SIGOCO_DOC_SCREENSHOTS")
	if dir == "" {
		return
	}
	var buf []byte
	p.run("screenshot "+name, 20*time.Second, chromedp.ScrollIntoView(sel, chromedp.ByQuery), chromedp.Screenshot(sel, &buf, chromedp.ByQuery))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// TestBrowserAnalysis: a run's charts switch x-axis and smoothing (kept in
// the URL), draw a one-point series, download a series as CSV, show the
// system metrics apart and step through images; the compare view plots a
// param against a metric and parallel coordinates.
func TestBrowserAnalysis(t *testing.T) {
	ctx := browser(t)
	s := startStack(t, "", "", "", server.Options{})
	a := analysisRun(t, s, "lr-0.1", 0.1, "adam", true)
	b := analysisRun(t, s, "lr-0.03", 0.03, "sgd", false)
	c := analysisRun(t, s, "lr-0.01", 0.01, "adam", false)
	p := &page{t: t, ctx: ctx, base: "http://" + s.dashAddr, dir: screenshotDir(t)}
	chart := func(key string) string { return fmt.Sprintf(`document.querySelector('.chart[data-keys=%s]')`, q(key)) }
	box := func(key string) string { return chart(key) + `.closest(".chart-box")` }

	t.Run("charts", func(t *testing.T) {
		p.t = t
		p.open("#/run/" + a)
		p.wait("loss charted", chart("loss")+`?.dataset.points == 100`, 20*time.Second)
		// x-axis: relative time, then smoothing; both land in the URL.
		p.eval(box("loss")+`.querySelector("select.x-axis").value = "rel", `+box("loss")+`.querySelector("select.x-axis").dispatchEvent(new Event("change")), 1`, nil)
		p.wait("x-axis is relative time", chart("loss")+`.dataset.x === "rel" && location.hash.includes("x%3Drel") && `+chart("loss")+`.querySelector(".u-legend").textContent.includes("seconds since start")`, 10*time.Second)
		p.eval(`(() => { const e = `+box("loss")+`.querySelector("input.ema"); e.value = "0.6"; e.dispatchEvent(new Event("change")); return 1 })()`, nil)
		p.wait("smoothed", chart("loss")+`.dataset.ema === "0.6" && location.hash.includes("ema%3D0.6") && `+chart("loss")+`.querySelector(".u-legend").textContent.includes("(ema 0.6)")`, 10*time.Second)
		var hash string
		p.eval(`location.hash`, &hash)
		p.open(hash)
		p.run("reload", 20*time.Second, chromedp.Reload())
		p.wait("both remembered after a reload", chart("loss")+`?.dataset.x === "rel" && `+chart("loss")+`.dataset.ema === "0.6" && `+chart("loss")+`.dataset.points == 100`, 20*time.Second)
		p.wait("a one-point series is drawn as a marker", chart("final")+`?.dataset.single === "true" && `+chart("final")+`.dataset.points == 1`, 10*time.Second)
		p.shot("analysis-run")
	})

	t.Run("download", func(t *testing.T) {
		p.t = t
		var csv string
		p.run("fetch the CSV link", 20*time.Second, chromedp.Evaluate(box("loss")+`.querySelector(".download a.csv").href`, &csv))
		var text string
		p.run("download", 20*time.Second, chromedp.Evaluate(`fetch(`+q(csv)+`).then(r => r.text())`, &text, func(ep *runtime.EvaluateParams) *runtime.EvaluateParams { return ep.WithAwaitPromise(true) }))
		lines := bytes.Split(bytes.TrimSpace([]byte(text)), []byte("\n"))
		if len(lines) != 101 || string(lines[0]) != "step,time,value" || !bytes.HasPrefix(lines[100], []byte("99,")) {
			t.Fatalf("CSV from %s: %d lines, %q … %q", csv, len(lines), lines[0], lines[len(lines)-1])
		}
	})

	t.Run("sysmetrics", func(t *testing.T) {
		p.t = t
		p.wait("a System metrics section with its charts", `!document.querySelector(".panel-system-metrics").hidden && document.querySelector('.panel-system-metrics .chart[data-keys="sys.go.goroutines"]')?.dataset.points >= 3`, 20*time.Second)
		p.wait("sys charts only there, on relative time", `!document.querySelector('.panel-charts .chart[data-keys^="sys."]') && document.querySelector('.panel-system-metrics .chart[data-keys="sys.go.goroutines"]').dataset.x === "rel"`, 5*time.Second)
		p.wait("one chart per GPU metric, every GPU on it, memory used with total", `document.querySelector('.panel-system-metrics .chart[data-keys="sys.gpu0.util_percent,sys.gpu1.util_percent"]')?.dataset.points >= 6 && document.querySelector('.panel-system-metrics .chart[data-keys="sys.gpu0.mem_total_bytes,sys.gpu0.mem_used_bytes,sys.gpu1.mem_total_bytes,sys.gpu1.mem_used_bytes"]') && !document.querySelector('.chart[data-keys="sys.gpu1.util_percent"]')`, 10*time.Second)
		p.docShot("dashboard-sysmetrics", ".panel-system-metrics")
	})

	t.Run("images", func(t *testing.T) {
		p.t = t
		im := `document.querySelector('.image-series[data-key="field"]')`
		p.wait("the last image shows", im+`?.dataset.step === "100" && `+im+`.querySelector("img").naturalWidth === 16`, 20*time.Second)
		p.eval(`(() => { const s = `+im+`.querySelector("input.image-step"); s.value = "0"; s.dispatchEvent(new Event("input")); return 1 })()`, nil)
		p.wait("the slider steps back to step 0", im+`.dataset.step === "0" && `+im+`.querySelector("img").complete && `+im+`.querySelector("img").naturalWidth === 8`, 10*time.Second)
	})

	t.Run("compare", func(t *testing.T) {
		p.t = t
		p.open(fmt.Sprintf("#/compare?runs=%s,%s,%s&sx=params.lr&sy=metrics.loss", a, b, c))
		p.wait("a scatter of lr against loss", `document.querySelector("svg.scatter-plot")?.dataset.points === "3" && document.querySelectorAll("svg.scatter-plot circle.pt").length === 3`, 20*time.Second)
		p.wait("parallel coordinates", `document.querySelector("svg.parcoords-plot")?.dataset.lines === "3"`, 10*time.Second)
		axes := p.num(`document.querySelector("svg.parcoords-plot").dataset.axes`)
		p.eval(`(() => { const b = document.querySelector('.dims input[value="metrics.final"]'); b.click(); return 1 })()`, nil)
		p.wait("a dimension taken off", `location.hash.includes("dims=") && document.querySelector("svg.parcoords-plot")?.dataset.axes == `+fmt.Sprint(axes-1), 10*time.Second)
		p.eval(`(() => { const s = document.querySelector('select[name="sx"]'); s.value = "params.opt"; s.dispatchEvent(new Event("change")); return 1 })()`, nil)
		p.wait("a category on x", `location.hash.includes("sx=params.opt") && [...document.querySelectorAll("svg.scatter-plot text.tick")].some(t => t.textContent === "sgd")`, 10*time.Second)
		p.eval(`(() => { const s = document.querySelector('select[name="sx"]'); s.value = "params.lr"; s.dispatchEvent(new Event("change")); return 1 })()`, nil)
		p.wait("back to lr", `location.hash.includes("sx=params.lr") && document.querySelector("svg.scatter-plot")?.dataset.points === "3"`, 10*time.Second)
		p.shot("analysis-compare")
		p.docShot("dashboard-compare-scatter", ".panel-scatter")
	})
}
