package respool

import (
	"context"
	"errors"
	"log/slog"
)

// The client's own events go to Options.Logger, which lists them. Every
// event is logged only where Logger is set (each call site checks it
// first, so that a client without one builds no attributes) and never on
// the path of a command that succeeds: dial failures, connections closed
// after errors, health-check replacements, pub/sub outages, cluster
// topology changes and redirections, leaks and credential rotations.

// logEvent logs one event, which has no context of its own.
func logEvent(lg *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	lg.LogAttrs(context.Background(), level, msg, attrs...)
}

// logBroken logs that a connection to addr was closed because err made it
// unusable: at Warn, or at Debug when err is only a caller's context
// ending, which says nothing about the server.
func logBroken(lg *slog.Logger, addr string, err error, shared bool) {
	level := slog.LevelWarn
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		level = slog.LevelDebug
	}
	logEvent(lg, level, "respool: connection closed after an error", slog.String("addr", addr),
		slog.Any("error", err), slog.Bool("shared", shared))
}
