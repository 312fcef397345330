package respool

import (
	"time"
)

// Defaults of PubSub.Channel.
const (
	// DefaultChannelSize is the buffer of PubSub.Channel's channel.
	DefaultChannelSize = 100
	// DefaultChannelSendTimeout is how long PubSub.Channel's goroutine
	// waits for room in a full channel before it drops a message.
	DefaultChannelSendTimeout = time.Minute
)

// ChannelOption configures PubSub.Channel.
type ChannelOption func(*channelConfig)

type channelConfig struct {
	size        int
	sendTimeout time.Duration
}

// WithChannelSize sets the buffer of the channel: how many messages may
// wait for the consumer before the goroutine has to wait too. Default 100;
// values below 1 mean the default.
func WithChannelSize(n int) ChannelOption {
	return func(c *channelConfig) {
		if n > 0 {
			c.size = n
		}
	}
}

// WithChannelSendTimeout sets how long the goroutine waits for room when
// the channel is full before it drops the message: default one minute; a
// negative d drops at once. Dropped messages are counted (Stats().Dropped)
// and announced by a Gap notice delivered before the next message (see
// PubSub.Channel).
func WithChannelSendTimeout(d time.Duration) ChannelOption {
	return func(c *channelConfig) {
		if d != 0 {
			c.sendTimeout = d
		}
	}
}

// Channel returns a channel of the PubSub's messages, in the order the
// server sent them, and starts the one goroutine that reads the connection
// for it (Receive may not be used any more). The channel is closed after
// Close; messages still buffered can be read before that shows. Later
// calls return the same channel and ignore their options.
//
// The channel is buffered (WithChannelSize, default 100). When the
// consumer falls behind and it is full, the goroutine waits for room up to
// the send timeout (WithChannelSendTimeout, default one minute), then
// drops the message, counts it, and goes on: it never stops reading for
// longer, so a stuck consumer costs messages, not the subscription. While
// it waits, the server buffers what arrives; beyond the server's
// client-output-buffer-limit for pubsub it closes the connection, and the
// PubSub reconnects.
//
// Nothing missed is hidden: after messages were dropped, or after the
// connection was lost and made again (see PubSub), the channel delivers a
// Message whose Gap is set, once, before the next message. A consumer that
// keeps state derived from the messages should resynchronise then.
// Subscription confirmations and pongs are not delivered.
func (ps *PubSub) Channel(opts ...ChannelOption) <-chan *Message {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.ch != nil {
		return ps.ch
	}
	cfg := channelConfig{size: DefaultChannelSize, sendTimeout: DefaultChannelSendTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	ps.ch = make(chan *Message, cfg.size)
	close(ps.channelStarted)
	if ps.closed.Load() {
		close(ps.ch)
		return ps.ch
	}
	ps.wg.Add(1)
	go ps.runChannel(ps.ch, cfg)
	return ps.ch
}

// runChannel is Channel's goroutine: it reads the connection for good
// (holding the read turn) and delivers messages and gap notices to ch,
// which it closes when the PubSub is closed.
func (ps *PubSub) runChannel(ch chan *Message, cfg channelConfig) {
	defer ps.wg.Done()
	defer close(ch)
	select {
	case ps.readTurn <- struct{}{}:
	case <-ps.done:
		return
	}
	defer func() { <-ps.readTurn }()

	d := channelDeliverer{ps: ps, ch: ch, timeout: cfg.sendTimeout}
	if d.timeout > 0 {
		d.timer = time.NewTimer(time.Hour)
		d.timer.Stop()
		defer d.timer.Stop()
	}
	for {
		ev, err := ps.next(ps.life)
		if err != nil {
			if ps.life.Err() != nil {
				return
			}
			continue // a server error nobody waits for: no place for it here
		}
		var ok bool
		switch e := ev.(type) {
		case *Message:
			ok = d.message(e)
		case *Gap:
			ok = d.gap(e)
		default:
			continue
		}
		if !ok {
			return
		}
	}
}

// channelDeliverer applies Channel's policy for a full channel.
type channelDeliverer struct {
	ps      *PubSub
	ch      chan *Message
	timeout time.Duration
	timer   *time.Timer // nil when timeout is negative
	pending *Gap        // a notice not delivered yet
}

// message delivers m, after the pending notice if there is one; it
// reports false when the PubSub was closed.
func (d *channelDeliverer) message(m *Message) bool {
	if d.pending != nil && !d.flush() {
		return d.drop()
	}
	sent, open := d.send(m)
	if !sent && open {
		return d.drop()
	}
	return open
}

// gap delivers (or keeps for later) the notice of a reconnection.
func (d *channelDeliverer) gap(g *Gap) bool {
	if d.pending == nil {
		d.pending = &Gap{}
	}
	d.pending.merge(g)
	d.flush()
	return d.ps.life.Err() == nil
}

// flush tries to deliver the pending notice.
func (d *channelDeliverer) flush() bool {
	sent, _ := d.send(&Message{Gap: d.pending})
	if sent {
		d.pending = nil
	}
	return sent
}

// drop counts one dropped message into the pending notice.
func (d *channelDeliverer) drop() bool {
	if d.pending == nil {
		d.pending = &Gap{}
	}
	d.pending.Dropped++
	d.ps.stats.dropped.Add(1)
	return d.ps.life.Err() == nil
}

// send puts m in the channel, waiting up to the send timeout for room. It
// reports whether m was sent, and false for open when the PubSub was
// closed meanwhile.
func (d *channelDeliverer) send(m *Message) (sent, open bool) {
	select {
	case d.ch <- m:
		return true, true
	default:
	}
	if d.timer == nil {
		return false, true
	}
	d.timer.Reset(d.timeout)
	defer d.timer.Stop()
	select {
	case d.ch <- m:
		return true, true
	case <-d.timer.C:
		return false, true
	case <-d.ps.done:
		return false, false
	}
}
