package main

import "fmt"

// cacheTargets judges the client-side caching targets of issue 20:
// respool's cached GET at least 1.5x rueidis DoCache at 256 goroutines
// (90% and 99% hits, and every call a hit), no allocation per hit, and a
// miss path within 10% of respool's uncached GET of the same keys.
func cacheTargets(cfg *config, res results) []targetResult {
	find := func(name string) (scenario, bool) {
		s, ok := cfg.scenario(name)
		if !ok {
			s.title = name
		}
		return s, ok
	}
	var out []targetResult
	for _, name := range []string{"cache-get256-h90", "cache-get256-h99", "cache-hit256"} {
		s, ok := find(name)
		t := targetResult{target: s.title + ": respool Cached at least 1.5x rueidis DoCache"}
		ours, theirs := res.cell(name, "respool-cache"), res.cell(name, "rueidis-cache")
		out = append(out, rateTarget(t, ok, ours, theirs, 1.5, func(ratio float64) string {
			return fmt.Sprintf("%s: respool's cached view did %s, %.2f times rueidis DoCache (%s); the target is 1.5 times.",
				s.title, formatRate(ours.opsPerSec), ratio, formatRate(theirs.opsPerSec))
		}))
	}
	{
		s, ok := find("cache-hit256")
		t := targetResult{target: s.title + ": respool Cached allocates nothing per hit"}
		c := res.cell(s.name, "respool-cache")
		if !ok || !c.ok {
			out = append(out, notMeasured(t))
		} else {
			t.measured = fmt.Sprintf("%.3f allocations, %.1f B per hit", c.allocs, c.bytesPerOp)
			t.state = verdict(c.allocs < 0.005)
			t.sentence = fmt.Sprintf("Every call a hit at 256 goroutines: respool's cached view made %.3f allocations (%.1f bytes) per GET; the target is none.", c.allocs, c.bytesPerOp)
			out = append(out, t)
		}
	}
	for _, name := range []string{"cache-miss1", "cache-miss16"} {
		s, ok := find(name)
		t := targetResult{target: s.title + ": respool Cached at least 0.9x respool's uncached GET"}
		cached, plain := res.cell(name, "respool-cache"), res.cell(name, "respool")
		out = append(out, rateTarget(t, ok, cached, plain, 0.9, func(ratio float64) string {
			return fmt.Sprintf("%s: every cached GET a miss (a GET and a PTTL, and a new key in the server's tracking table), respool's cached view did %s, %.2f times its uncached GET (%s); the target is 0.9 times.",
				s.title, formatRate(cached.opsPerSec), ratio, formatRate(plain.opsPerSec))
		}))
	}
	return out
}
