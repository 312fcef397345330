//go:build !unix

package respooltest

import (
	"errors"
	"runtime"
	"syscall"
)

var errUnsupported = errors.New("respooltest: process control is not supported on " + runtime.GOOS)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func terminateGroup(pid int) error { return errUnsupported }
func killGroup(pid int) error      { return errUnsupported }
func stopGroup(pid int) error      { return errUnsupported }
func resumeGroup(pid int) error    { return errUnsupported }

func processState(pid int) (state byte, ok bool) { return 0, false }
