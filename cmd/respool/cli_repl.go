package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chzyer/readline"
)

// This file is the interactive mode (redis-cli's repl): a prompt, line
// editing with hints, completion and history on a terminal, and the same
// loop reading lines without a prompt when standard input is not one.

// lineReader gives the interactive mode its lines.
type lineReader interface {
	// readLine returns the next line, io.EOF at the end of the input (or
	// Ctrl-D, or Ctrl-C at the prompt).
	readLine(prompt string) (string, error)
	// remember adds a line to the history (and its file).
	remember(line string)
	close()
}

// plainLines reads lines from a pipe or a file, without a prompt or a
// history, as linenoise does when standard input is not a terminal.
type plainLines struct{ r *bufio.Reader }

func (p *plainLines) readLine(string) (string, error) {
	line, err := p.r.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil
	}
	return strings.TrimSuffix(line, "\n"), err
}

func (p *plainLines) remember(string) {}
func (p *plainLines) close()          {}

// editedLines reads lines from a terminal with github.com/chzyer/readline:
// the prompt, line editing, hints after the cursor, tab completion and a
// history saved to a file.
type editedLines struct {
	rl       *readline.Instance
	hinter   *hinter
	histFile string
}

// historyLimit is linenoise's default history length, redis-cli's.
const historyLimit = 100

func newEditedLines(stdin *os.File, stdout io.Writer, histFile string, help func() helpTable, hints *bool) (*editedLines, error) {
	if histFile != "" {
		// Readable by its owner alone, as linenoise saves it (see private).
		if f, err := os.OpenFile(histFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			f.Close()
		}
	}
	h := &hinter{help: help, on: hints}
	rl, err := readline.NewEx(&readline.Config{
		Stdin:                  stdin,
		Stdout:                 stdout,
		Stderr:                 stdout,
		HistoryFile:            histFile,
		HistoryLimit:           historyLimit,
		DisableAutoSaveHistory: true,
		AutoComplete:           noCompletion{},
		Listener:               &completer{help: help},
		Painter:                h,
		FuncIsTerminal:         func() bool { return true },
	})
	if err != nil {
		return nil, err
	}
	e := &editedLines{rl: rl, hinter: h, histFile: histFile}
	e.private()
	return e, nil
}

func (e *editedLines) readLine(prompt string) (string, error) {
	e.rl.SetPrompt(prompt)
	e.hinter.promptLen = len([]rune(prompt))
	line, err := e.rl.Readline()
	if errors.Is(err, readline.ErrInterrupt) {
		return "", io.EOF
	}
	return line, err
}

func (e *editedLines) remember(line string) {
	_ = e.rl.SaveHistory(line)
	e.private()
}

// private keeps the history file 0600: the line editor rewrites it
// through a new file (0666 less the umask) when it trims it to its limit.
func (e *editedLines) private() {
	if e.histFile != "" {
		_ = os.Chmod(e.histFile, 0o600)
	}
}

func (e *editedLines) close() { e.rl.Close() }

// completer is linenoise's tab completion, as redis-cli has it: Tab
// replaces the line with the first completion (in upper case, as the help
// table spells it), each further Tab with the next, and after the last
// with the line as it was typed; any other key keeps the line shown. It is
// a readline.Listener, which sees each key after the editor handled it;
// the editor's own completion is given nothing to do (noCompletion).
type completer struct {
	help func() helpTable

	typed      []rune   // the line before the first Tab, while cycling
	candidates []string // its completions
	shown      int      // the one on screen; len(candidates): typed
}

func (c *completer) OnChange(line []rune, pos int, key rune) ([]rune, int, bool) {
	if key != readline.CharTab {
		c.candidates = nil // the line shown is the line now
		return nil, 0, false
	}
	if c.candidates == nil {
		c.typed = slices.Clone(line)
		c.candidates = c.help().complete(string(line))
		if len(c.candidates) == 0 {
			c.candidates = nil
			return nil, 0, false
		}
		c.shown = 0
	} else {
		c.shown = (c.shown + 1) % (len(c.candidates) + 1)
	}
	next := c.typed
	if c.shown < len(c.candidates) {
		next = []rune(c.candidates[c.shown])
	}
	return next, len(next), true
}

// noCompletion keeps the line editor from acting on Tab itself (its
// default inserts a tab character): completer does it.
type noCompletion struct{}

func (noCompletion) Do([]rune, int) ([][]rune, int) { return nil, 0 }

// hinter paints the hint for the typed command after the cursor, in
// linenoise's grey (the escape redis-cli sends), and moves the cursor back
// before it.
type hinter struct {
	help      func() helpTable
	on        *bool
	promptLen int // set before each line is read
}

func (h *hinter) Paint(line []rune, pos int) []rune {
	// Not after Enter (the line then ends in a newline), nor with the
	// cursor inside the line.
	if !*h.on || pos != len(line) || len(line) == 0 || line[len(line)-1] == '\n' {
		return line
	}
	hint := h.help().hint(string(line))
	if hint == "" {
		return line
	}
	// Cut to the terminal's width, as linenoise does: a hint never wraps.
	room := readline.GetScreenWidth() - h.promptLen - len(line)
	if r := []rune(hint); len(r) > room {
		hint = string(r[:max(room, 0)])
	}
	width := len([]rune(hint))
	if width == 0 {
		return line
	}
	return []rune(string(line) + "\x1b[0;90;49m" + hint + "\x1b[0m\x1b[" + strconv.Itoa(width) + "D")
}

// askPassword is --askpass: "Please input password: " and a masked line
// on a terminal; otherwise the first line of stdin, read a byte at a time
// so that the rest stays for the interactive mode or -x.
func askPassword(stdin io.Reader, stdout io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		rl, err := readline.NewEx(&readline.Config{
			Stdin: f, Stdout: stdout, Prompt: "Please input password: ",
			EnableMask: true, MaskRune: '*', FuncIsTerminal: func() bool { return true },
		})
		if err != nil {
			return "", err
		}
		defer rl.Close()
		return rl.Readline()
	}
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := stdin.Read(b)
		if n == 1 && b[0] != '\n' {
			line = append(line, b[0])
		}
		if n == 1 && b[0] == '\n' || err == io.EOF {
			return string(line), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// historyPath is where the history goes: $REDISCLI_HISTFILE ("/dev/null"
// for none), or ~/.respoolcli_history.
func historyPath() string {
	if p := os.Getenv("REDISCLI_HISTFILE"); p != "" {
		if p == "/dev/null" {
			return ""
		}
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".respoolcli_history")
}

// runREPL is the interactive mode. It returns the exit status: 0 at the
// end of the input, quit or exit; 1 when interrupted during a command
// (redis-cli exits then; an interrupted SUBSCRIBE or MONITOR returns to
// the prompt instead).
//
// ctx bounds connecting and each command (tests end a session with it);
// SIGINT during a command is caught here.
func runREPL(ctx context.Context, cfg *cliConfig, stdin io.Reader, stdout, stderr io.Writer) int {
	s := newSession(cfg, stdout, stderr)
	s.interactive = true
	defer s.close()
	_ = s.connect(ctx, false)
	s.help = loadHelp(ctx, s)
	help := func() helpTable { return s.help }
	hints := true

	var lines lineReader = &plainLines{r: bufio.NewReader(stdin)}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		el, err := newEditedLines(f, stdout, historyPath(), help, &hints)
		if err != nil {
			fmt.Fprintln(stderr, "respool:", err)
			return 1
		}
		lines = el
	}
	defer lines.close()

	for {
		line, err := lines.readLine(s.prompt())
		if err != nil || ctx.Err() != nil {
			return 0
		}
		if line == "" {
			continue
		}
		argv, ok := splitArgs(line)
		if !ok {
			io.WriteString(stdout, "Invalid argument(s)\n")
			lines.remember(line)
			continue
		}
		if len(argv) == 0 {
			continue
		}
		repeat, skip := int64(1), 0
		// "N command" repeats (redis-cli's strtol: an empty word reads 0).
		if n, err := strconv.ParseInt(argv[0], 10, 64); len(argv) > 1 && (err == nil || errors.Is(err, strconv.ErrRange) || argv[0] == "") {
			if err != nil || n <= 0 {
				io.WriteString(stdout, "Invalid redis-cli repeat command option value.\n")
				continue
			}
			repeat, skip = n, 1
		}
		if !sensitiveCommand(argv[skip:]) {
			lines.remember(line)
		}
		switch {
		case strings.EqualFold(argv[0], "quit"), strings.EqualFold(argv[0], "exit"):
			return 0
		case strings.HasPrefix(argv[0], ":"):
			setPreference(argv, &hints, stdout)
		case strings.EqualFold(argv[0], "restart"):
			io.WriteString(stdout, "Use 'restart' only in Lua debugging mode.\n")
		case len(argv) == 3 && strings.EqualFold(argv[0], "connect"):
			s.host, s.port, s.redirected = argv[1], atoi(argv[2]), true
			if s.connect(ctx, false) == nil {
				s.help = loadHelp(ctx, s)
			}
		case len(argv) == 1 && strings.EqualFold(argv[0], "clear"):
			io.WriteString(stdout, "\x1b[H\x1b[2J")
		default:
			start := time.Now()
			cmdCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
			err := s.issue(cmdCtx, argv[skip:], repeat)
			interrupted := cmdCtx.Err() != nil
			stop()
			if err != nil && interrupted {
				return 1 // redis-cli exits on Ctrl-C outside SUBSCRIBE and MONITOR
			}
			if elapsed := time.Since(start); elapsed >= 500*time.Millisecond && cfg.mode == outputTTY {
				fmt.Fprintf(stdout, "(%.2fs)\n", elapsed.Seconds())
			}
		}
	}
}

// setPreference is ":set hints" and ":set nohints" (cliSetPreferences),
// with redis-cli's words for anything else.
func setPreference(argv []string, hints *bool, w io.Writer) {
	if !strings.EqualFold(argv[0], ":set") || len(argv) < 2 {
		fmt.Fprintf(w, "unknown redis-cli internal command '%s'\n", argv[0])
		return
	}
	switch {
	case strings.EqualFold(argv[1], "hints"):
		*hints = true
	case strings.EqualFold(argv[1], "nohints"):
		*hints = false
	default:
		fmt.Fprintf(w, "unknown redis-cli preference '%s'\n", argv[1])
	}
}

// sensitiveCommand reports the commands redis-cli keeps out of its
// history: AUTH, ACL SETUSER, CONFIG SET of a password, HELLO with AUTH.
func sensitiveCommand(argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	is := func(i int, s string) bool { return strings.EqualFold(argv[i], s) }
	switch {
	case is(0, "auth"):
		return true
	case len(argv) > 1 && is(0, "acl") && is(1, "setuser"):
		return true
	case len(argv) > 2 && is(0, "config") && is(1, "set"):
		return is(2, "masterauth") || is(2, "masteruser") || is(2, "requirepass")
	case len(argv) > 4 && is(0, "hello"):
		for j := 2; j < len(argv); j++ {
			more := len(argv) - 1 - j
			switch {
			case is(j, "auth") && more >= 2:
				return true
			case is(j, "setname") && more > 0:
				j++
			default:
				return false
			}
		}
	}
	return false
}
