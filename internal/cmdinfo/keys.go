package cmdinfo

import (
	"strconv"
	"strings"
)

// KeyIndexes returns the positions in args of the key arguments of the
// command line args, where args[0] is the command name (and args[1] the
// subcommand of a container command). It applies the key specifications
// the way the server does (getKeysUsingKeySpecs in Redis 7.0):
//
//   - begin_search "index" starts at a fixed position; "keyword" starts
//     after the first argument equal to the keyword (case-insensitive),
//     searching forward from StartFrom, or backward from the end when
//     StartFrom is negative; a keyword that is absent means that spec has
//     no keys (XREAD without STREAMS, MIGRATE without KEYS);
//   - find_keys "range" (LastKey, KeyStep, Limit) and "keynum" (EVAL's
//     numkeys, ZUNIONSTORE's numkeys ...).
//
// Positions come in key-spec order (for example ZUNIONSTORE's destination
// before its sources) and are not deduplicated. A spec that does not fit
// the arguments (a numkeys that is not a number or points past the end)
// contributes nothing; the server would reject such a command anyway.
//
// Not supported, as in the server's own key-spec walk: specs whose
// begin_search or find_keys type is "unknown" (SORT's STORE and BY/GET
// arguments) and specs flagged not_key are skipped. Commands the table does
// not know return nil. The result is nil when there are no keys.
func KeyIndexes(args []string) []int {
	info, ok := LookupArgs(args)
	if !ok {
		return nil
	}
	return info.KeyIndexes(args)
}

// KeyIndexes is the method form of the package function KeyIndexes, for an
// Info already looked up with LookupArgs(args).
func (i Info) KeyIndexes(args []string) []int {
	var keys []int
	argc := len(args)
	for _, spec := range i.KeySpecs {
		if spec.Flags&KeyNotKey != 0 {
			continue
		}
		first := spec.firstKey(args)
		if first <= 0 {
			continue
		}
		var last, step int
		switch spec.FindKeys {
		case FindRange:
			step = spec.KeyStep
			switch {
			case spec.LastKey >= 0:
				last = first + spec.LastKey
			case spec.Limit == 0:
				last = argc + spec.LastKey
			default: // LastKey is -1: the keys take 1/Limit of the rest
				last = first + (argc-first)/spec.Limit + spec.LastKey
			}
		case FindKeynum:
			step = spec.KeyStep
			if spec.KeyNumIdx >= argc-first {
				continue
			}
			n, err := strconv.Atoi(args[first+spec.KeyNumIdx])
			if err != nil || n < 0 {
				continue
			}
			first += spec.FirstKey
			last = first + n - 1
		default:
			continue
		}
		if last >= argc || last < first || first >= argc || step <= 0 {
			continue
		}
		for k := first; k <= last; k += step {
			keys = append(keys, k)
		}
	}
	return keys
}

// firstKey returns the position of the spec's first key in args, or 0 when
// there is none (0 is the command name, never a key).
func (s *KeySpec) firstKey(args []string) int {
	switch s.BeginSearch {
	case BeginIndex:
		return s.Index
	case BeginKeyword:
		argc := len(args)
		start, end := s.StartFrom, argc-1
		if s.StartFrom <= 0 {
			start, end = argc+s.StartFrom, 1
		}
		// The server's loop stops before end; keep its bounds exactly.
		for k := start; k != end; {
			if k >= argc || k < 1 {
				break
			}
			if strings.EqualFold(args[k], s.Keyword) {
				return k + 1
			}
			if start <= end {
				k++
			} else {
				k--
			}
		}
	}
	return 0
}
