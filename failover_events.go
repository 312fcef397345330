package respool

import (
	"net"
	"strings"
)

// The sentinel events a FailoverClient follows. Only the sentinel that
// leads a failover publishes its steps; every sentinel publishes
// +switch-master once it learns the outcome.
const (
	eventSelectedReplica = "+selected-slave"                    // a replica was chosen for promotion
	eventSendNoOne       = "+failover-state-send-slaveof-noone" // it is being promoted
	eventSwitchMaster    = "+switch-master"                     // the new primary: name oldip oldport newip newport
	eventNewSentinel     = "+sentinel"                          // a sentinel joined
)

// failoverAbortEvents end a failover without a new primary.
var failoverAbortEvents = []string{
	"-failover-abort-not-elected",
	"-failover-abort-no-good-slave",
	"-failover-abort-slave-timeout",
}

// replicaEvents change the set of healthy replicas; they matter only when
// reads go to replicas.
var replicaEvents = []string{"+slave", "+sdown", "-sdown", "+convert-to-slave", "+slave-reconf-done"}

// eventChannels returns the channels to subscribe to on every sentinel.
func (fc *FailoverClient) eventChannels() []string {
	chans := []string{eventSelectedReplica, eventSendNoOne, eventSwitchMaster, eventNewSentinel}
	chans = append(chans, failoverAbortEvents...)
	if fc.cfg.replicaOnly || fc.cfg.randomly {
		chans = append(chans, replicaEvents...)
	}
	return chans
}

// learnSentinel adds a sentinel found in a reply or an event, and
// subscribes to its events.
func (fc *FailoverClient) learnSentinel(addr string) {
	if fc.sentinels.learn(addr) {
		fc.watch(addr)
	}
}

// watch starts a goroutine that follows the events of the sentinel at
// addr, once per sentinel, until Close.
func (fc *FailoverClient) watch(addr string) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.watched == nil || fc.watched[addr] {
		return // closed, or watched already
	}
	fc.watched[addr] = true
	fc.wg.Add(1)
	go fc.follow(addr)
}

// follow reads the events of the sentinel at addr on a PubSub of its own,
// which reconnects by itself (with backoff) while the sentinel is away.
// Messages lost while it was away are reported as a gap: the checker then
// asks the sentinels where the primary is, as an event may have been
// missed.
func (fc *FailoverClient) follow(addr string) {
	defer fc.wg.Done()
	ps := newPubSub(fc.cfg.sentinelOptions(addr))
	defer ps.Close()
	// A sentinel that cannot be reached now is subscribed to once it can.
	_ = ps.Subscribe(fc.life, fc.eventChannels()...)
	for {
		ev, err := ps.Receive(fc.life)
		if fc.life.Err() != nil {
			return
		}
		if err != nil {
			continue // an error reply; the PubSub carries on
		}
		switch e := ev.(type) {
		case *Message:
			fc.onEvent(e.Channel, e.Payload)
		case *Gap:
			fc.requestCheck()
		}
	}
}

// onEvent acts on one sentinel event.
func (fc *FailoverClient) onEvent(channel, payload string) {
	fields := strings.Fields(payload)
	switch channel {
	case eventSwitchMaster:
		// <master name> <old ip> <old port> <new ip> <new port>
		if len(fields) != 5 || fields[0] != fc.cfg.master {
			return
		}
		fc.stats.events.Add(1)
		fc.setPrimary(net.JoinHostPort(fields[3], fields[4]))
		// The failover is over, whether or not the client had learnt the
		// new address first.
		fc.endHold(nil, holdSwitched)
		if fc.cfg.replicaOnly || fc.cfg.randomly {
			fc.requestCheck()
		}
	case eventSelectedReplica, eventSendNoOne:
		if master, ok := eventMaster(fields); ok && master == fc.cfg.master {
			fc.stats.events.Add(1)
			fc.beginHold()
		}
	case eventNewSentinel:
		// sentinel <run id> <ip> <port> @ <master name> <ip> <port>
		if master, ok := eventMaster(fields); ok && master == fc.cfg.master && len(fields) >= 4 {
			fc.learnSentinel(net.JoinHostPort(fields[2], fields[3]))
		}
	default:
		master, ok := eventMaster(fields)
		if !ok || master != fc.cfg.master {
			return
		}
		fc.stats.events.Add(1)
		if strings.HasPrefix(channel, "-failover-abort-") {
			fc.endHold(nil, holdAborted)
			return
		}
		// A replica event: the checker asks for the replicas again.
		fc.requestCheck()
	}
}

// eventMaster returns the master an event's instance belongs to. The
// instance is "master <name> <ip> <port>", or "<type> <name> <ip> <port>
// @ <master name> <master ip> <master port>" for a replica or a sentinel.
func eventMaster(fields []string) (string, bool) {
	if len(fields) >= 2 && fields[0] == "master" {
		return fields[1], true
	}
	for i, f := range fields {
		if f == "@" && i+1 < len(fields) {
			return fields[i+1], true
		}
	}
	return "", false
}
