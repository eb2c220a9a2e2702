package pattern

import (
	"encoding/binary"
	"hash/maphash"
)

// A strTable maps strings to refs, laid out so that a lookup touches about
// two cache lines: a slot array of fingerprints and entry numbers (open
// addressing, linear probing), and the entry, which holds the first 16 bytes
// of its key and its first ref inline. It replaces a Go map on the matching
// path, where a map's control word, key header, key bytes and value slice
// are four cache misses once tables grow to thousands of strings.
type strTable struct {
	slots []uint64 // 0 empty, tomb deleted, else fingerprint<<32 | entry+1
	ents  []strEnt
	free  []int32 // free entries
	live  int     // entries in use
	used  int     // slots not empty (live and tombstones)
	seed  maphash.Seed
}

type strEnt struct {
	head [2]uint64 // the key's first 16 bytes, zero-padded
	key  string
	refs []ref
}

const tomb = ^uint64(0)

func (t *strTable) len() int { return t.live }

func keyWords(k []byte) (h [2]uint64) {
	var buf [16]byte
	copy(buf[:], k)
	h[0] = binary.LittleEndian.Uint64(buf[:8])
	h[1] = binary.LittleEndian.Uint64(buf[8:])
	return h
}

func (t *strTable) hash(k []byte) uint64 {
	return maphash.Bytes(t.seed, k)
}

// find returns the slot holding k and its entry, or -1.
func (t *strTable) find(k []byte, h uint64) (int, int32) {
	if len(t.slots) == 0 {
		return -1, -1
	}
	mask := uint64(len(t.slots) - 1)
	fp := h >> 32
	var head [2]uint64
	short := len(k) <= 16
	if short {
		head = keyWords(k)
	}
	for i := h & mask; ; i = (i + 1) & mask {
		sl := t.slots[i]
		if sl == 0 {
			return -1, -1
		}
		if sl != tomb && sl>>32 == fp {
			e := int32(sl&0xffffffff) - 1
			ent := &t.ents[e]
			if len(ent.key) == len(k) && (short && ent.head == head || !short && ent.key == string(k)) {
				return int(i), e
			}
		}
	}
}

// get returns the refs of k.
func (t *strTable) get(k []byte) []ref {
	if t.live == 0 {
		return nil
	}
	if _, e := t.find(k, t.hash(k)); e >= 0 {
		return t.ents[e].refs
	}
	return nil
}

func (t *strTable) add(k string, r ref) {
	if len(t.slots) == 0 {
		t.seed = maphash.MakeSeed()
	}
	h := t.hash([]byte(k))
	if _, e := t.find([]byte(k), h); e >= 0 {
		t.ents[e].refs = append(t.ents[e].refs, r)
		return
	}
	if (t.used+1)*4 > len(t.slots)*3 {
		t.rehash()
	}
	var e int32
	if n := len(t.free); n > 0 {
		e = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		e = int32(len(t.ents))
		t.ents = append(t.ents, strEnt{})
	}
	t.ents[e] = strEnt{head: keyWords([]byte(k)), key: k, refs: []ref{r}}
	t.put(h, e)
	t.live++
	t.used++
}

func (t *strTable) put(h uint64, e int32) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = h>>32<<32 | uint64(e+1)
}

// rehash makes room: it drops tombstones and doubles the slots if the live
// entries need it.
func (t *strTable) rehash() {
	n := 16
	for (t.live+1)*2 > n {
		n *= 2
	}
	t.slots = make([]uint64, n)
	t.used = 0
	for e := range t.ents {
		if t.ents[e].refs != nil {
			t.put(t.hash([]byte(t.ents[e].key)), int32(e))
			t.used++
		}
	}
}

// remove drops the ref of field r.f under k.
func (t *strTable) remove(k string, r ref) {
	i, e := t.find([]byte(k), t.hash([]byte(k)))
	if e < 0 {
		return
	}
	ent := &t.ents[e]
	removeRef(&ent.refs, r)
	if len(ent.refs) > 0 {
		return
	}
	*ent = strEnt{}
	t.free = append(t.free, e)
	t.slots[i] = tomb
	t.live--
}
