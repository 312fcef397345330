package respool

import (
	"context"
	"crypto/tls"
	"net"
)

// dialNet opens the transport of a new connection: TCP (every address the
// host resolves to is tried in turn, within one deadline), a Unix socket,
// or Options.Dialer; then TLS when Options.TLSConfig is set.
func dialNet(ctx context.Context, opt *Options) (net.Conn, error) {
	var (
		nc  net.Conn
		err error
	)
	if opt.Dialer != nil {
		nc, err = opt.Dialer(ctx, opt.Network, opt.Addr)
	} else {
		d := net.Dialer{
			KeepAliveConfig: opt.KeepAlive,
			ControlContext:  socketControl(opt),
		}
		if !opt.KeepAlive.Enable {
			d.KeepAlive = -1
		}
		nc, err = d.DialContext(ctx, opt.Network, opt.Addr)
	}
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if opt.TLSConfig != nil {
		cfg := opt.TLSConfig
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			cfg = cfg.Clone()
			host, _, splitErr := net.SplitHostPort(opt.Addr)
			if splitErr != nil {
				host = opt.Addr
			}
			cfg.ServerName = host
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, err
		}
		nc = tc
	}
	return nc, nil
}
