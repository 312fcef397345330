package respool

// readOnlyOptions returns opt with READONLY added to the handshake of
// every connection, for reads from replicas.
func readOnlyOptions(opt Options) Options {
	opt.readOnly = true
	return opt
}
