//go:build !unix

package respool

import "net"

// sockReader and sockWriter are the net.Conn's own Read and Write here.
type sockReader struct{ nc net.Conn }

type sockWriter struct{ nc net.Conn }

func (r *sockReader) init(nc net.Conn) { r.nc = nc }

func (r *sockReader) Read(p []byte) (int, error) { return r.nc.Read(p) }

func (w *sockWriter) init(nc net.Conn) { w.nc = nc }

func (w *sockWriter) Write(p []byte) (int, error) { return w.nc.Write(p) }

// quietSyscalls reports whether socket system calls leave the scheduler
// untold: never here.
const quietSyscalls = false
