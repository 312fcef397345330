package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"
	"github.com/respool/respool/respooltest"
)

// This file drives the interactive mode through a pseudo-terminal, as a
// person at a terminal would: the respool binary runs on the pty's far
// end, the test types and reads what the terminal shows.

// ptySession is one run of the binary on a pseudo-terminal.
type ptySession struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File // the pty's master side
	out  *waitWriter
	mark int           // expect looks after this offset of out
	done chan struct{} // closed when the copy of the output ends
}

// startPTY runs bin with args and env on a new 200-column pseudo-terminal.
func startPTY(t *testing.T, bin string, env []string, args ...string) *ptySession {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptySession{t: t, cmd: cmd, tty: tty, out: newWaitWriter(), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		io.Copy(p.out, tty) // ends with EIO once the program exits
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
		p.tty.Close()
		<-p.done
	})
	return p
}

// send types s.
func (p *ptySession) send(s string) {
	p.t.Helper()
	if _, err := p.tty.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// expect waits for output matching re after what earlier expects
// matched, and returns it.
func (p *ptySession) expect(re string) string {
	p.t.Helper()
	r := regexp.MustCompile(re)
	full := p.out.waitUntil(p.t, re, func(out string) bool { return r.MatchString(out[p.mark:]) })
	loc := r.FindStringIndex(full[p.mark:])
	match := full[p.mark+loc[0] : p.mark+loc[1]]
	p.mark += loc[1]
	return match
}

// wait waits for the program to exit and returns its status.
func (p *ptySession) wait() int {
	p.t.Helper()
	err := p.cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	p.t.Fatal(err)
	return -1
}

// redraw matches what the line editor sends before a prompt: cursor
// moves, clearing, carriage returns.
const redraw = `(?:\x1b\[[0-9;]*[A-Za-z]|\r)*`

// The binary the terminal tests run, built once by buildRespool into
// binDir (which TestMain removes).
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// buildRespool builds the binary once for every test that needs it.
func buildRespool(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "respool-cli-test-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "respool")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// TestInteractiveTerminal checks the interactive mode on a terminal:
// prompts with [db] and (TX), hints, tab completion, HELP, CONNECT, the
// history across two runs (and kept out of it, AUTH), reconnecting after
// the server restarts, and Ctrl-C ending a SUBSCRIBE.
func TestInteractiveTerminal(t *testing.T) {
	respooltest.RequireRedis(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	srv := respooltest.StartServer(t)
	other := respooltest.StartServer(t)
	bin := buildRespool(t)
	home := t.TempDir()
	env := []string{"HOME=" + home, "TERM=xterm"}
	prompt := regexp.QuoteMeta(srv.Addr)
	args := hostPort(srv.Addr)

	t.Run("PromptsHintsCompletion", func(t *testing.T) {
		p := startPTY(t, bin, env, args...)
		p.expect(prompt + `> `)
		// The hint for SET after its key, in grey, from COMMAND DOCS.
		p.send("SET greeting")
		p.expect(`\x1b\[0;90;49m key value \[NX\|XX\] \[GET\] \[EX seconds\|PX milliseconds`)
		p.send(" hi")
		p.expect(`\x1b\[0;90;49m \[NX\|XX\] \[GET\]`)
		p.send("\r")
		p.expect(`OK\r?\n`)
		// Tab completes a subcommand, spelled as the help table does.
		p.send("config ge\t")
		p.expect(`CONFIG GET`)
		p.send(" maxmemory\r")
		p.expect(`1\) "maxmemory"\r?\n2\) "0"`)
		p.send("SELECT 2\r")
		p.expect(prompt + `\[2\]> `)
		p.send("MULTI\r")
		p.expect(prompt + `\[2\]\(TX\)> `)
		p.send("INCR txcounter\r")
		p.expect(`QUEUED`)
		p.send("EXEC\r")
		p.expect(`1\) \(integer\) 1`)
		p.expect(prompt + `\[2\]> `)
		p.send("MULTI\r")
		p.expect(`\(TX\)> `)
		p.send("DISCARD\r")
		p.expect(`OK\r?\n` + redraw + prompt + `\[2\]> `)
		p.send("HELP LPUSH\r")
		p.expect(`\x1b\[1mLPUSH\x1b\[0m \x1b\[90mkey element \[element \.\.\.\]\x1b\[0m`)
		p.expect(`summary:\x1b\[0m Prepend one or multiple elements to a list`)
		p.send("CONNECT 127.0.0.1 " + strconv.Itoa(other.Port) + "\r")
		p.expect(regexp.QuoteMeta(other.Addr) + `\[2\]> `) // the database goes along, as in redis-cli
		p.send("exit\r")
		if status := p.wait(); status != 0 {
			t.Errorf("exit status %d", status)
		}
	})

	t.Run("AskPass", func(t *testing.T) {
		p := startPTY(t, bin, env, append(slices.Clone(args), "--askpass")...)
		p.expect(`Please input password: `)
		p.send("pw\r")
		p.expect(`\*\*`)
		p.expect(`AUTH failed: ERR AUTH <password> called without any password configured`)
		p.expect(prompt + `> `)
		p.send("quit\r")
		p.wait()
		if strings.Contains(p.out.String(), "pw") {
			t.Errorf("the password was echoed: %q", p.out.String())
		}
	})

	t.Run("History", func(t *testing.T) {
		p := startPTY(t, bin, env, args...)
		p.expect(prompt + `> `)
		p.send("INCR histcounter\r")
		p.expect(`\(integer\) 1`)
		p.send("AUTH nosuchuser secret\r")
		p.expect(`\(error\)`)
		p.send("quit\r")
		p.wait()
		saved, err := os.ReadFile(filepath.Join(home, ".respoolcli_history"))
		if err != nil || !strings.Contains(string(saved), "INCR histcounter") || strings.Contains(string(saved), "AUTH") {
			t.Fatalf("history file: %q, %v", saved, err)
		}
		if fi, err := os.Stat(filepath.Join(home, ".respoolcli_history")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("history file mode %v, %v; want 0600", fi.Mode(), err)
		}

		// The second run finds the line with the up arrow, before "quit".
		p = startPTY(t, bin, env, args...)
		p.expect(prompt + `> `)
		p.send("\x1b[A")
		p.expect(`quit`)
		p.send("\x1b[A")
		p.expect(`INCR histcounter`)
		p.send("\r")
		p.expect(`\(integer\) 2`)
		p.send("quit\r")
		p.wait()

		// REDISCLI_HISTFILE moves it.
		moved := filepath.Join(t.TempDir(), "hist")
		p = startPTY(t, bin, append(env, "REDISCLI_HISTFILE="+moved), args...)
		p.expect(prompt + `> `)
		p.send("PING moved\r")
		p.expect(`"moved"`)
		p.send("quit\r")
		p.wait()
		if saved, err := os.ReadFile(moved); err != nil || !strings.Contains(string(saved), "PING moved") {
			t.Fatalf("REDISCLI_HISTFILE: %q, %v", saved, err)
		}
	})

	t.Run("Reconnect", func(t *testing.T) {
		p := startPTY(t, bin, env, args...)
		p.expect(prompt + `> `)
		p.send("SET before restart\r")
		p.expect(`OK`)
		srv.Kill(t)
		p.send("PING\r")
		p.expect(`Error: Server closed the connection|Error: Connection reset by peer`)
		p.expect(`not connected> `)
		p.send("PING\r")
		p.expect(`Could not connect to Redis at ` + prompt + `: Connection refused`)
		p.expect(`not connected> `)
		srv.Restart(t)
		p.send("PING\r")
		p.expect(`PONG\r?\n` + redraw + prompt + `> `)
		p.send("quit\r")
		p.wait()
	})

	t.Run("InterruptSubscribe", func(t *testing.T) {
		p := startPTY(t, bin, env, args...)
		p.expect(prompt + `> `)
		p.send("SUBSCRIBE ptychannel\r")
		p.expect(`Reading messages\.\.\. \(press Ctrl-C to quit\)`)
		p.expect(`3\) \(integer\) 1`)
		srv.CLI(t, "PUBLISH", "ptychannel", "typed")
		p.expect(`3\) "typed"`)
		p.send("\x03")
		p.expect(prompt + `> `)
		p.send("PING after\r")
		p.expect(`"after"`)
		p.send("quit\r")
		if status := p.wait(); status != 0 {
			t.Errorf("exit status %d", status)
		}
	})
}

// promptLine matches the end of a command's output on a terminal: a
// newline, the editor's redrawing, and the next prompt.
var promptLine = regexp.MustCompile(`\n` + redraw + `(127\.0\.0\.1:\d+(\[\d+\])?(\(TX\))?|not connected)> `)

// typeOnTerminal runs program with args on a pseudo-terminal, types each
// line once the previous one's prompt is back, then quit, and returns the
// screen it leaves.
func typeOnTerminal(t *testing.T, program string, env, args, lines []string) string {
	t.Helper()
	p := startPTY(t, program, env, args...)
	p.expect(`> `)
	for _, l := range lines {
		p.send(l + "\r")
		p.expect(promptLine.String())
	}
	p.send("quit\r")
	if status := p.wait(); status != 0 {
		t.Errorf("%s: exit status %d", program, status)
	}
	<-p.done
	return render(p.out.String())
}

// TestTranscriptOnTerminal types the transcript into redis-cli and into
// respool, each on a pseudo-terminal, one line after the previous prompt,
// and requires the same screen: prompts, echoed commands and replies (the
// two line editors draw them with different escape sequences, so what is
// compared is the screen they leave, rendered).
func TestTranscriptOnTerminal(t *testing.T) {
	respooltest.RequireRedis(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	redisCLIPath, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("no redis-cli")
	}
	srv := respooltest.StartServer(t)
	bin := buildRespool(t)
	env := []string{"HOME=" + t.TempDir(), "TERM=xterm", "REDISCLI_HISTFILE=/dev/null"}
	var lines []string
	for l := range strings.SplitSeq(strings.TrimSuffix(transcript, "\n"), "\n") {
		if l != "clear" { // it clears the screen this test compares
			lines = append(lines, l)
		}
	}
	// Tab completion: the first candidate, the next ones, back to the
	// typed line after the last, then a key that keeps what is shown.
	lines = append(lines, "config ge\t maxmemory", "lp\t\t k", "hsc\t\tAN h 0", "help @strin\t", "nosuchthing\t x")
	// On a terminal redis-cli prints RESP3 pushes (the session is in RESP3
	// since HELLO 3): a key read under CLIENT TRACKING, then written by
	// the same connection, is invalidated before the next reply.
	lines = append(lines, "CLIENT TRACKING on", "GET tracked", "SET tracked 1", "PING", "CLIENT TRACKING off")
	screens := make([]string, 2)
	for i, program := range []string{redisCLIPath, bin} {
		screens[i] = helloID.ReplaceAllString(typeOnTerminal(t, program, env, hostPort(srv.Addr), lines), "${1}ID")
	}
	if screens[0] != screens[1] {
		t.Errorf("the screens differ:\n%s", lineDiff(screens[0], screens[1]))
	}
	if !strings.Contains(screens[1], srv.Addr+"(TX)> INCR counter\nQUEUED\n") {
		t.Errorf("no (TX) prompt on the screen:\n%s", screens[1])
	}
}
