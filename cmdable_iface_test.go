package respool

import (
	"reflect"
	"slices"
	"testing"
)

// cmdableExtras are the methods of Cmdable that do not come from cmdable:
// those the three clients define each.
var cmdableExtras = []string{
	"AddHook", "Do", "Process", "Pipeline", "TxPipeline", "Pipelined", "TxPipelined",
	"Watch", "SSubscribe", "ScanAll", "HScanAll", "SScanAll", "ZScanAll",
	"Cached", "CacheStats",
}

// TestCmdableMatchesCmdable keeps Cmdable in step with cmdable: every
// exported method of cmdable must be in Cmdable with the same signature,
// and Cmdable must hold nothing else but cmdableExtras.
func TestCmdableMatchesCmdable(t *testing.T) {
	iface := reflect.TypeFor[Cmdable]()
	impl := reflect.TypeFor[cmdable]()
	for i := range impl.NumMethod() {
		m := impl.Method(i)
		im, ok := iface.MethodByName(m.Name)
		if !ok {
			t.Errorf("cmdable.%s is missing from Cmdable", m.Name)
			continue
		}
		// m.Type has the receiver first; im.Type does not.
		mt, it := m.Type, im.Type
		same := mt.NumIn() == it.NumIn()+1 && mt.NumOut() == it.NumOut() && mt.IsVariadic() == it.IsVariadic()
		for j := 0; same && j < it.NumIn(); j++ {
			same = mt.In(j+1) == it.In(j)
		}
		for j := 0; same && j < it.NumOut(); j++ {
			same = mt.Out(j) == it.Out(j)
		}
		if !same {
			t.Errorf("Cmdable.%s is %v, cmdable's is %v", m.Name, it, mt)
		}
	}
	for i := range iface.NumMethod() {
		name := iface.Method(i).Name
		if _, ok := impl.MethodByName(name); !ok && !slices.Contains(cmdableExtras, name) {
			t.Errorf("Cmdable.%s is neither a method of cmdable nor one of the shared extras", name)
		}
	}
	for _, name := range cmdableExtras {
		if _, ok := iface.MethodByName(name); !ok {
			t.Errorf("Cmdable lacks %s", name)
		}
	}
}
