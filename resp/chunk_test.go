package resp

import "io"

// chunkedReader returns at most the next size of its sizes from each Read,
// cycling through them; it splits a stream at chosen places.
type chunkedReader struct {
	src   io.Reader
	sizes []int
	i     int
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	n := c.sizes[c.i%len(c.sizes)]
	c.i++
	if len(p) > n {
		p = p[:n]
	}
	return c.src.Read(p)
}

// chunkReader splits src into reads of 1..max bytes.
func chunkReader(src io.Reader, max int) io.Reader {
	sizes := make([]int, max)
	for i := range sizes {
		sizes[i] = i + 1
	}
	return &chunkedReader{src: src, sizes: sizes}
}

// seededChunkReader splits src into reads whose sizes (1 to 64 bytes) come
// from a simple generator seeded by seed, so a fuzz input picks its split.
func seededChunkReader(src io.Reader, seed uint64) io.Reader {
	sizes := make([]int, 64)
	x := seed | 1
	for i := range sizes {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		sizes[i] = int(x%64) + 1
	}
	return &chunkedReader{src: src, sizes: sizes}
}
