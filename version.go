package respool

// Version is the version of this module, sent to the server as lib-ver by
// CLIENT SETINFO unless Options.DisableIdentity is set.
const Version = "0.1.0"

// libName is sent as lib-name by CLIENT SETINFO.
const libName = "respool"
