package cluster

import (
	"strconv"
	"testing"
)

func TestCRC16(t *testing.T) {
	// The check value of CRC16/XMODEM, quoted by the cluster specification.
	if got := crc16("123456789"); got != 0x31C3 {
		t.Fatalf("crc16(123456789) = %#04x, want 0x31c3", got)
	}
	if got := crc16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("crc16([]byte) = %#04x, want 0x31c3", got)
	}
}

// slotTests were checked against CLUSTER KEYSLOT of redis-server 7.0.15.
var slotTests = []struct {
	key  string
	slot int
}{
	{"", 0},
	{"foo", 12182},
	{"bar", 5061},
	{"hello", 866},
	{"123456789", 12739},
	{"user1000", 3443},
	{"{user1000}.following", 3443},
	{"{user1000}.followers", 3443},
	{"foo{}{bar}", 8363},    // empty first tag: the whole key
	{"foo{{bar}}zap", 4015}, // tag "{bar"
	{"{bar", 4015},
	{"foo{bar}{zap}", 5061}, // first tag only: "bar"
	{"{}", 15257},
	{"{", 4092},
	{"}", 12090},
	{"a{b", 13340},   // no closing brace: the whole key
	{"a}b{c}", 7365}, // '}' before '{' does not count: tag "c"
	{"{}a", 10875},
	{"é", 10180},
}

func TestSlot(t *testing.T) {
	for _, tt := range slotTests {
		if got := Slot(tt.key); got != tt.slot {
			t.Errorf("Slot(%q) = %d, want %d", tt.key, got, tt.slot)
		}
		if got := SlotBytes([]byte(tt.key)); got != tt.slot {
			t.Errorf("SlotBytes(%q) = %d, want %d", tt.key, got, tt.slot)
		}
	}
}

func TestSlotHashTagEquivalence(t *testing.T) {
	same := [][2]string{
		{"{user1000}.following", "{user1000}.followers"},
		{"{a}x", "a"},
		{"x{a}", "{a}y{b}"},
		{"foo{{bar}}zap", "{bar"},
	}
	for _, p := range same {
		if Slot(p[0]) != Slot(p[1]) {
			t.Errorf("Slot(%q) = %d != Slot(%q) = %d", p[0], Slot(p[0]), p[1], Slot(p[1]))
		}
	}
	if Slot("foo{}{bar}") == Slot("bar") {
		t.Error(`"foo{}{bar}" hashed "bar", want the whole key`)
	}
}

func TestSlotRange(t *testing.T) {
	for i := range 10000 {
		if s := Slot(strconv.Itoa(i)); s < 0 || s >= NumSlots {
			t.Fatalf("Slot(%d) = %d out of range", i, s)
		}
	}
}

func TestSlotAllocs(t *testing.T) {
	key := "{user1000}.following"
	b := []byte(key)
	if n := testing.AllocsPerRun(100, func() { _ = Slot(key); _ = SlotBytes(b) }); n != 0 {
		t.Fatalf("Slot allocates %v times per call", n)
	}
}

func BenchmarkSlot(b *testing.B) {
	for _, key := range []string{"foo", "{user1000}.following", "user:0123456789:profile:settings:with:a:longer:key"} {
		b.Run(strconv.Itoa(len(key)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(key)))
			for b.Loop() {
				_ = Slot(key)
			}
		})
	}
}
