package respooltest

import (
	"strconv"
	"strings"

	"github.com/respool/respool/resp"
)

// The identity FakeDefaults reports in its HELLO reply.
const (
	fakeServerName    = "redis"
	fakeServerVersion = "7.0.15"
)

// FakeReplyOK is a FakeHandler that answers every command with +OK.
func FakeReplyOK(c *FakeConn, cmd []string) {
	c.Write("+OK\r\n")
}

// FakeDefaults returns a FakeHandler that answers the commands a client
// sends while connecting as redis-server 7.0.15 (a standalone primary)
// would, so that handshakes succeed, and passes every other command to
// next. With a nil next, other commands get redis-server's "unknown
// command" error. It answers:
//
//   - HELLO [protover [AUTH user pass] [SETNAME name]]: protover 2 or 3
//     (else -NOPROTO) sets the connection's Protocol; the reply is a map
//     (RESP3) or a flat array (RESP2) of server "redis", version "7.0.15",
//     proto, id (ConnIndex+1), mode "standalone", role "master" and an empty
//     modules array. Any credentials are accepted.
//   - AUTH and SELECT: +OK, whatever the arguments.
//   - CLIENT ID: the id; CLIENT GETNAME: the name set by CLIENT SETNAME or
//     HELLO SETNAME, or a null; every other CLIENT subcommand (SETNAME,
//     SETINFO, TRACKING...): +OK.
//   - PING: +PONG, or PING msg: msg as a bulk string.
//   - QUIT: +OK, then the connection is closed.
func FakeDefaults(next FakeHandler) FakeHandler {
	return func(c *FakeConn, cmd []string) {
		switch strings.ToUpper(cmd[0]) {
		case "HELLO":
			fakeHello(c, cmd)
		case "AUTH", "SELECT":
			c.Write("+OK\r\n")
		case "CLIENT":
			fakeClient(c, cmd)
		case "PING":
			switch len(cmd) {
			case 1:
				c.Write("+PONG\r\n")
			case 2:
				c.WriteValue(resp.BulkString(cmd[1]))
			default:
				fakeWrongArity(c, cmd[0])
			}
		case "QUIT":
			c.Write("+OK\r\n")
			c.Close()
		default:
			if next != nil {
				next(c, cmd)
				return
			}
			fakeUnknown(c, cmd)
		}
	}
}

func fakeHello(c *FakeConn, cmd []string) {
	proto := c.proto
	if len(cmd) > 1 {
		v, err := strconv.Atoi(cmd[1])
		if err != nil {
			c.Write("-ERR Protocol version is not an integer or out of range\r\n")
			return
		}
		if v != 2 && v != 3 {
			c.Write("-NOPROTO unsupported protocol version\r\n")
			return
		}
		proto = v
		for i := 2; i < len(cmd); i++ {
			switch opt := strings.ToUpper(cmd[i]); {
			case opt == "AUTH" && i+2 < len(cmd):
				i += 2
			case opt == "SETNAME" && i+1 < len(cmd):
				c.name = cmd[i+1]
				i++
			default:
				c.Write("-ERR Syntax error in HELLO option '" + cmd[i] + "'\r\n")
				return
			}
		}
	}
	c.proto = proto
	fields := []resp.Value{
		resp.BulkString("server"), resp.BulkString(fakeServerName),
		resp.BulkString("version"), resp.BulkString(fakeServerVersion),
		resp.BulkString("proto"), resp.Integer(int64(proto)),
		resp.BulkString("id"), resp.Integer(int64(c.index + 1)),
		resp.BulkString("mode"), resp.BulkString("standalone"),
		resp.BulkString("role"), resp.BulkString("master"),
		resp.BulkString("modules"), resp.Array(),
	}
	if proto == 3 {
		c.WriteValue(resp.Map(fields...))
	} else {
		c.WriteValue(resp.Array(fields...))
	}
}

func fakeClient(c *FakeConn, cmd []string) {
	if len(cmd) < 2 {
		fakeWrongArity(c, cmd[0])
		return
	}
	switch strings.ToUpper(cmd[1]) {
	case "ID":
		c.WriteValue(resp.Integer(int64(c.index + 1)))
	case "GETNAME":
		switch {
		case c.name != "":
			c.WriteValue(resp.BulkString(c.name))
		case c.proto == 3:
			c.WriteValue(resp.Null())
		default:
			c.WriteValue(resp.NullBulk())
		}
	case "SETNAME":
		if len(cmd) != 3 {
			fakeWrongArity(c, cmd[0]+"|"+strings.ToLower(cmd[1]))
			return
		}
		c.name = cmd[2]
		c.Write("+OK\r\n")
	default:
		c.Write("+OK\r\n")
	}
}

// fakeWrongArity writes redis-server's error for a wrong argument count.
func fakeWrongArity(c *FakeConn, name string) {
	c.Write("-ERR wrong number of arguments for '" + strings.ToLower(name) + "' command\r\n")
}

// fakeUnknown writes redis-server's error for an unknown command.
func fakeUnknown(c *FakeConn, cmd []string) {
	var b strings.Builder
	b.WriteString("-ERR unknown command '")
	b.WriteString(fakeErrorText(cmd[0]))
	b.WriteString("', with args beginning with: ")
	for _, a := range cmd[1:] {
		b.WriteString("'" + fakeErrorText(a) + "' ")
	}
	b.WriteString("\r\n")
	c.Write(b.String())
}

// fakeErrorText makes s safe inside a simple error line.
func fakeErrorText(s string) string {
	if len(s) > 128 {
		s = s[:128]
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
