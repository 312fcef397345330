package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/respool/respool"
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
func runPipe(ctx context.Context, s *session, stdin io.Reader) int {
	if err := s.connect(ctx, false); err != nil {
		return 1
	}
	in := &pipeInput{r: bufio.NewReaderSize(stdin, 64<<10)}
	var errorsN, replies int64
	var pending int
	receive := func(ctx context.Context) error {
		v, err := s.conn.Receive(ctx)
		var serverErr *respool.Error
		if err != nil && !errors.As(err, &serverErr) {
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
		s.printIOError(err)
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
		if err := s.conn.Send(ctx, args...); err != nil {
			return fail(err)
		}
		pending++
		if pending >= 2*pipeWindow {
			if err := s.conn.Flush(ctx); err != nil {
				return fail(err)
			}
			for pending > pipeWindow {
				if err := receive(ctx); err != nil {
					return fail(err)
				}
			}
		}
	}
	if err := s.conn.Flush(ctx); err != nil {
		return fail(err)
	}
	io.WriteString(s.out, "All data transferred. Waiting for the last reply...\n")
	for pending > 0 {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if s.cfg.pipeTimeout > 0 {
			rctx, cancel = context.WithTimeout(ctx, s.cfg.pipeTimeout)
		}
		err := receive(rctx)
		timedOut := rctx.Err() != nil && ctx.Err() == nil
		cancel()
		if timedOut {
			fmt.Fprintf(s.errOut, "No replies for %d seconds: exiting.\n", int(s.cfg.pipeTimeout/time.Second))
			errorsN++
			break
		}
		if err != nil {
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

// pipeInput reads commands from --pipe's input. The arguments next
// returns share one buffer, valid until the following call.
type pipeInput struct {
	r      *bufio.Reader
	offset int64 // bytes consumed, for error messages
	buf    []byte
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
	// Lengths first, then the payloads in one buffer.
	var bounds [][2]int
	for range n {
		h, err := p.line()
		if err != nil {
			return nil, p.truncated(err)
		}
		size, err := strconv.Atoi(string(h[min(1, len(h)):]))
		if len(h) == 0 || h[0] != '$' || err != nil || size < 0 || size > maxPipeBulk {
			return nil, fmt.Errorf("bad bulk string header %q before byte %d (expected $LENGTH)", h, p.offset)
		}
		start := len(p.buf)
		for len(p.buf)-start < size {
			chunk := min(size-(len(p.buf)-start), 64<<10)
			p.buf = append(p.buf, make([]byte, chunk)...)
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
		bounds = append(bounds, [2]int{start, len(p.buf)})
	}
	for _, b := range bounds {
		p.args = append(p.args, p.buf[b[0]:b[1]])
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
