package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/respool/respool"
)

// cliUsage is printed by -help.
const cliUsage = `Usage: respool [OPTIONS] [CMD [ARG...]]
       respool demo [-u URL] [-duration D] [-workers N]   (see respool demo -help)
       respool stats -u URL [-workers N] [-command C]     (see respool stats -help)

A redis-cli 7.0 for the command line: with a command, runs it and prints the
reply; without one, the interactive mode (a prompt with hints, completion and
history on a terminal; one command a line otherwise). stdout is byte for byte
what redis-cli prints in the same mode.

Exit status: 0 for a reply; 1 for an error reply, a connection failure, a
reply redis-cli cannot print (RESP3 big numbers, attributes) or a bad
command line; 130 when interrupted. Unlike redis-cli, which exits 0 after
printing "(error) ..." unless given -e, respool always exits 1 after an
error reply, so scripts can test it; its output is unchanged.

Connection:
  -h <hostname>      Server hostname (default: 127.0.0.1).
  -p <port>          Server port (default: 6379).
  -s <socket>        Server socket (overrides hostname and port).
  -a <password>      Password (also --pass, or the REDISCLI_AUTH environment variable).
  --user <username>  ACL user name, used with -a.
  --askpass          Read the password from standard input (masked on a
                     terminal), so it is not on the command line.
  -u <uri>           Server URI: redis://[[user:]password@]host[:port][/db][?options]
                     (rediss:// for TLS). A URI with master_name=NAME names
                     sentinels instead (see --sentinel): its host is a sentinel,
                     its user and password the sentinels', and the username and
                     password query keys the data nodes' (go-redis's format).
  --sentinel <host:port>
                     Ask this Redis Sentinel (repeat for several) where the
                     primary of --master is, and connect there.
  --master <name>    The name the sentinels monitor the primary under.
  -n <db>            Database number.
  -2                 Use RESP2 (the default).
  -3                 Use RESP3.
  -c                 Cluster mode: follow MOVED and ASK redirections (the
                     interactive mode says "-> Redirected to slot [N] located
                     at host:port"); with --scan, scan every primary.
  --tls              Connect with TLS.
  --sni <host>       Server name for TLS (default: the hostname).
  --cacert <file>    CA certificates to verify the server with.
  --cert <file>      Client certificate, with --key.
  --key <file>       Private key of the client certificate.
  --insecure         Do not verify the server's certificate.

Commands and output:
  -r <repeat>        Run the command N times (-1: until interrupted).
  -i <interval>      Wait <interval> seconds (a decimal) between repeats; also
                     the interval of --stat, --latency and --scan.
  -x                 Read the last argument from standard input.
  -X <tag>           Read the argument equal to <tag> from standard input.
  --quoted-input     Read the command's arguments as quoted strings ("\n", "\x00"...).
  -e                 Print an error reply on stderr instead of stdout (the
                     exit status is 1 with or without it).
  -d <delimiter>     Delimiter between the elements of a raw reply (default: \n).
  -D <delimiter>     Delimiter after a raw reply (default: \n).
  --raw              Raw output (default when stdout is not a terminal).
  --no-raw           Formatted output even when stdout is not a terminal.
  --csv              CSV output.
  --json             JSON output (asks for RESP3 unless -2 or -3 is given).
  --quoted-json      JSON output with binary-safe strings quoted as redis-cli does.
  --no-auth-warning  Do not warn about a password on the command line.
  --show-pushes <yn> Print RESP3 push messages (client-side caching
                     invalidations...); the default when stdout is a terminal.

Modes:
  --scan             List the keys with SCAN (every primary with -c).
  --pattern <pat>    Keys matching the pattern only, with --scan.
  --quoted-pattern <pat>
                     The same, as a quoted string (for binary patterns).
  --count <n>        SCAN's COUNT hint, with --scan (not in redis-cli 7.0).
  --pipe             Send the commands of standard input (the protocol, or one
                     inline command a line), pipelined, and print redis-cli's
                     summary ("errors: N, replies: N").
  --pipe-timeout <n> With --pipe: give up after n seconds without a reply
                     once the input is sent (default 30; 0: wait forever).
  --latency          Sample the server's latency with PING.
  --latency-history  Like --latency, a line every 15 seconds (-i to change it).
  --stat             A line of server statistics every second (-i to change it).
  --help             Print this help.
  -v, --version      Print the version.

Streaming commands (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, MONITOR) print what
the server sends until Ctrl-C; in the interactive mode Ctrl-C returns to the
prompt. The interactive mode keeps its history in ~/.respoolcli_history (or
$REDISCLI_HISTFILE; /dev/null for none) and knows HELP <command>, HELP @group,
CONNECT <host> <port>, :set hints / :set nohints, clear, quit and exit.

Not supported, and why:
  --cluster <cmd>    Cluster administration (create, reshard, fix...) changes
                     a cluster's layout; use redis-cli --cluster for it.
  --bigkeys, --memkeys, --hotkeys, --latency-dist, --intrinsic-latency,
  --lru-test         Diagnostic modes that need no client library; use redis-cli.
  --rdb, --functions-rdb, --replica, SYNC, PSYNC
                     They speak the replication protocol (an RDB transfer),
                     which respool's connections do not read.
  --eval, --ldb, --ldb-sync-mode
                     The Lua debugger's own protocol; send EVAL or
                     SCRIPT LOAD as commands instead.
  --verbose, --mono  They belong to --cluster and --latency-dist.
  ~/.redisclirc      Preferences are not read from a file; use :set.
`

// cliConfig is what the command line asks for, in redis-cli's terms.
type cliConfig struct {
	host         string
	port         int
	socket       string // -s
	user         string
	password     string
	hasPassword  bool
	db           int
	protocol     int
	resp3Soft    bool // --json: HELLO 3 is tried, its failure ignored
	forceRESP2   bool // -2 was given
	mode         outputMode
	delims       delimiters
	errorStatus  bool                     // -e
	noAuthWarn   bool                     // --no-auth-warning
	passInArgs   bool                     // the password came from -a, --pass or -u
	urlOptions   *respool.Options         // from -u, for its query options
	sentinels    []string                 // --sentinel, in order
	master       string                   // --master
	urlFailover  *respool.FailoverOptions // from a -u URI with master_name
	cluster      bool                     // -c
	repeat       int64                    // -r; 1 by default, negative forever
	interval     time.Duration            // -i
	stdinLastArg bool                     // -x
	stdinTag     string                   // -X: the argument standard input replaces
	hasStdinTag  bool
	quotedInput  bool // --quoted-input
	askPass      bool // --askpass
	pushOutput   bool // print RESP3 pushes: a terminal, or --show-pushes yes
	tls          tlsFlags
	tlsConfig    *tls.Config // from tls, by loadTLS
	scan         bool        // --scan, with pattern and count
	pattern      string
	count        int
	pipe         bool // --pipe, with pipeTimeout
	pipeTimeout  time.Duration
	latency      bool // --latency, --latency-history
	history      bool
	stat         bool // --stat
	command      []string
	printUsage   bool
	printVersion bool
}

// tlsFlags are --tls and its companions.
type tlsFlags struct {
	enabled  bool
	sni      string
	cacert   string
	cert     string
	key      string
	insecure bool
}

// usageError is a command line redis-cli would refuse; its text is
// redis-cli's message.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// parseCLIArgs reads the options before the command, as redis-cli's
// parseOptions does: in order, later options overriding earlier ones, up to
// the first argument that does not start with '-'. stdoutTTY is the
// default output mode's input.
func parseCLIArgs(args []string, stdoutTTY bool, env func(string) string) (*cliConfig, error) {
	c := &cliConfig{
		host:        "127.0.0.1",
		port:        6379,
		protocol:    2,
		mode:        outputRaw,
		delims:      defaultDelimiters,
		repeat:      1,
		pipeTimeout: 30 * time.Second,
	}
	if stdoutTTY || env("FAKETTY") != "" {
		c.mode = outputTTY
		c.pushOutput = true
	}
	i := 0
	for ; i < len(args); i++ {
		arg := args[i]
		hasValue := i+1 < len(args)
		value := func() string { i++; return args[i] }
		switch {
		case arg == "--help" || arg == "-help":
			c.printUsage = true
			return c, nil
		case arg == "-v" || arg == "--version":
			c.printVersion = true
			return c, nil
		case arg == "-h" && hasValue:
			c.host = value()
		case arg == "-p" && hasValue:
			c.port = atoi(value())
		case (arg == "-a" || arg == "--pass") && hasValue:
			c.password, c.hasPassword = value(), true
			c.passInArgs = true
		case arg == "--user" && hasValue:
			c.user = value()
		case arg == "-n" && hasValue:
			c.db = atoi(value())
		case arg == "-u" && hasValue:
			if err := c.applyURL(value()); err != nil {
				return nil, err
			}
		case arg == "--sentinel" && hasValue:
			c.sentinels = append(c.sentinels, value())
		case arg == "--master" && hasValue:
			c.master = value()
		case arg == "-d" && hasValue:
			c.delims.bulk = value() // as given: redis-cli does not unescape it
		case arg == "-D" && hasValue:
			c.delims.reply = value()
		case arg == "-2":
			c.protocol = 2
			c.forceRESP2 = true
		case arg == "-3":
			c.protocol = 3
		case arg == "-e":
			c.errorStatus = true
		case arg == "--raw":
			c.mode = outputRaw
		case arg == "--no-raw":
			c.mode = outputTTY
		case arg == "--no-auth-warning":
			c.noAuthWarn = true
		case arg == "-s" && hasValue:
			c.socket = value()
		case arg == "-c":
			c.cluster = true
		case arg == "-r" && hasValue:
			c.repeat, _ = strconv.ParseInt(leadingInt(value()), 10, 64)
		case arg == "-i" && hasValue:
			secs, _ := strconv.ParseFloat(strings.TrimSpace(value()), 64)
			c.interval = time.Duration(secs * float64(time.Second))
		case arg == "-x":
			c.stdinLastArg = true
		case arg == "-X" && hasValue:
			c.stdinTag, c.hasStdinTag = value(), true
		case arg == "--show-pushes" && hasValue:
			switch v := strings.ToLower(value()); {
			case strings.HasPrefix(v, "n"):
				c.pushOutput = false
			case strings.HasPrefix(v, "y"):
				c.pushOutput = true
			default:
				return nil, &usageError{fmt.Sprintf("Unknown --show-pushes value '%s' (valid: '[y]es', '[n]o')", args[i])}
			}
		case arg == "--askpass":
			c.askPass = true
		case arg == "--quoted-input":
			c.quotedInput = true
		case arg == "--quoted-pattern" && hasValue:
			p, ok := unquote(value())
			if !ok {
				return nil, &usageError{"Invalid quoted string specified for --quoted-pattern."}
			}
			c.pattern = p
		case arg == "--csv":
			c.mode = outputCSV
		case arg == "--json" || arg == "--quoted-json":
			c.mode = outputJSON
			if arg == "--quoted-json" {
				c.mode = outputQuotedJSON
			}
			c.resp3Soft = c.protocol == 2 // not over an explicit -3
		case arg == "--tls":
			c.tls.enabled = true
		case arg == "--sni" && hasValue:
			c.tls.sni = value()
		case arg == "--cacert" && hasValue:
			c.tls.cacert = value()
		case arg == "--cert" && hasValue:
			c.tls.cert = value()
		case arg == "--key" && hasValue:
			c.tls.key = value()
		case arg == "--insecure":
			c.tls.insecure = true
		case arg == "--scan":
			c.scan = true
		case arg == "--pattern" && hasValue:
			c.pattern = value()
		case arg == "--count" && hasValue:
			c.count = atoi(value())
		case arg == "--pipe":
			c.pipe = true
		case arg == "--pipe-timeout" && hasValue:
			c.pipeTimeout = time.Duration(atoi(value())) * time.Second
		case arg == "--latency":
			c.latency = true
		case arg == "--latency-history":
			c.latency, c.history = true, true
		case arg == "--stat":
			c.stat = true
		case strings.HasPrefix(arg, "-"):
			return nil, &usageError{fmt.Sprintf("Unrecognized option or bad number of args for: '%s'", arg)}
		default:
			c.command = args[i:]
			i = len(args)
		}
	}
	if c.stdinLastArg && c.hasStdinTag {
		return nil, &usageError{"Options -x and -X are mutually exclusive."}
	}
	// -2 anywhere wins over -3 and --json, as in redis-cli.
	if c.forceRESP2 {
		c.protocol, c.resp3Soft = 2, false
	}
	// Like redis-cli, the environment only supplies a password the
	// command line did not.
	if pass := env("REDISCLI_AUTH"); pass != "" && !c.hasPassword {
		c.password, c.hasPassword = pass, true
	}
	return c, nil
}

// applyURL takes host, port, user, password and database from a redis://
// URL, as redis-cli's -u does, and keeps the URL's other options. A URL
// with a master_name query key names sentinels (ParseFailoverURL): the
// data nodes' user and password come from its username and password keys.
func (c *cliConfig) applyURL(rawURL string) error {
	var (
		opt *respool.Options
		err error
	)
	if isFailoverURL(rawURL) {
		var fo *respool.FailoverOptions
		if fo, err = respool.ParseFailoverURL(rawURL); err == nil {
			c.urlFailover = fo
			opt = &fo.Options
			if fo.SentinelPassword != "" {
				c.passInArgs = true
			}
		}
	} else {
		opt, err = respool.ParseURL(rawURL)
	}
	if err != nil {
		return &usageError{fmt.Sprintf("Invalid URI: %v", err)}
	}
	host, port, err := net.SplitHostPort(opt.Addr)
	if err == nil {
		c.host = host
		c.port = atoi(port)
	}
	if opt.Username != "" {
		c.user = opt.Username
	}
	if opt.Password != "" {
		c.password, c.hasPassword = opt.Password, true
		c.passInArgs = true
	}
	if opt.DB != 0 {
		c.db = opt.DB
	}
	c.urlOptions = opt
	return nil
}

// isFailoverURL reports whether rawURL has a master_name query key.
func isFailoverURL(rawURL string) bool {
	_, query, _ := strings.Cut(rawURL, "?")
	for part := range strings.SplitSeq(query, "&") {
		if key, _, _ := strings.Cut(part, "="); key == "master_name" {
			return true
		}
	}
	return false
}

// failoverOptions returns the options of a FailoverClient when the
// command line names sentinels or a master (--sentinel, --master, or a -u
// URI with master_name), and nil otherwise. The data nodes' options are
// those of options().
func (c *cliConfig) failoverOptions() *respool.FailoverOptions {
	if c.urlFailover == nil && c.master == "" && len(c.sentinels) == 0 {
		return nil
	}
	fo := &respool.FailoverOptions{}
	if c.urlFailover != nil {
		f := *c.urlFailover
		fo = &f
	}
	if c.master != "" {
		fo.MasterName = c.master
	}
	if len(c.sentinels) > 0 {
		fo.SentinelAddrs = c.sentinels
	}
	fo.Options = *c.options()
	return fo
}

// atoi parses like C's atoi: leading digits, 0 when there are none.
func atoi(s string) int {
	n, _ := strconv.Atoi(leadingInt(s))
	return n
}

// leadingInt is the sign and digits that start s after white space, as
// C's strtol reads them.
func leadingInt(s string) string {
	s = strings.TrimLeft(s, " \t\n")
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	return s[:end]
}

// options turns the configuration into client options. The one-shot mode
// behaves as redis-cli: one connection, no read timeout (a slow command or
// a BLPOP 0 waits until it is done or interrupted), and no CLIENT SETINFO.
// Query options of a -u URL (read_timeout...) still apply.
func (c *cliConfig) options() *respool.Options {
	opt := &respool.Options{}
	if c.urlOptions != nil {
		o := *c.urlOptions
		opt = &o
	}
	opt.Addr = net.JoinHostPort(c.host, strconv.Itoa(c.port))
	opt.Username = c.user
	opt.Password = ""
	if c.hasPassword {
		opt.Password = c.password
	}
	opt.DB = c.db
	opt.Protocol = c.protocol
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = -1
	}
	if opt.PoolSize == 0 {
		opt.PoolSize = 1
	}
	opt.DisableIdentity = true
	if c.tlsConfig != nil {
		opt.TLSConfig = c.tlsConfig.Clone()
	}
	return opt
}

// loadTLS builds the TLS configuration of --tls (and its companions) once
// the command line is read: the CA file, the client certificate, the
// server name. A file that cannot be read or parsed is an error, worded
// as redis-cli words it.
func (c *cliConfig) loadTLS() error {
	if !c.tls.enabled {
		return nil
	}
	conf := &tls.Config{
		ServerName:         c.tls.sni,
		InsecureSkipVerify: c.tls.insecure,
		MinVersion:         tls.VersionTLS12,
	}
	if conf.ServerName == "" && c.socket == "" {
		conf.ServerName = c.host
	}
	if c.tls.cacert != "" {
		pem, err := os.ReadFile(c.tls.cacert)
		if err != nil {
			return &usageError{fmt.Sprintf("Could not negotiate a TLS connection: Failed to load CA Certificates: %v", err)}
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return &usageError{"Could not negotiate a TLS connection: Failed to load CA Certificates: no certificate in " + c.tls.cacert}
		}
	}
	if c.tls.cert != "" || c.tls.key != "" {
		cert, err := tls.LoadX509KeyPair(c.tls.cert, c.tls.key)
		if err != nil {
			return &usageError{fmt.Sprintf("Could not negotiate a TLS connection: Invalid client certificate or key: %v", err)}
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	c.tlsConfig = conf
	return nil
}

// runCLI runs redis-cli's modes: parse the options, then --latency,
// --pipe, --stat or --scan when asked, the interactive mode when no
// command is given, and the one-shot mode otherwise. It returns the
// process's exit status: 0 for a reply, 1 for an error reply (where
// redis-cli without -e exits 0; the output is the same), a connection
// failure, a reply redis-cli cannot print or a bad command line, and 130
// when interrupted.
func runCLI(args []string, stdout, stderr io.Writer) int {
	ctx := context.Background()
	if cfg, err := parseCLIArgs(args, false, os.Getenv); err != nil || !cfg.interactive() {
		// The interactive mode handles SIGINT itself, command by command.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
	}
	return runCLIContext(ctx, args, os.Stdin, stdout, stderr)
}

// interactive reports whether the command line asks for the interactive
// mode: no command and no other mode.
func (c *cliConfig) interactive() bool {
	return len(c.command) == 0 && !c.latency && !c.pipe && !c.stat && !c.scan && !c.printUsage && !c.printVersion
}

// runCLIContext is runCLI until ctx ends (which interrupts it, as SIGINT
// does), reading standard input from stdin (for -x, --pipe and the lines
// of the interactive mode).
func runCLIContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseCLIArgs(args, isTerminal(stdout), os.Getenv)
	if err == nil {
		err = cfg.loadTLS()
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	switch {
	case cfg.printUsage:
		io.WriteString(stdout, cliUsage)
		return 0
	case cfg.printVersion:
		fmt.Fprintln(stdout, "respool (redis-cli 7.0 compatible)")
		return 0
	}
	if cfg.askPass {
		pass, err := askPassword(stdin, stdout)
		if err != nil {
			fmt.Fprintln(stderr, "respool: reading the password:", err)
			return 1
		}
		cfg.password, cfg.hasPassword = pass, true
	}
	if cfg.passInArgs && !cfg.noAuthWarn {
		fmt.Fprintln(stderr, "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.")
	}
	if cfg.interactive() {
		return runREPL(ctx, cfg, stdin, stdout, stderr)
	}

	s := newSession(cfg, stdout, stderr)
	defer s.close()
	var status int
	switch {
	case cfg.latency:
		status = runLatency(ctx, s)
	case cfg.pipe:
		status = runPipe(ctx, s, stdin)
	case cfg.stat:
		status = runStat(ctx, s)
	case cfg.scan:
		status = runScan(ctx, s)
	default:
		status = runOneShot(ctx, s, stdin)
	}
	if ctx.Err() != nil {
		return 130 // as a shell reports a process ended by SIGINT
	}
	return status
}

// runOneShot runs the command of the command line (noninteractive):
// with --quoted-input its arguments are unquoted; with -x, standard input
// is its last argument, with -X the argument equal to the tag.
func runOneShot(ctx context.Context, s *session, stdin io.Reader) int {
	argv := slices.Clone(s.cfg.command)
	if s.cfg.quotedInput {
		for i, a := range argv {
			var ok bool
			if argv[i], ok = unquote(a); !ok {
				io.WriteString(s.out, "Invalid quoted string\n")
				return 1
			}
		}
	}
	if s.cfg.stdinLastArg || s.cfg.hasStdinTag {
		data, err := io.ReadAll(stdin)
		if err != nil {
			fmt.Fprintln(s.errOut, "respool: reading standard input:", err)
			return 1
		}
		if s.cfg.stdinLastArg {
			argv = append(argv, string(data))
		} else if i := slices.Index(argv, s.cfg.stdinTag); i >= 0 {
			argv[i] = string(data)
		} else {
			fmt.Fprintln(s.errOut, "Using -X option but stdin tag not match.")
			return 1
		}
	}
	_ = s.connect(ctx, true)
	if err := s.issue(ctx, argv, s.cfg.repeat); err != nil {
		return 1
	}
	if s.sawErrorReply {
		return 1
	}
	return 0
}

// failureMessage words a failure to get a reply as redis-cli does: "Could
// not connect to Redis at ADDR: REASON" before the command was sent,
// "Error: REASON" after, with the system's words for the usual reasons
// and Go's otherwise.
func failureMessage(addr string, err error) string {
	reason := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "Connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		reason = "Connection reset by peer"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		reason = "Server closed the connection"
	}
	var (
		connErr     *respool.ConnError
		sentinelErr *respool.SentinelError
	)
	if errors.As(err, &connErr) && (connErr.Op == "read" || connErr.Op == "write") {
		return "Error: " + reason
	}
	if errors.As(err, &sentinelErr) {
		return "Could not find the primary through the sentinels: " + reason
	}
	return fmt.Sprintf("Could not connect to Redis at %s: %s", addr, reason)
}

// isTerminal reports whether w is a terminal (a character device), which
// makes formatted output the default, as redis-cli's isatty(stdout) check.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
