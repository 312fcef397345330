package respooltest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// This file holds the smallest RESP2 exchange the kit needs to poll servers
// without starting a redis-cli process per probe. It is deliberately not a
// client: one connection per command, RESP2 only, no pipelining beyond AUTH.

// replyError is an error reply from the server, such as "LOADING ...".
type replyError string

func (e replyError) Error() string { return "respooltest: server replied: " + string(e) }

// rawCommand dials addr, authenticates with password when it is not empty,
// sends one command and returns its reply: a string (simple or bulk), an
// int64, a []any, nil, or an error (replyError for an error reply). The whole
// exchange must finish within timeout.
func rawCommand(addr, password string, timeout time.Duration, args ...string) (any, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}

	var b strings.Builder
	if password != "" {
		appendCommand(&b, "AUTH", password)
	}
	appendCommand(&b, args...)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}

	r := bufio.NewReader(conn)
	if password != "" {
		if _, err := readReply(r); err != nil {
			return nil, err
		}
	}
	return readReply(r)
}

func appendCommand(b *strings.Builder, args ...string) {
	fmt.Fprintf(b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(b, "$%d\r\n%s\r\n", len(a), a)
	}
}

// readReply reads one RESP2 reply. An error reply is returned as a
// replyError in the error position, after the rest of it has been read.
func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return nil, errors.New("respooltest: empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, replyError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("respooltest: bad bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("respooltest: bad array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		elems := make([]any, n)
		var firstErr error
		for i := range elems {
			v, err := readReply(r)
			if err != nil {
				var re replyError
				if !errors.As(err, &re) {
					return nil, err
				}
				if firstErr == nil {
					firstErr = err
				}
			}
			elems[i] = v
		}
		return elems, firstErr
	default:
		return nil, fmt.Errorf("respooltest: unexpected reply %q", line)
	}
}
