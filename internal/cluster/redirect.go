package cluster

import (
	"net"
	"strconv"
	"strings"
)

// RedirectKind says which redirection a server error asks for.
type RedirectKind uint8

// The redirections of the cluster specification.
const (
	// NoRedirect is the zero RedirectKind: the error is not a redirection.
	NoRedirect RedirectKind = iota
	// Moved: the slot now lives on another node for good. The client
	// updates its slot map (or refreshes it) and retries there.
	Moved
	// Ask: the slot is being migrated and this key is on the target. The
	// client sends ASKING then the command to the target, on one connection,
	// and leaves its slot map alone.
	Ask
)

// String returns "MOVED", "ASK", or "none" for NoRedirect.
func (k RedirectKind) String() string {
	switch k {
	case NoRedirect:
		return "none"
	case Moved:
		return "MOVED"
	case Ask:
		return "ASK"
	}
	return "RedirectKind(" + strconv.Itoa(int(k)) + ")"
}

// ParseRedirect parses the text of a MOVED or ASK error reply (without the
// leading '-'), such as "MOVED 3999 127.0.0.1:6381" or
// "ASK 3999 127.0.0.1:6381". ok is false, and the other results zero, for
// any other text, a slot outside [0, NumSlots) or an address without a
// valid port. Fields after the address are ignored, for forward
// compatibility.
//
// Redis writes the address as endpoint + ":" + port, so an IPv6 endpoint
// comes without brackets ("MOVED 3999 ::1:6381"); the bracketed form
// ("[::1]:6381") is accepted too. addr is returned as net.JoinHostPort
// builds it, with IPv6 hosts in brackets, ready to dial.
//
// Two hosts need the caller's attention. An empty host (":6380") means the
// node's endpoint is unknown and, as the specification says, the client
// uses the host of the node that replied on the given port: addr is
// returned as ":6380" and the caller substitutes the host, for example with
// FillHost. A host of "?" means the cluster prefers hostnames but the node
// announced none: it cannot be dialled, and the caller should refresh the
// slot map instead.
func ParseRedirect(msg string) (kind RedirectKind, slot int, addr string, ok bool) {
	word, rest, _ := strings.Cut(msg, " ")
	switch word {
	case "MOVED":
		kind = Moved
	case "ASK":
		kind = Ask
	default:
		return NoRedirect, 0, "", false
	}
	slotText, rest, _ := strings.Cut(rest, " ")
	addrText, _, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(slotText)
	if err != nil || n < 0 || n >= NumSlots || slotText[0] == '+' {
		return NoRedirect, 0, "", false
	}
	host, portText, ok := splitHostPort(addrText)
	if !ok {
		return NoRedirect, 0, "", false
	}
	return kind, n, net.JoinHostPort(host, portText), true
}

// splitHostPort splits "host:port" at its last colon, so that IPv6 hosts
// may come with brackets or without. The port must be a number in
// [1, 65535] written without a sign.
func splitHostPort(addr string) (host, port string, ok bool) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", false
	}
	host, port = addr[:i], addr[i+1:]
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if strings.ContainsAny(host, "[] ") {
		return "", "", false
	}
	if port == "" || port[0] < '0' || port[0] > '9' {
		return "", "", false
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", "", false
	}
	return host, port, true
}

// FillHost returns addr with its host replaced by the host of from when
// addr's host is empty, as it is in a redirection to a node whose endpoint
// is unknown (":6380"); from is the address of the node that sent the
// redirection. Any other addr is returned unchanged, as is an addr that is
// not host:port.
func FillHost(addr, from string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	fromHost, _, err := net.SplitHostPort(from)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(fromHost, port)
}
