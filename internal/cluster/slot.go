package cluster

// NumSlots is the number of hash slots of a Redis Cluster: every key maps to
// one slot in [0, NumSlots).
const NumSlots = 16384

// crc16Table is the byte-wise table of CRC16/XMODEM (polynomial 0x1021,
// initial value 0, no reflection), the CRC the cluster specification uses.
// It is computed once and never written again.
var crc16Table = makeCRC16Table()

func makeCRC16Table() (table [256]uint16) {
	for i := range table {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		table[i] = crc
	}
	return table
}

// crc16 returns the CRC16/XMODEM of b ("123456789" gives 0x31C3).
func crc16[T ~string | ~[]byte](b T) uint16 {
	var crc uint16
	for i := 0; i < len(b); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^b[i]]
	}
	return crc
}

// hashTag returns the part of key that is hashed: the text between the
// first '{' and the first '}' after it when that text is not empty, else
// the whole key. So "{user1000}.following" hashes "user1000", "foo{}{bar}"
// hashes the whole key and "foo{{bar}}zap" hashes "{bar".
func hashTag[T ~string | ~[]byte](key T) T {
	for open := 0; open < len(key); open++ {
		if key[open] != '{' {
			continue
		}
		for end := open + 1; end < len(key); end++ {
			if key[end] == '}' {
				if end == open+1 {
					return key // "{}": the whole key
				}
				return key[open+1 : end]
			}
		}
		return key // '{' without a '}' after it
	}
	return key
}

// Slot returns the hash slot of key, in [0, NumSlots), as CLUSTER KEYSLOT
// does: the CRC16 of the key's hash tag (or of the whole key when it has
// none) modulo 16384. It does not allocate.
func Slot(key string) int {
	return int(crc16(hashTag(key)) & (NumSlots - 1))
}

// SlotBytes is Slot for a key held in a byte slice. It does not allocate
// and does not keep key.
func SlotBytes(key []byte) int {
	return int(crc16(hashTag(key)) & (NumSlots - 1))
}
