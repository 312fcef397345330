package respool

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/respool/respool/resp"
)

// Message is a message published on a channel the PubSub is subscribed to,
// or, when Gap is not nil, the notice that messages may have been missed.
type Message struct {
	// Channel is the channel the message was published on.
	Channel string
	// Pattern is the pattern that matched Channel, for a subscription made
	// with PSubscribe; "" otherwise.
	Pattern string
	// Payload is the message as published.
	Payload string
	// Shard is true for a message of a shard channel (SSubscribe,
	// SPUBLISH).
	Shard bool
	// Gap is not nil on a notice rather than a message: the PubSub lost its
	// connection and made it again, or Channel dropped messages because its
	// buffer stayed full. Channel, Pattern and Payload are then empty.
	// Channel and ReceiveMessage deliver such notices in order: every
	// message after it was received after the gap. Receive returns the
	// *Gap itself instead.
	Gap *Gap
}

// String returns "message <channel>: <payload>" (with the pattern or the
// shard mark when there is one), or the gap's description for a notice.
func (m *Message) String() string {
	if m.Gap != nil {
		return m.Gap.String()
	}
	var b strings.Builder
	if m.Shard {
		b.WriteString("smessage ")
	} else {
		b.WriteString("message ")
	}
	if m.Pattern != "" {
		b.WriteString(m.Pattern)
		b.WriteByte(' ')
	}
	b.WriteString(m.Channel)
	b.WriteString(": ")
	b.WriteString(m.Payload)
	return b.String()
}

// Subscription is the server's confirmation of a subscribe or unsubscribe
// command, one per channel or pattern named (Receive returns them; Channel
// and ReceiveMessage pass over them).
type Subscription struct {
	// Kind is "subscribe", "psubscribe", "ssubscribe", "unsubscribe",
	// "punsubscribe" or "sunsubscribe".
	Kind string
	// Channel is the channel or pattern; "" when an unsubscribe without
	// names found nothing to unsubscribe.
	Channel string
	// Count is the number of channels and patterns (for shard channels:
	// of shard channels) the connection is subscribed to afterwards.
	Count int
}

// String returns "<kind> <channel> (<count>)".
func (s *Subscription) String() string {
	return s.Kind + " " + s.Channel + " (" + strconv.Itoa(s.Count) + ")"
}

// Pong is the server's reply to PubSub.Ping.
type Pong struct {
	// Payload is the payload given to Ping, "" when none was given.
	Payload string
}

// String returns "pong" followed by the payload, if any.
func (p *Pong) String() string {
	if p.Payload == "" {
		return "pong"
	}
	return "pong " + p.Payload
}

// Gap says that messages may have been missed. Redis does not queue
// messages for a subscriber: whatever was published while the PubSub was
// disconnected is lost for it, and so is what Channel dropped. A Gap is
// delivered exactly once for each such stretch, before the first message
// received after it, so that the user can resynchronise (reload state,
// read a stream...) instead of assuming nothing happened.
type Gap struct {
	// Reconnects is how many times the connection was lost and made again
	// (each time with every channel, pattern and shard channel subscribed
	// again) since the previous notice: 1 for one outage, however many
	// attempts the reconnection took; more only when Channel could not
	// deliver the earlier notice in time; 0 when only Dropped is set.
	Reconnects int
	// Err is what began the outage: the *ConnError that ended the
	// connection (one wrapping a Timeout error "no reply to PING within
	// ..." when the health check gave up on a silent server), or the dial
	// error when a connection could not be made; nil when Reconnects is 0.
	Err error
	// Dropped is how many messages were read from the server and then
	// dropped because Channel's buffer stayed full beyond the send timeout
	// (see WithChannelSendTimeout). It is always 0 from Receive.
	Dropped int64
}

// String describes the gap, for example "respool: reconnected after:
// respool: read ...: EOF" or "respool: 12 messages dropped".
func (g *Gap) String() string {
	var parts []string
	if g.Reconnects > 0 {
		s := "reconnected"
		if g.Reconnects > 1 {
			s += " " + strconv.Itoa(g.Reconnects) + " times"
		}
		if g.Err != nil {
			s += " after: " + g.Err.Error()
		}
		parts = append(parts, s)
	}
	if g.Dropped > 0 {
		s := strconv.FormatInt(g.Dropped, 10) + " messages dropped"
		if g.Dropped == 1 {
			s = "1 message dropped"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "respool: gap"
	}
	return "respool: " + strings.Join(parts, "; ")
}

// merge adds o to g: the notice that replaces both when g could not be
// delivered.
func (g *Gap) merge(o *Gap) {
	g.Reconnects += o.Reconnects
	if o.Err != nil {
		g.Err = o.Err
	}
	g.Dropped += o.Dropped
}

// pongReply is a PONG read from the connection, before it is matched with
// the PING it answers.
type pongReply struct{}

// errPubSubReply is wrapped by the error for a reply that has no place on
// a pub/sub connection; the connection is then closed and made again.
var errPubSubReply = errors.New("unexpected reply on a pub/sub connection")

// parsePubSubReply classifies one reply read on a pub/sub connection, in
// either protocol: RESP2 sends messages and confirmations as arrays and a
// PING in subscribed mode as ["pong", payload]; RESP3 sends them as push
// frames and answers PING as an ordinary reply. It returns a *Message, a
// *Subscription, a pongReply, an *Error (an error reply to a command of
// the PubSub), or nil for a push frame of another kind (such as a tracking
// invalidation) which is ignored. A reply of any other shape is an error.
func parsePubSubReply(v resp.Value) (any, error) {
	switch v.Kind() {
	case resp.KindError, resp.KindBulkError:
		return NewError(v.Text()), nil
	case resp.KindSimpleString, resp.KindBulkString, resp.KindVerbatim:
		// RESP3's reply to PING (+PONG, or the payload), and RESP2's
		// once nothing is subscribed any more.
		return pongReply{}, nil
	case resp.KindPush, resp.KindArray:
	default:
		return nil, fmt.Errorf("respool: %w: %s", errPubSubReply, v.Kind())
	}
	elems, _ := v.Elems()
	if len(elems) == 0 {
		return nil, fmt.Errorf("respool: %w: empty %s", errPubSubReply, v.Kind())
	}
	kind, err := elems[0].Str()
	if err != nil {
		return nil, fmt.Errorf("respool: %w: %s of %s", errPubSubReply, v.Kind(), elems[0].Kind())
	}
	push := v.Kind() == resp.KindPush
	kind = strings.ToLower(kind)
	switch kind {
	case "message", "smessage":
		if len(elems) != 3 {
			break
		}
		ch, err1 := elems[1].Str()
		payload, err2 := elems[2].Str()
		if err1 != nil || err2 != nil {
			break
		}
		return &Message{Channel: ch, Payload: payload, Shard: kind == "smessage"}, nil
	case "pmessage":
		if len(elems) != 4 {
			break
		}
		pattern, err1 := elems[1].Str()
		ch, err2 := elems[2].Str()
		payload, err3 := elems[3].Str()
		if err1 != nil || err2 != nil || err3 != nil {
			break
		}
		return &Message{Channel: ch, Pattern: pattern, Payload: payload}, nil
	case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe":
		if len(elems) != 3 {
			break
		}
		var ch string
		if !elems[1].IsNull() {
			if ch, err = elems[1].Str(); err != nil {
				break
			}
		}
		n, err := elems[2].Int()
		if err != nil {
			break
		}
		return &Subscription{Kind: kind, Channel: ch, Count: int(n)}, nil
	case "pong":
		if len(elems) == 2 && !push {
			return pongReply{}, nil
		}
	default:
		if push {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("respool: %w: %s", errPubSubReply, v.String())
}
