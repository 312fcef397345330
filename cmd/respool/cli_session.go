package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/resp"
)

// session is redis-cli's connection state, shared by the one-shot mode and
// the interactive mode: one connection (a *respool.Conn from Dial, or one
// borrowed from a FailoverClient), the address it goes to (which -c
// redirections and CONNECT change), the selected database and whether a
// MULTI is open, for the prompt. It mirrors cliConnect, issueCommandRepeat,
// cliSendCommand and cliReadReply of redis-cli 7.0. It is used by one
// goroutine.
type session struct {
	cfg    *cliConfig
	out    io.Writer
	errOut io.Writer
	// interactive is redis-cli's config.interactive: the REPL is running.
	// Redirections are announced, and an I/O error is not fatal.
	interactive bool

	conn    *respool.Conn
	release func() // closes conn, and the FailoverClient it came from

	host string // where the next connection goes
	port int
	// redirected: a -c redirection moved the session off the -s socket.
	redirected bool

	db      int // the database selected on conn: the prompt's [db]
	inputDB int // the database asked for: -n, SELECT, CONNECT keeps it
	inMulti bool
	preDB   int // db before MULTI, restored by DISCARD or a failed EXEC

	reissue bool // a MOVED/ASK asked for the command to be sent again
	asking  bool // ... after ASKING

	sawErrorReply bool // for the exit status of the one-shot mode

	help helpTable // HELP's entries, loaded when first needed
}

// errReplyExit stops a mode with exit status 1 after a failure that was
// already reported: an error reply under -e (redis-cli exits at once), a
// reply that cannot be printed, a SCAN refused, an unsupported command.
var errReplyExit = errors.New("respool: error reply")

func newSession(cfg *cliConfig, out, errOut io.Writer) *session {
	return &session{cfg: cfg, out: out, errOut: errOut, host: cfg.host, port: cfg.port, inputDB: cfg.db}
}

// addr is where the session connects: host:port, or the -s socket path.
func (s *session) addr() string {
	if s.useSocket() {
		return s.cfg.socket
	}
	return net.JoinHostPort(s.host, strconv.Itoa(s.port))
}

func (s *session) useSocket() bool { return s.cfg.socket != "" && !s.redirected }

// prompt is cliRefreshPrompt's: "host:port[db](TX)> ", "redis PATH> " for
// a socket, and "not connected> " without a connection.
func (s *session) prompt() string {
	if s.conn == nil {
		return "not connected> "
	}
	var b strings.Builder
	if s.useSocket() {
		b.WriteString("redis " + s.cfg.socket)
	} else {
		b.WriteString(net.JoinHostPort(s.host, strconv.Itoa(s.port)))
	}
	if s.db != 0 {
		fmt.Fprintf(&b, "[%d]", s.db)
	}
	if s.inMulti {
		b.WriteString("(TX)")
	}
	b.WriteString("> ")
	return b.String()
}

// close drops the connection.
func (s *session) close() {
	if s.conn != nil {
		s.release()
		s.conn, s.release = nil, nil
	}
}

// connect opens a new connection, replacing any open one (cliConnect with
// CC_FORCE). Like redis-cli, a refused password, database or HELLO 3 does
// not fail it: redis-cli reports "AUTH failed: ...", "SELECT n failed:
// ..." or "HELLO 3 failed: ..." and goes on with the connection as it is
// (unauthenticated, on database 0, in RESP2). A failure to connect is
// printed unless quiet.
func (s *session) connect(ctx context.Context, quiet bool) error {
	if s.conn != nil {
		s.close()
		s.db, s.inMulti = 0, false
	}
	opt := s.cfg.options()
	opt.Addr = s.addr()
	if s.useSocket() {
		opt.Network = "unix"
	}
	opt.DB = s.inputDB
	if opt.TLSConfig != nil && s.cfg.tls.sni == "" && !s.useSocket() {
		// The certificate is checked against the host connected to, which
		// a redirection or CONNECT may have changed.
		opt.TLSConfig = opt.TLSConfig.Clone()
		opt.TLSConfig.ServerName = s.host
	}
	if s.cfg.resp3Soft && opt.Protocol == 2 {
		opt.Protocol = 3
	}
	fo := s.cfg.failoverOptions()
	if s.redirected {
		fo = nil
	}
	// Each fallback clears what failed, so this ends within four attempts.
	for {
		cn, release, err := dialSession(ctx, opt, fo)
		if err == nil {
			s.conn, s.release = cn, release
			s.db = opt.DB
			return nil
		}
		var (
			authErr   *respool.AuthError
			connErr   *respool.ConnError
			serverErr *respool.Error
		)
		handshakeRefused := errors.As(err, &connErr) && connErr.Op == "handshake" && errors.As(err, &serverErr)
		hasCredentials := opt.Password != "" || opt.Username != ""
		switch {
		case errors.As(err, &authErr) && hasCredentials:
			// redis-cli then skips SELECT and HELLO 3 too.
			fmt.Fprintf(s.errOut, "AUTH failed: %s\n", authErr.Err.Error())
			opt.Username, opt.Password, opt.DB, opt.Protocol = "", "", 0, 2
		case handshakeRefused && hasCredentials && strings.Contains(serverErr.Error(), "AUTH"):
			// "ERR AUTH <password> called without any password
			// configured...": the library reports only WRONGPASS and
			// NOAUTH as an *AuthError.
			fmt.Fprintf(s.errOut, "AUTH failed: %s\n", serverErr.Error())
			opt.Username, opt.Password, opt.DB, opt.Protocol = "", "", 0, 2
		case errors.As(err, &authErr) && opt.Protocol == 3:
			// HELLO 3 refused to an unauthenticated connection.
			fmt.Fprintf(s.errOut, "HELLO 3 failed: %s\n", authErr.Err.Error())
			opt.Protocol = 2
		case handshakeRefused && opt.DB != 0:
			fmt.Fprintf(s.errOut, "SELECT %d failed: %s\n", opt.DB, serverErr.Error())
			opt.DB = 0
		default:
			if !quiet {
				addr := opt.Addr
				if fo != nil && errors.As(err, &connErr) {
					addr = connErr.Addr // the primary the sentinels named
				}
				fmt.Fprintln(s.errOut, failureMessage(addr, err))
			}
			return err
		}
	}
}

// dialSession opens one connection: with Dial, or, when fo names
// sentinels, one borrowed from a FailoverClient (which finds the primary).
// The returned function closes it.
func dialSession(ctx context.Context, opt *respool.Options, fo *respool.FailoverOptions) (*respool.Conn, func(), error) {
	if fo == nil {
		cn, err := respool.Dial(ctx, opt)
		if err != nil {
			return nil, nil, err
		}
		return cn, func() { cn.Close() }, nil
	}
	f := *fo
	f.Options = *opt
	fc := respool.NewFailoverClient(&f)
	cn, err := fc.Conn(ctx)
	if err != nil {
		fc.Close()
		return nil, nil, err
	}
	return cn, func() {
		fc.Pool().Put(cn)
		fc.Close()
	}, nil
}

// issue runs one command line repeat times (issueCommandRepeat): HELP is
// answered locally; a missing or broken connection is opened again first;
// a -c redirection sends the command again to the node named. It returns
// an error when the command could not be run (already reported on the
// error stream), or errReplyExit.
func (s *session) issue(ctx context.Context, argv []string, repeat int64) error {
	if strings.EqualFold(argv[0], "help") || argv[0] == "?" {
		s.printHelp(ctx, argv[1:])
		return nil
	}
	for {
		if s.reissue || s.conn == nil || s.conn.Err() != nil {
			if err := s.connect(ctx, false); err != nil {
				s.reissue = false
				return err
			}
		}
		s.reissue = false
		if s.asking {
			s.asking = false
			v, err := s.conn.Do(ctx, "ASKING")
			if err != nil && !v.IsError() {
				s.printIOError(err)
				return err
			}
			if v.IsError() {
				fmt.Fprintf(s.errOut, "ASKING failed: %s\n", v.Text())
				return err
			}
		}
		if err := s.send(ctx, argv, repeat); err != nil {
			if !errors.Is(err, errReplyExit) {
				if ctx.Err() == nil { // an interruption is no error to report
					s.printIOError(err)
				}
				s.close()
			}
			return err
		}
		if s.cfg.cluster && s.reissue {
			continue
		}
		return nil
	}
}

// printIOError is cliPrintContextError: "Error: REASON".
func (s *session) printIOError(err error) {
	if s.conn == nil {
		return
	}
	fmt.Fprintln(s.errOut, failureMessage(s.addr(), err))
}

// send is cliSendCommand: it sends argv repeat times (forever when
// negative), printing each reply, following the session effects of
// SELECT, MULTI, EXEC, DISCARD and RESET, and streaming the replies of
// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and MONITOR until interrupted.
func (s *session) send(ctx context.Context, argv []string, repeat int64) error {
	name := strings.ToLower(argv[0])
	rawStrings := rawStringsCommand(argv)
	args := make([]any, len(argv))
	for i, a := range argv {
		args[i] = a
	}
	for repeat < 0 || repeat > 0 {
		if repeat > 0 {
			repeat--
		}
		switch name {
		case "monitor", "subscribe", "psubscribe", "ssubscribe":
			return s.stream(ctx, name, args, rawStrings)
		case "sync", "psync":
			fmt.Fprintln(s.errOut, "respool: "+strings.ToUpper(name)+" (replica output mode) is not supported")
			return errReplyExit
		}
		v, err := s.do(ctx, args)
		var serverErr *respool.Error
		if err != nil && !errors.As(err, &serverErr) {
			if name == "shutdown" {
				// The server went away as asked: no error, no connection.
				s.close()
				return nil
			}
			return err
		}
		if err := s.printReply(v, rawStrings); err != nil {
			return err
		}
		s.track(name, argv, v)
		if s.reissue {
			break
		}
		if s.cfg.interval > 0 && (repeat != 0) {
			if err := sleepCtx(ctx, s.cfg.interval); err != nil {
				return err
			}
		}
	}
	return nil
}

// do sends one command and returns its reply. With pushOutput (standard
// output is a terminal, as redis-cli decides) the RESP3 push messages that
// come before the reply, such as client-side caching invalidations, are
// printed as redis-cli prints them ("-> invalidate: 'key'"); Conn.Do
// would pass over them.
func (s *session) do(ctx context.Context, args []any) (resp.Value, error) {
	if !s.cfg.pushOutput {
		return s.conn.Do(ctx, args...)
	}
	if err := s.conn.Send(ctx, args...); err != nil {
		return resp.Value{}, err
	}
	for {
		v, err := s.conn.Receive(ctx)
		if err != nil || v.Kind() != resp.KindPush {
			return v, err
		}
		if err := s.printPush(v); err != nil {
			return resp.Value{}, err
		}
	}
}

// printPush is cliPushHandler: an invalidation as "-> invalidate: 'k1',
// 'k2'" in the standard output mode, any other push as a reply.
func (s *session) printPush(v resp.Value) error {
	elems, _ := v.Elems()
	if s.cfg.mode == outputTTY && len(elems) == 2 && elems[0].Text() == "invalidate" && elems[1].Kind() == resp.KindArray {
		keys, _ := elems[1].Elems()
		b := []byte("-> invalidate: ")
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(append(append(b, '\''), cString(k.Text())...), '\'')
		}
		_, err := s.out.Write(append(b, '\n'))
		return err
	}
	out, err := formatReply(v, s.cfg.mode, false, s.cfg.delims)
	if err != nil {
		return nil // redis-cli's handler cannot print it either; skip it
	}
	_, err = s.out.Write(out)
	return err
}

// track follows the commands that change what the prompt shows.
func (s *session) track(name string, argv []string, v resp.Value) {
	failed := v.IsError()
	switch {
	case name == "select" && len(argv) == 2 && !failed:
		s.db, s.inputDB = atoi(argv[1]), atoi(argv[1])
	case name == "multi" && len(argv) == 1 && !failed:
		s.inMulti = true
		s.preDB = s.db
	case name == "exec" && len(argv) == 1 && s.inMulti:
		s.inMulti = false
		if failed || v.IsNull() {
			s.db, s.inputDB = s.preDB, s.preDB
		}
	case name == "discard" && len(argv) == 1 && !failed:
		s.inMulti = false
		s.db, s.inputDB = s.preDB, s.preDB
	case name == "reset" && len(argv) == 1 && !failed:
		s.inMulti = false
		s.db, s.inputDB = 0, 0
	}
}

// printReply is cliReadReply's second half: a MOVED or ASK under -c
// becomes a redirection (announced in the interactive mode); -e prints an
// error reply on the error stream and stops the one-shot mode; any other
// reply is printed in the output mode.
func (s *session) printReply(v resp.Value, rawStrings bool) error {
	if v.IsError() {
		text := v.Text()
		if s.cfg.cluster && (strings.HasPrefix(text, "MOVED ") || strings.HasPrefix(text, "ASK ")) {
			s.redirect(text)
			return nil
		}
		s.sawErrorReply = true
		if !s.interactive && s.cfg.errorStatus {
			fmt.Fprintln(s.errOut, cString(text))
			return errReplyExit
		}
	}
	out, err := formatReply(v, s.cfg.mode, rawStrings, s.cfg.delims)
	if err != nil {
		fmt.Fprintln(s.errOut, err)
		return errReplyExit
	}
	_, err = s.out.Write(out)
	return err
}

// redirect takes "MOVED 3999 127.0.0.1:6381" or "ASK ...": the next
// connection goes there.
func (s *session) redirect(text string) {
	kind, rest, _ := strings.Cut(text, " ")
	slot, addr, _ := strings.Cut(rest, " ")
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return
	}
	s.host, s.port = addr[:i], atoi(addr[i+1:])
	s.redirected = true
	if s.interactive {
		fmt.Fprintf(s.out, "-> Redirected to slot [%d] located at %s:%d\n", atoi(slot), s.host, s.port)
	}
	s.reissue = true
	s.asking = kind == "ASK"
}

// stream sends a command after which the server keeps talking (pub/sub,
// MONITOR) and prints every reply until an error reply, a broken
// connection or the end of ctx (an interruption). Interrupted in the
// interactive mode, the session reconnects, as redis-cli does; otherwise
// the error is returned.
func (s *session) stream(ctx context.Context, name string, args []any, rawStrings bool) error {
	if err := s.conn.Send(ctx, args...); err != nil {
		return err
	}
	if err := s.conn.Flush(ctx); err != nil {
		return err
	}
	if name != "monitor" && s.cfg.mode != outputRaw {
		io.WriteString(s.out, "Reading messages... (press Ctrl-C to quit)\n")
	}
	for {
		v, err := s.conn.Receive(ctx)
		var serverErr *respool.Error
		if err != nil && !errors.As(err, &serverErr) {
			if s.interactive && ctx.Err() != nil {
				// Interrupted: a new connection, and back to the prompt.
				return s.connect(context.WithoutCancel(ctx), false)
			}
			return err
		}
		if err := s.printReply(v, rawStrings); err != nil {
			return err
		}
		if v.IsError() {
			return nil
		}
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
