package respoolotel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/respool/respool"
)

// Attribute keys of the semantic conventions, and respool's own.
const (
	keySystem      = attribute.Key("db.system.name")
	keyOperation   = attribute.Key("db.operation.name")
	keyBatchSize   = attribute.Key("db.operation.batch.size")
	keyNamespace   = attribute.Key("db.namespace")
	keyQueryText   = attribute.Key("db.query.text")
	keyStatusCode  = attribute.Key("db.response.status_code")
	keyErrorType   = attribute.Key("error.type")
	keyAddress     = attribute.Key("server.address")
	keyPort        = attribute.Key("server.port")
	keyPoolName    = attribute.Key("db.client.connection.pool.name")
	keyConnState   = attribute.Key("db.client.connection.state")
	keyOutcome     = attribute.Key("respool.outcome")
	keyDialReason  = attribute.Key("respool.dial.reason")
	keyCloseReason = attribute.Key("respool.close.reason")
	keyDrainResult = attribute.Key("respool.drain.result")
)

var systemRedis = keySystem.String("redis")

// Instrumentable is what InstrumentTracing and InstrumentMetrics take: a
// *respool.Client, a *respool.ClusterClient or a *respool.FailoverClient.
type Instrumentable interface {
	AddHook(respool.Hook)
}

// serverAttrs returns server.address and server.port for addr ("host:port",
// or a Unix socket's path).
func serverAttrs(addr string) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return []attribute.KeyValue{keyAddress.String(addr)}
	}
	attrs := []attribute.KeyValue{keyAddress.String(host)}
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, keyPort.Int(n))
	}
	return attrs
}

// baseAttrs returns the attributes that every span and duration of c
// carries, the caller's own last.
func baseAttrs(c Instrumentable, extra []attribute.KeyValue) []attribute.KeyValue {
	attrs := []attribute.KeyValue{systemRedis}
	switch c := c.(type) {
	case *respool.Client:
		opt := c.Options()
		attrs = append(attrs, keyNamespace.String(strconv.Itoa(opt.DB)))
		attrs = append(attrs, serverAttrs(opt.Addr)...)
	case *respool.ClusterClient:
		attrs = append(attrs, keyNamespace.String("0"))
	case *respool.FailoverClient:
		// The primary's address changes with failovers: no server.address.
		attrs = append(attrs, keyNamespace.String(strconv.Itoa(c.Options().DB)))
	}
	return append(attrs, extra...)
}

// opNames turns the lower-case names respool gives commands into the
// upper-case operation names of the conventions, once per name.
type opNames struct {
	c cache[string, string]
}

func (n *opNames) of(name string) string { return n.c.get(name, strings.ToUpper) }

// isTx reports whether cmds is a transaction: MULTI ... EXEC.
func isTx(cmds []respool.Cmder) bool {
	return len(cmds) >= 2 && cmds[0].Name() == "multi" && cmds[len(cmds)-1].Name() == "exec"
}

// batchOperation returns the operation name of a pipeline or transaction
// and its number of commands (those inside MULTI ... EXEC for a
// transaction).
func (n *opNames) batchOperation(cmds []respool.Cmder) (string, int) {
	if isTx(cmds) {
		return "MULTI", len(cmds) - 2
	}
	if len(cmds) == 1 {
		return n.of(cmds[0].Name()), 1
	}
	for _, cmd := range cmds[1:] {
		if cmd.Name() != cmds[0].Name() {
			return "BATCH", len(cmds)
		}
	}
	if len(cmds) == 0 {
		return "BATCH", 0
	}
	return "BATCH " + n.of(cmds[0].Name()), len(cmds)
}

// RedactedQueryText is the db.query.text of WithQueryText: the command's
// name, as sent, and one "?" for each argument: "SET ? ? EX ?" would tell
// too much, so "SET ? ? ? ?".
func RedactedQueryText(args []any) string {
	if len(args) == 0 {
		return ""
	}
	var b strings.Builder
	switch name := args[0].(type) {
	case string:
		b.WriteString(name)
	case []byte:
		b.Write(name)
	default:
		fmt.Fprint(&b, name)
	}
	for range args[1:] {
		b.WriteString(" ?")
	}
	return b.String()
}

// batchQueryText is the db.query.text of a pipeline: each command's, one
// after the other, separated by "; ".
func batchQueryText(f func([]any) string, cmds []respool.Cmder) string {
	var b strings.Builder
	for i, cmd := range cmds {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f(cmd.Args()))
	}
	return b.String()
}

// failure describes a command's error for spans and measurements; the
// zero value is no failure.
type failure struct {
	errorType  string // error.type
	statusCode string // db.response.status_code: the prefix of a server's error reply
	outcome    string // respool.OutcomeOf
}

// failureOf describes err; a nil error and respool.Nil (a null reply) are
// no failure.
func failureOf(err error) (failure, bool) {
	if err == nil || errors.Is(err, respool.Nil) {
		return failure{}, false
	}
	f := failure{outcome: respool.OutcomeOf(err).String()}
	var se *respool.Error
	var te interface{ Timeout() bool }
	switch {
	case errors.As(err, &se):
		f.statusCode = se.Prefix()
		if f.statusCode == "" {
			f.statusCode = "ERR"
		}
		f.errorType = f.statusCode
	case errors.Is(err, context.Canceled):
		f.errorType = "canceled"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &te) && te.Timeout():
		f.errorType = "timeout"
	default:
		f.errorType = fmt.Sprintf("%T", err)
	}
	return f, true
}

// attrs returns the failure's attributes.
func (f failure) attrs() []attribute.KeyValue {
	attrs := []attribute.KeyValue{keyErrorType.String(f.errorType), keyOutcome.String(f.outcome)}
	if f.statusCode != "" {
		attrs = append(attrs, keyStatusCode.String(f.statusCode))
	}
	return attrs
}

// firstFailure returns the error of a pipeline: the first command's that
// failed, or the pipeline's own.
func firstFailure(cmds []respool.Cmder, err error) error {
	for _, cmd := range cmds {
		if e := cmd.Err(); e != nil && !errors.Is(e, respool.Nil) {
			return e
		}
	}
	return err
}
