package cmdinfo

import "strings"

// classes is the class of every command of the table, indexed for
// ClassOf. It is built once at init and only read afterwards.
var classes = buildClassIndex(commands)

// classIndex finds a command's class by name, in any case, without
// allocating. Most commands are ordinary, and so is a command the table
// does not know, so the index lists only the others: a name is looked up
// in the bucket of its length and first byte, modulo 32 each (which
// ignores ASCII case); an empty bucket, or a name its bucket does not
// list, is ordinary. A container that is listed (CLIENT, SCRIPT) lists
// all its subcommands, in buckets of their own.
type classIndex struct {
	// ofCommand is the class of commands[i].
	ofCommand []Class

	// buckets and subBuckets hold, for each bucket of commands and of
	// subcommands, 1 + the position in entries of the first entry of its
	// chain, or 0 when it has none.
	buckets    [numBuckets]uint16
	subBuckets [numBuckets]uint16
	entries    []classEntry
}

// numBuckets is 32 lengths times 32 first bytes.
const numBuckets = 1024

// classEntry is one command or subcommand in a classIndex.
type classEntry struct {
	name   string // lower case; for a subcommand, the part after '|'
	parent uint16 // 0 for a command; for a subcommand, its container's subs
	subs   uint16 // for a container, the parent of its subcommands; else 0
	next   uint16 // 1 + the position of the next entry of the bucket, or 0
	class  Class
}

// bucketOf returns the bucket of a name that is not empty: its length
// and its first byte modulo 32, mixed with parent for a subcommand.
func bucketOf[S string | []byte](name S, parent uint16) uint32 {
	b := uint32(len(name)&31)<<5 | uint32(name[0]&31)
	return (b ^ uint32(parent)*0x2c5) & (numBuckets - 1)
}

// buildClassIndex classifies cmds (classifyAll) and indexes them.
func buildClassIndex(cmds []Info) classIndex {
	decided, _ := classifyAll(cmds) // the tests report what is undecided
	x := classIndex{ofCommand: make([]Class, len(cmds))}
	var parents uint16
	for i, info := range cmds {
		c := decided[info.Name]
		x.ofCommand[i] = c
		if strings.Contains(info.Name, "|") || info.Name == "" {
			continue
		}
		listed := c != ordinary()
		for _, sub := range info.Subcommands {
			listed = listed || decided[sub] != ordinary()
		}
		if !listed {
			continue
		}
		e := classEntry{name: info.Name, class: c}
		if info.IsContainer() {
			parents++
			e.subs = parents
			for _, sub := range info.Subcommands {
				_, name, _ := strings.Cut(sub, "|")
				x.add(classEntry{name: name, parent: parents, class: decided[sub]})
			}
		}
		x.add(e)
	}
	return x
}

// add puts e at the head of its bucket's chain.
func (x *classIndex) add(e classEntry) {
	if e.name == "" {
		return // no command has an empty name
	}
	chains := &x.buckets
	if e.parent != 0 {
		chains = &x.subBuckets
	}
	b := bucketOf(e.name, e.parent)
	e.next = chains[b]
	x.entries = append(x.entries, e)
	chains[b] = uint16(len(x.entries))
}

// find returns the entry of name (any case) under parent, or nil when
// name is not listed.
func find[S string | []byte](x *classIndex, name S, parent uint16) *classEntry {
	if len(name) == 0 {
		return nil
	}
	chains := &x.buckets
	if parent != 0 {
		chains = &x.subBuckets
	}
	for k := chains[bucketOf(name, parent)]; k != 0; {
		e := &x.entries[k-1]
		if e.parent == parent && equalLower(e.name, name) {
			return e
		}
		k = e.next
	}
	return nil
}
