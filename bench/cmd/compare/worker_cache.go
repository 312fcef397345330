package main

import (
	"strconv"
	"time"
)

// cacheLoop is getLoop for the cache scenarios: the GET keyspace, and
// once in every coldEvery calls a key of the goroutine's own that was
// never read and does not exist (its GET returns nothing), which no cache
// holds. The cold key's name is built from a reused buffer, but turning
// it into a string allocates: the same for every client.
func (j *workerJob) cacheLoop(g int, sl *slot, h *recorder) {
	n := len(j.keys)
	k := g * n / j.s.goroutines
	buf := []byte("bench:cold:" + strconv.Itoa(g) + ":")
	prefix := len(buf)
	for i := 0; ; i++ {
		ph := j.phase.Load()
		if ph == phaseStop {
			return
		}
		key, want := "", ""
		if j.s.coldEvery > 0 && i%j.s.coldEvery == j.s.coldEvery-1 {
			buf = strconv.AppendInt(buf[:prefix], int64(i), 10)
			key = string(buf)
		} else {
			if k >= n {
				k = 0
			}
			key, want = j.keys[k], j.values[k]
			k++
		}
		start := time.Since(epoch)
		v, err := j.r.get(j.ctx, key)
		d := time.Since(epoch) - start
		if err != nil {
			sl.errors++
			j.fail.err(err)
			continue
		}
		if v != want {
			sl.wrong++
			j.fail.wrong(key, v, want)
		}
		sl.ops.Add(1)
		if ph == phaseMeasure {
			h.record(d)
		}
	}
}
