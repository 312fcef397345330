package cmdinfo

import "slices"

// Info describes one command or subcommand as the server reports it.
//
// The slices in an Info are shared with the package's table: callers must
// not modify them.
type Info struct {
	// Name is the lower-case command name; a subcommand is named
	// "container|sub", for example "client|kill".
	Name string
	// Arity is the number of arguments including the command name itself;
	// a negative arity -N means N or more.
	Arity int
	Flags Flags
	// ACLCategories are the command's ACL categories without the '@', for
	// example "read", "string", "fast".
	ACLCategories []string

	// FirstKey, LastKey and Step are the legacy key positions (LastKey may
	// be negative, counting from the end). KeySpecs supersede them.
	FirstKey, LastKey, Step int
	// KeySpecs say where the key arguments are; see KeyIndexes.
	KeySpecs []KeySpec

	// Tips are the command tips, for example "nondeterministic_output" or
	// "request_policy:all_shards", which say how a cluster client fans the
	// command out and merges the replies.
	Tips []string

	// Subcommands lists the full names ("config|get" ...) of the
	// subcommands of a container command, sorted; nil otherwise.
	Subcommands []string

	// From COMMAND DOCS.
	Summary string
	Group   string // "string", "list", "server" ...
	Since   string // the server version that introduced it, "1.0.0"
	// Deprecated is true when the documentation flags the command as
	// deprecated (it still works).
	Deprecated bool
}

// KeySpec is one key specification of a command: how to find a group of
// key arguments. Positions count args[0], the command name, as 0.
type KeySpec struct {
	Flags KeyFlags

	BeginSearch BeginSearch
	// Index is the position of the first key when BeginSearch is BeginIndex.
	Index int
	// Keyword is the argument after which the keys start when BeginSearch is
	// BeginKeyword (compared case-insensitively); the search starts at
	// StartFrom, and goes backwards from the end when StartFrom is negative.
	Keyword   string
	StartFrom int

	FindKeys FindKeys
	// For FindRange: LastKey is the position of the last key relative to
	// the first (negative: relative to the end of the arguments); KeyStep is
	// the distance between keys; a non-zero Limit with LastKey -1 means
	// the keys take 1/Limit of the remaining arguments.
	LastKey, KeyStep, Limit int
	// For FindKeynum: the argument at KeyNumIdx (relative to the first key
	// position) holds the number of keys, which start FirstKey after it and
	// are KeyStep apart.
	KeyNumIdx, FirstKey int
}

// IsReadOnly reports whether the command only reads data: it has the
// readonly flag and not the write flag.
func (i Info) IsReadOnly() bool { return i.Flags&ReadOnly != 0 && i.Flags&Write == 0 }

// IsWrite reports whether the command may modify the dataset.
func (i Info) IsWrite() bool { return i.Flags&Write != 0 }

// IsBlocking reports whether the command may block the connection (BLPOP,
// XREAD, WAIT ...). The server flags XREAD and XREADGROUP as blocking even
// without a BLOCK argument.
func (i Info) IsBlocking() bool { return i.Flags&Blocking != 0 }

// IsContainer reports whether the command only groups subcommands
// (CLIENT, CONFIG, XINFO ...).
func (i Info) IsContainer() bool { return len(i.Subcommands) > 0 }

// maxNameLen bounds the names Lookup lower-cases on the stack; every Redis
// command name is far shorter.
const maxNameLen = 64

// byName indexes commands (the generated table) by lower-case name. It is
// built once at init and only read afterwards.
var byName = func() map[string]int {
	m := make(map[string]int, len(commands))
	for i := range commands {
		m[commands[i].Name] = i
	}
	return m
}()

// Lookup returns the command or subcommand called name, compared
// case-insensitively: "GET", "get", "client|kill", "CLIENT|KILL". It does
// not allocate.
func Lookup(name string) (Info, bool) {
	if i, ok := byName[name]; ok {
		return commands[i], true
	}
	if len(name) > maxNameLen {
		return Info{}, false
	}
	var buf [maxNameLen]byte
	lower := buf[:len(name)]
	changed := false
	for j := 0; j < len(name); j++ {
		c := name[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
			changed = true
		}
		lower[j] = c
	}
	if !changed {
		return Info{}, false
	}
	i, ok := byName[string(lower)] // no allocation: the compiler converts in place
	if !ok {
		return Info{}, false
	}
	return commands[i], true
}

// LookupArgs returns the entry for the command line args (args[0] is the
// command name). For a container command with a known subcommand in
// args[1] it returns the subcommand's entry ("CLIENT KILL ..." gives
// "client|kill"); for a container without one it returns the container.
// It does not allocate.
func LookupArgs(args []string) (Info, bool) {
	if len(args) == 0 {
		return Info{}, false
	}
	info, ok := Lookup(args[0])
	if !ok || len(args) < 2 || len(info.Subcommands) == 0 {
		return info, ok
	}
	sub := args[1]
	if len(info.Name)+1+len(sub) > maxNameLen {
		return info, true
	}
	var buf [maxNameLen]byte
	n := copy(buf[:], info.Name)
	buf[n] = '|'
	n++
	for j := 0; j < len(sub); j++ {
		c := sub[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	if i, ok := byName[string(buf[:n])]; ok {
		return commands[i], true
	}
	return info, true
}

// All returns every command and subcommand, sorted by name. The slice is
// the caller's; the Infos in it share their slices with the table.
func All() []Info {
	return slices.Clone(commands) // generated in name order
}
