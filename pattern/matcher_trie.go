package pattern

// A trie is a byte trie of the strings (prefixes, or reversed suffixes) of
// one path's conditions; the nodes where a string ends carry its refs.
//
// It is laid out for walking with few cache misses: the children of the
// root sit in a direct table, every other edge in one open-addressing hash
// table keyed by (parent, byte), and a bitset says which nodes carry refs,
// so a step costs one probe and a bit test. Nodes are never freed: a string
// deleted and added again reuses its nodes.
type trie struct {
	root  *[256]int32 // child of the root by byte; 0 = none
	slots []trieSlot  // edges below the root; len is a power of two
	used  int
	nodes int32    // node count; node 0 is the root
	has   []uint64 // bit n: node n carries refs
	// The refs of node n are lists[at[n]-1]; at is read only for nodes
	// whose has bit is set, and freed lists are reused.
	at        []int32
	lists     [][]ref
	freeLists []int32
	size      int // number of refs in the trie
}

type trieSlot struct {
	key   uint64 // parent<<8 | byte, plus one; 0 = empty
	child int32
}

func (t *trie) hash(key uint64) uint64 {
	return (key * 0x9e3779b97f4a7c15) >> 32
}

// child returns the child of node n by byte c, or 0.
func (t *trie) child(n int32, c byte) int32 {
	if n == 0 {
		return t.root[c]
	}
	if len(t.slots) == 0 {
		return 0
	}
	key := uint64(n)<<8 | uint64(c) + 1
	mask := uint64(len(t.slots) - 1)
	for h := t.hash(key) & mask; ; h = (h + 1) & mask {
		sl := &t.slots[h]
		if sl.key == key {
			return sl.child
		}
		if sl.key == 0 {
			return 0
		}
	}
}

// hasRefs reports whether node n has refs (its has bit).
func (t *trie) hasRefs(n int32) bool { return t.has[n>>6]&(1<<(n&63)) != 0 }

// refsOf returns the refs of node n, which has its has bit set.
func (t *trie) refsOf(n int32) []ref { return t.lists[t.at[n]-1] }

func (t *trie) addChild(n int32, c byte) int32 {
	t.nodes++
	id := t.nodes
	if int(id>>6) >= len(t.has) {
		t.has = append(t.has, 0)
	}
	t.at = append(t.at, 0) // len(t.at) == id+1
	if n == 0 {
		t.root[c] = id
		return id
	}
	if (t.used+1)*4 > len(t.slots)*3 {
		t.growSlots()
	}
	t.put(uint64(n)<<8|uint64(c)+1, id)
	t.used++
	return id
}

func (t *trie) put(key uint64, child int32) {
	mask := uint64(len(t.slots) - 1)
	h := t.hash(key) & mask
	for t.slots[h].key != 0 {
		h = (h + 1) & mask
	}
	t.slots[h] = trieSlot{key: key, child: child}
}

func (t *trie) growSlots() {
	old := t.slots
	n := 2 * len(old)
	if n == 0 {
		n = 16
	}
	t.slots = make([]trieSlot, n)
	for _, sl := range old {
		if sl.key != 0 {
			t.put(sl.key, sl.child)
		}
	}
}

func (t *trie) add(s string, r ref) {
	if t.root == nil {
		t.root = new([256]int32)
		t.has = []uint64{0}
		t.at = []int32{0}
	}
	n := int32(0)
	for i := 0; i < len(s); i++ {
		nx := t.child(n, s[i])
		if nx == 0 {
			nx = t.addChild(n, s[i])
		}
		n = nx
	}
	if t.at[n] == 0 {
		if k := len(t.freeLists); k > 0 {
			t.at[n] = t.freeLists[k-1] + 1
			t.freeLists = t.freeLists[:k-1]
		} else {
			t.lists = append(t.lists, nil)
			t.at[n] = int32(len(t.lists))
		}
	}
	l := &t.lists[t.at[n]-1]
	*l = append(*l, r)
	t.has[n>>6] |= 1 << (n & 63)
	t.size++
}

// remove drops the ref of field r.f at s.
func (t *trie) remove(s string, r ref) {
	if t.root == nil {
		return
	}
	n := int32(0)
	for i := 0; i < len(s); i++ {
		if n = t.child(n, s[i]); n == 0 {
			return
		}
	}
	if t.at[n] == 0 {
		return
	}
	li := t.at[n] - 1
	if !removeRef(&t.lists[li], r) {
		return
	}
	t.size--
	if len(t.lists[li]) == 0 {
		t.lists[li] = nil
		t.freeLists = append(t.freeLists, li)
		t.at[n] = 0
		t.has[n>>6] &^= 1 << (n & 63)
	}
}

// walkTrie reports the refs of every string of t that v starts with (or,
// backwards, ends with).
func (s *scratch) walkTrie(t *trie, v []byte, backwards bool) {
	if t.hasRefs(0) {
		s.hits(t.refsOf(0))
	}
	n := int32(0)
	for i := range v {
		c := v[i]
		if backwards {
			c = v[len(v)-1-i]
		}
		if n = t.child(n, c); n == 0 {
			return
		}
		if t.hasRefs(n) {
			s.hits(t.refsOf(n))
		}
	}
}
