package respool

import (
	"context"
	"errors"
	"log/slog"
)

// errNoCredentialsProvider is RotateCredentials' error without a
// provider to ask.
var errNoCredentialsProvider = errors.New("respool: RotateCredentials needs Options.CredentialsProvider")

// RotateCredentials asks Options.CredentialsProvider for credentials now,
// and makes every connection that is already open authenticate with them
// (AUTH) between two of its commands, without closing it:
//
//   - a connection of the pool, idle or in use, when Get next hands it
//     out, before the caller has it;
//   - a shared connection of a multiplexing Client of the pool, before
//     its next write, in a round trip of its own (the commands queued
//     meanwhile follow once it is answered);
//   - a PubSub of such a Client, between two reads (with RESP3; the
//     server lets a RESP2 subscription send only subscription commands
//     and PING, so a PubSub on RESP2 reconnects instead, and reports the
//     *Gap of any reconnection).
//
// No command fails because of it. A connection whose AUTH the server
// refuses, or that fails during it, is closed and replaced by a new one,
// whose handshake asks the provider again; the commands it would have
// carried go to that one. New connections ask the provider in their
// handshake as before. A Conn the caller holds (Client.Conn, a Watch in
// progress) authenticates again once it has been given back and taken
// again. PoolStats.Reauths and ReauthErrors count the re-authentications.
//
// Call it when the provider starts returning new credentials, and keep
// the old ones valid on the server until the connections have moved (an
// ACL user may have two passwords at once). It returns the provider's
// error, and then changes nothing, or an error when the pool has no
// CredentialsProvider.
func (p *Pool) RotateCredentials(ctx context.Context) error {
	if p.opt.CredentialsProvider == nil {
		return errNoCredentialsProvider
	}
	creds, err := p.opt.CredentialsProvider(ctx)
	if err != nil {
		return err
	}
	p.rotateCredentials(creds)
	return nil
}

// rotateCredentials makes creds the credentials every connection of the
// pool must be authenticated with.
func (p *Pool) rotateCredentials(creds Credentials) {
	p.opt.creds.rotate(creds)
	if lg := p.opt.Logger; lg != nil {
		logEvent(lg, slog.LevelInfo, "respool: credentials rotated", slog.String("addr", p.opt.Addr),
			slog.String("user", creds.Username))
	}
}
