package synth

import (
	"io"
	"sync"
)

// chunkBuf is an append-only buffer made of fixed-size chunks recycled through a pool.
// A school's output is megabytes; growing one bytes.Buffer would copy and clear it over
// and over, which profiling showed to be half of the generation time.
type chunkBuf struct {
	chunks [][]byte
}

const chunkSize = 256 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize); return &b }}

func (c *chunkBuf) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.chunks) == 0 || len(c.chunks[len(c.chunks)-1]) == chunkSize {
			c.chunks = append(c.chunks, (*chunkPool.Get().(*[]byte))[:0])
		}
		last := &c.chunks[len(c.chunks)-1]
		k := copy((*last)[len(*last):chunkSize], p)
		*last = (*last)[:len(*last)+k]
		p = p[k:]
	}
	return n, nil
}

func (c *chunkBuf) WriteByte(b byte) error {
	_, err := c.Write([]byte{b})
	return err
}

// WriteTo writes the content to w and gives the chunks back to the pool.
func (c *chunkBuf) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for i, ch := range c.chunks {
		k, err := w.Write(ch)
		n += int64(k)
		chunkPool.Put(&ch)
		c.chunks[i] = nil
		if err != nil {
			c.release()
			return n, err
		}
	}
	c.chunks = c.chunks[:0]
	return n, nil
}

func (c *chunkBuf) release() {
	for _, ch := range c.chunks {
		if ch != nil {
			chunkPool.Put(&ch)
		}
	}
	c.chunks = nil
}
