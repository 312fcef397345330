package resp

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// ArgAppender is implemented by types that encode themselves as one command
// argument. AppendArg appends the argument's bytes (the content of one bulk
// string, without any framing) to dst and returns the extended slice.
type ArgAppender interface {
	AppendArg(dst []byte) []byte
}

// ArgError reports a command argument that cannot be encoded. Nothing of
// the command was written.
type ArgError struct {
	// Index is the argument's position in the command, from 0.
	Index int
	// Type is the argument's Go type, "nil" for nil.
	Type string
}

// Error returns "resp: argument N has unsupported type T".
func (e *ArgError) Error() string {
	if e.Type == "nil" {
		return "resp: argument " + strconv.Itoa(e.Index) + " is nil"
	}
	return "resp: argument " + strconv.Itoa(e.Index) + " has unsupported type " + e.Type
}

// checkArgs returns an *ArgError for the first argument of an unsupported
// type. See WriteCommand for the supported ones.
func checkArgs(args []any) error {
	for i, a := range args {
		switch a.(type) {
		case string, []byte, int, int8, int16, int32, int64,
			uint, uint8, uint16, uint32, uint64, float32, float64, bool, ArgAppender:
		case nil:
			return &ArgError{Index: i, Type: "nil"}
		default:
			return &ArgError{Index: i, Type: reflect.TypeOf(a).String()}
		}
	}
	return nil
}

// appendScalarArg formats a number or bool argument into dst. It reports
// false for other types.
func appendScalarArg(dst []byte, a any) ([]byte, bool) {
	switch a := a.(type) {
	case int:
		return strconv.AppendInt(dst, int64(a), 10), true
	case int8:
		return strconv.AppendInt(dst, int64(a), 10), true
	case int16:
		return strconv.AppendInt(dst, int64(a), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(a), 10), true
	case int64:
		return strconv.AppendInt(dst, a, 10), true
	case uint:
		return strconv.AppendUint(dst, uint64(a), 10), true
	case uint8:
		return strconv.AppendUint(dst, uint64(a), 10), true
	case uint16:
		return strconv.AppendUint(dst, uint64(a), 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(a), 10), true
	case uint64:
		return strconv.AppendUint(dst, a, 10), true
	case float32:
		return appendFloat(dst, float64(a), 32), true
	case float64:
		return appendFloat(dst, a, 64), true
	case bool:
		if a {
			return append(dst, '1'), true
		}
		return append(dst, '0'), true
	}
	return dst, false
}

// appendFloat formats f in the shortest form that parses back to the same
// float of the given bit size, as Redis reads floats: "inf", "-inf", "nan"
// for the special values, and "1e+21" style exponents for large or small
// ones.
func appendFloat(dst []byte, f float64, bitSize int) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bitSize)
}

// WriteCommand writes a command as an array of bulk strings, one per
// argument. Arguments may be:
//   - string and []byte, as they are;
//   - int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
//     in decimal;
//   - float32 and float64, in the shortest form that reads back as the same
//     number ("1.5", "1e+21"), with "inf", "-inf" and "nan";
//   - bool, as "1" or "0";
//   - any ArgAppender, as the bytes it appends.
//
// Anything else, named types such as time.Duration or a string type of your
// own included, gives an *ArgError naming the argument, and nothing of the
// command is written; so does nil.
//
// The command is buffered until Flush. Writing one allocates nothing in
// steady state. Note that a caller boxing a variable number or string into
// an `any` may itself allocate; constants and arguments that do not escape
// do not.
func (w *Writer) WriteCommand(args ...any) error { return w.WriteArgs(args) }

// WriteArgs is WriteCommand taking the arguments as a slice.
func (w *Writer) WriteArgs(args []any) error {
	if w.err != nil {
		return w.err
	}
	if err := checkArgs(args); err != nil {
		return err
	}
	w.writeHeader('*', int64(len(args)))
	for _, a := range args {
		w.writeArg(a)
	}
	return w.err
}

func (w *Writer) writeArg(a any) {
	switch a := a.(type) {
	case string:
		w.writeHeader('$', int64(len(a)))
		w.writeString(a)
		w.writeCRLF()
		return
	case []byte:
		w.writeHeader('$', int64(len(a)))
		w.writeBytes(a)
		w.writeCRLF()
		return
	}
	var tmp [64]byte
	if b, ok := appendScalarArg(tmp[:0], a); ok {
		w.writeShortBulk(b)
		return
	}
	if a, ok := a.(ArgAppender); ok {
		w.argBuf = a.AppendArg(w.argBuf[:0])
		w.writeHeader('$', int64(len(w.argBuf)))
		w.writeBytes(w.argBuf)
		w.writeCRLF()
		if cap(w.argBuf) > 1<<20 {
			w.argBuf = nil // do not keep a huge argument's memory
		}
	}
}

// AppendCommand appends the encoding of a command to dst, exactly as
// Writer.WriteCommand writes it, and returns the extended slice. For an
// argument of an unsupported type it returns dst unchanged and an *ArgError.
func AppendCommand(dst []byte, args ...any) ([]byte, error) {
	if err := checkArgs(args); err != nil {
		return dst, err
	}
	dst = appendHeader(dst, '*', int64(len(args)))
	for _, a := range args {
		dst = appendArg(dst, a)
	}
	return dst, nil
}

func appendArg(dst []byte, a any) []byte {
	switch a := a.(type) {
	case string:
		dst = appendHeader(dst, '$', int64(len(a)))
		return append(append(dst, a...), '\r', '\n')
	case []byte:
		dst = appendHeader(dst, '$', int64(len(a)))
		return append(append(dst, a...), '\r', '\n')
	}
	var tmp [64]byte
	if b, ok := appendScalarArg(tmp[:0], a); ok {
		dst = appendHeader(dst, '$', int64(len(b)))
		return append(append(dst, b...), '\r', '\n')
	}
	if a, ok := a.(ArgAppender); ok {
		// Append the payload, then slide it over to make room for its header.
		start := len(dst)
		dst = a.AppendArg(dst)
		n := len(dst) - start
		var hdr [maxHeaderLen]byte
		h := appendHeader(hdr[:0], '$', int64(n))
		dst = append(dst, h...)
		copy(dst[start+len(h):], dst[start:start+n])
		copy(dst[start:], h)
		return append(dst, '\r', '\n')
	}
	panic(fmt.Sprintf("resp: unchecked argument of type %T", a))
}

// CheckArgs returns the *ArgError that WriteArgs would report for args, or
// nil when WriteArgs accepts every argument. Callers that must know a
// command will be written in full before they commit to it use it.
func CheckArgs(args []any) error { return checkArgs(args) }
