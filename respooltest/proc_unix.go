//go:build unix

package respooltest

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts each server in a process group of its own, so that
// signals reach it (and any child it forks for replication) and nothing else.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the process group led by pid. A group that is
// already gone is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

func terminateGroup(pid int) error {
	if err := signalGroup(pid, syscall.SIGTERM); err != nil {
		return err
	}
	// A stopped process keeps SIGTERM pending until it runs again.
	return signalGroup(pid, syscall.SIGCONT)
}

func killGroup(pid int) error   { return signalGroup(pid, syscall.SIGKILL) }
func stopGroup(pid int) error   { return signalGroup(pid, syscall.SIGSTOP) }
func resumeGroup(pid int) error { return signalGroup(pid, syscall.SIGCONT) }

// processState returns the state letter of pid from /proc/PID/stat ('R',
// 'S', 'T', ...). ok is false where /proc is not available or the process is
// gone.
func processState(pid int) (state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may contain spaces; the state
	// follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, false
	}
	return s[i+2], true
}
