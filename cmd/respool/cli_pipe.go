package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// This file is --pipe, redis-cli's mass insertion: commands from standard
// input, in the protocol (RESP arrays of bulk strings) or inline (one
// command a line, quoted as in the interactive mode), sent pipelined on
// one connection, with redis-cli's summary at the end.
//
// redis-cli copies standard input to the socket untouched and counts
// replies until an ECHO of 20 random bytes comes back. respool reads the
// commands instead and writes them with Conn.Send, so it knows how many
// replies to wait for: the output is the same ("All data transferred.
// Waiting for the last reply...", "Last reply received from server.",
// "errors: N, replies: N", each error reply on the error stream), but a
// malformed input is refused with the position of the fault rather than
// passed on to the server.

// pipeWindow is how many commands are written ahead of the replies read:
// replies are read once this many are outstanding, so the server always
// has a batch to work on while the previous batch's replies come back.
const pipeWindow = 4096

// runPipe is --pipe. It returns the exit status: 1 after any error reply,
// a malformed input or a connection failure.
//
// The connection's calls get a context that is never cancelled (a
// cancellable one costs a registration per call); an interruption closes
// the connection instead, which fails the call blocked on it. The same
// goes for --pipe-timeout once the input is sent.
func runPipe(ctx context.Context, s *session, stdin io.Reader) int {
	if err := s.connect(ctx, false); err != nil {
		return 1
	}
	conn := s.conn
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	opCtx := context.WithoutCancel(ctx)

	in := &pipeInput{r: bufio.NewReaderSize(stdin, 64<<10)}
	var errorsN, replies int64
	pending := 0
	receive := func() error {
		v, err := conn.Receive(opCtx)
		if err != nil && !v.IsError() { // an error reply comes with an *Error
			return err
		}
		pending--
		replies++
		if v.IsError() {
			fmt.Fprintln(s.errOut, v.Text())
			errorsN++
		}
		return nil
	}
	fail := func(err error) int {
		if ctx.Err() == nil {
			s.printIOError(err)
		}
		return 1
	}
	for {
		args, err := in.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(s.errOut, "respool: --pipe: %v\n", err)
			return 1
		}
		if len(args) == 0 {
			continue
		}
		if err := conn.Send(opCtx, args...); err != nil {
			return fail(err)
		}
		pending++
		if pending >= 2*pipeWindow {
			if err := conn.Flush(opCtx); err != nil {
				return fail(err)
			}
			for pending > pipeWindow {
				if err := receive(); err != nil {
					return fail(err)
				}
			}
		}
	}
	if err := conn.Flush(opCtx); err != nil {
		return fail(err)
	}
	io.WriteString(s.out, "All data transferred. Waiting for the last reply...\n")
	var timedOut atomic.Bool
	if s.cfg.pipeTimeout > 0 {
		timer := time.AfterFunc(s.cfg.pipeTimeout, func() {
			timedOut.Store(true)
			conn.Close()
		})
		defer timer.Stop()
		for pending > 0 {
			err := receive()
			if timedOut.Load() {
				fmt.Fprintf(s.errOut, "No replies for %d seconds: exiting.\n", int(s.cfg.pipeTimeout/time.Second))
				errorsN++
				break
			}
			if err != nil {
				return fail(err)
			}
			timer.Reset(s.cfg.pipeTimeout)
		}
	}
	for pending > 0 && !timedOut.Load() {
		if err := receive(); err != nil {
			return fail(err)
		}
	}
	if pending == 0 {
		io.WriteString(s.out, "Last reply received from server.\n")
	}
	fmt.Fprintf(s.out, "errors: %d, replies: %d\n", errorsN, replies)
	if errorsN > 0 {
		return 1
	}
	return 0
}

// pipeArg is one argument of --pipe's input, encoded without a copy into
// an interface value (a pointer is boxed without allocating).
type pipeArg struct{ b []byte }

func (a *pipeArg) AppendArg(dst []byte) []byte { return append(dst, a.b...) }

// pipeInput reads commands from --pipe's input. The arguments next
// returns share one buffer, valid until the following call.
type pipeInput struct {
	r      *bufio.Reader
	offset int64 // bytes consumed, for error messages
	buf    []byte
	store  []pipeArg // what args point to
	args   []any
}

// maxPipeBulk is the longest argument accepted, the server's default
// proto-max-bulk-len: a length header beyond it is refused before any
// allocation.
const maxPipeBulk = 512 << 20

// next returns the next command: a RESP array of bulk strings, or an
// inline line split as the server splits it (an empty line gives no
// arguments). It returns io.EOF at the end of the input.
func (p *pipeInput) next() ([]any, error) {
	line, err := p.line()
	if err != nil {
		return nil, err
	}
	p.buf, p.args = p.buf[:0], p.args[:0]
	if len(line) == 0 || line[0] != '*' {
		words, ok := splitArgs(string(line))
		if !ok {
			return nil, fmt.Errorf("unbalanced quotes in the inline command before byte %d", p.offset)
		}
		for _, w := range words {
			p.args = append(p.args, w)
		}
		return p.args, nil
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n > 1<<20 {
		return nil, fmt.Errorf("bad array header %q before byte %d", line, p.offset)
	}
	if cap(p.store) < n {
		p.store = make([]pipeArg, n)
	}
	for i := range n {
		h, err := p.line()
		if err != nil {
			return nil, p.truncated(err)
		}
		size, err := strconv.Atoi(string(h[min(1, len(h)):]))
		if len(h) == 0 || h[0] != '$' || err != nil || size < 0 || size > maxPipeBulk {
			return nil, fmt.Errorf("bad bulk string header %q before byte %d (expected $LENGTH)", h, p.offset)
		}
		// A payload grows the buffer as its bytes arrive, never by its
		// header's claim alone. A growth leaves earlier arguments in the
		// old array, unchanged.
		start := len(p.buf)
		for len(p.buf)-start < size {
			chunk := min(size-(len(p.buf)-start), 64<<10)
			p.buf = slices.Grow(p.buf, chunk)[:len(p.buf)+chunk]
			if _, err := io.ReadFull(p.r, p.buf[len(p.buf)-chunk:]); err != nil {
				return nil, p.truncated(err)
			}
		}
		p.offset += int64(size)
		if crlf, err := p.r.Peek(2); err != nil || !bytes.Equal(crlf, []byte("\r\n")) {
			return nil, fmt.Errorf("bulk string of %d bytes not followed by CRLF at byte %d", size, p.offset)
		}
		p.r.Discard(2)
		p.offset += 2
		p.store[i].b = p.buf[start:len(p.buf):len(p.buf)]
		p.args = append(p.args, &p.store[i])
	}
	return p.args, nil
}

// line reads one line without its "\n" or "\r\n"; io.EOF at the end.
func (p *pipeInput) line() ([]byte, error) {
	line, err := p.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("line longer than %d bytes at byte %d", p.r.Size(), p.offset)
	}
	p.offset += int64(len(line))
	if err == io.EOF && len(line) > 0 {
		err = nil // a last line without its newline
	}
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

func (p *pipeInput) truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("the input ends inside a command at byte %d", p.offset)
	}
	return err
}
