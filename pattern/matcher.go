package pattern

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
)

// A Matcher holds many patterns, each under a caller's id, compiled into one
// structure, and tells which of them an event matches.
//
// The structure is a tree of the field paths the patterns name. Matching
// walks the event's bytes once: at each object it looks each key up among
// the keys some pattern names below that point, skips the values of all
// other keys without decoding them, and hands each leaf value it does reach
// to the compiled conditions of its path (hash tables for exact values, byte
// tries for prefixes and suffixes, comparable keys for numbers, …). Each
// condition that holds marks its pattern field satisfied; a pattern branch
// matches when all its fields are. The cost of a match grows with the size of
// the event and the number of conditions that hold, not with the number of
// patterns.
//
// A Matcher is safe for concurrent use. Add parses outside any lock, then
// changes the structure in place under a write lock held for the few
// microseconds an insertion takes (longer, rarely, when a table doubles);
// Delete likewise. Match holds a read lock.
type Matcher struct {
	opts []Option

	mu   sync.RWMutex
	idx  index
	pool sync.Pool // *scratch
}

// New returns an empty Matcher. The options are those of Validate; Add uses them.
func New(opts ...Option) *Matcher {
	m := &Matcher{opts: opts}
	m.idx.init()
	return m
}

// Add parses pattern and adds it under id. An id that is already present has
// its pattern replaced. An invalid pattern leaves the Matcher unchanged and
// returns Parse's error.
func (m *Matcher) Add(id string, pattern []byte) error {
	p, err := parse(pattern, m.opts...)
	if err != nil {
		return err
	}
	m.addPattern(id, p)
	return nil
}

// addPattern adds an already parsed pattern under id, replacing any pattern
// that id had. The Matcher keeps p: the caller must not change it afterwards.
func (m *Matcher) addPattern(id string, p *patternTree) {
	m.mu.Lock()
	m.idx.remove(id)
	m.idx.insert(id, p)
	m.mu.Unlock()
}

// Delete removes the pattern with the given id, if there is one.
func (m *Matcher) Delete(id string) {
	m.mu.Lock()
	m.idx.remove(id)
	m.mu.Unlock()
}

// Len returns the number of patterns in the Matcher.
func (m *Matcher) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.idx.byID)
}

// Match returns the ids of the patterns that event matches, each once, in no
// particular order. The event must be a JSON object; anything else returns
// an error. Match decodes only the parts of the event that some pattern
// names; values under other keys are skipped by their bracket structure and
// not otherwise validated (CheckEvent validates a whole event).
func (m *Matcher) Match(event []byte) ([]string, error) {
	return m.AppendMatch(nil, event)
}

// AppendMatch is Match that appends the ids to dst and returns the extended
// slice. With a dst of enough capacity it does not allocate.
func (m *Matcher) AppendMatch(dst []string, event []byte) ([]string, error) {
	s, _ := m.pool.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
	m.mu.RLock()
	dst, err := s.match(&m.idx, dst, event)
	m.mu.RUnlock()
	m.pool.Put(s)
	return dst, err
}

// index is the compiled form of all the patterns of a Matcher.
type index struct {
	root  *pathNode
	nodes map[string]*pathNode // joined path → node
	byID  map[string]*entry

	ids     []string // pattern slot → id
	patFree []int32

	branches   []branchInfo
	branchFree []int32
	fields     []fieldInfo
	fieldFree  []int32
	// The per-event hot path reads these compact copies only.
	fhot []fieldHot // by field
	need []int32    // by branch: how many fields need a hit

	// always lists the branches that have no field needing a hit (only
	// exists:false fields, or no fields): they are checked on every event.
	always    []int32
	alwaysPos map[int32]int
}

// An entry is one pattern of the index.
type entry struct {
	slot     int32
	p        *patternTree
	branches []int32
}

type branchInfo struct {
	slot   int32   // pattern slot
	need   int32   // number of fields that need a hit
	fields []int32 // all its fields
	negs   []int32 // its fields that hold when their leaf is absent (exists:false)
	mem    bool    // some of its fields may share an array: check consistency
	live   bool
}

type fieldInfo struct {
	ref   ref
	node  *pathNode
	conds []cond
}

type fieldHot struct {
	branch int32
	neg    bool // the field has exists:false among its conditions
	mem    bool // record the array positions of this field's hits
}

// A pathNode is one path of the event that some pattern names, or a prefix
// of one.
type pathNode struct {
	path   string // joined with "."
	parent *pathNode
	// children maps keys to nodes below this one. Because AWS joins nested
	// keys with "." (an event key "a.b" reaches the same field as "a" then
	// "b"), it holds every descendant under its path relative to this node.
	children map[string]*pathNode
	// kids mirrors children while they are few, for a lookup that compares
	// lengths and first bytes instead of hashing.
	kids []kid
	uses int // fields at or below this node
	leaf *leaf
}

type kid struct {
	head uint64 // the first 8 bytes of key, zero-padded
	key  string
	node *pathNode
}

const maxKids = 8

// keyHead returns the first 8 bytes of k as a little-endian word, zero-padded.
func keyHead(k []byte) uint64 {
	if cap(k) >= 8 {
		w := binary.LittleEndian.Uint64(k[:8])
		if len(k) < 8 {
			w &= 1<<(8*len(k)) - 1
		}
		return w
	}
	var w uint64
	for i := len(k) - 1; i >= 0; i-- {
		w = w<<8 | uint64(k[i])
	}
	return w
}

// child returns the node that key k leads to from n, or nil.
func (n *pathNode) child(k []byte) *pathNode {
	if n.kids == nil {
		if len(n.children) == 0 {
			return nil
		}
		return n.children[string(k)]
	}
	h := keyHead(k)
	for i := range n.kids {
		e := &n.kids[i]
		if e.head == h && len(e.key) == len(k) && (len(k) <= 8 || e.key == string(k)) {
			return e.node
		}
	}
	return nil
}

// syncKids rebuilds kids after children changed.
func (n *pathNode) syncKids() {
	n.kids = n.kids[:0]
	if len(n.children) == 0 || len(n.children) > maxKids {
		n.kids = nil
		return
	}
	for k, c := range n.children {
		n.kids = append(n.kids, kid{head: keyHead([]byte(k)), key: k, node: c})
	}
}

func (x *index) init() {
	x.root = &pathNode{children: map[string]*pathNode{}}
	x.nodes = map[string]*pathNode{}
	x.byID = map[string]*entry{}
	x.alwaysPos = map[int32]int{}
}

func joinPath(p []string) string { return strings.Join(p, ".") }

// node returns the node of a joined path, creating it and its ancestors.
func (x *index) node(path string) *pathNode {
	if n := x.nodes[path]; n != nil {
		return n
	}
	parent := x.root
	if k := strings.LastIndexByte(path, '.'); k >= 0 {
		parent = x.node(path[:k])
	}
	n := &pathNode{path: path, parent: parent, children: map[string]*pathNode{}}
	x.nodes[path] = n
	for a := parent; a != nil; a = a.parent {
		rel := path
		if a != x.root {
			rel = path[len(a.path)+1:]
		}
		a.children[rel] = n
		a.syncKids()
	}
	return n
}

// unuse drops one use of n and its ancestors, unlinking nodes left unused.
func (x *index) unuse(n *pathNode) {
	for ; n != x.root; n = n.parent {
		n.uses--
		if n.uses > 0 {
			continue
		}
		delete(x.nodes, n.path)
		for a := n.parent; a != nil; a = a.parent {
			rel := n.path
			if a != x.root {
				rel = n.path[len(a.path)+1:]
			}
			if a.children[rel] == n {
				delete(a.children, rel)
				a.syncKids()
			}
		}
	}
	x.root.uses--
}

func (x *index) insert(id string, p *patternTree) {
	e := &entry{p: p}
	if n := len(x.patFree); n > 0 {
		e.slot = x.patFree[n-1]
		x.patFree = x.patFree[:n-1]
		x.ids[e.slot] = id
	} else {
		e.slot = int32(len(x.ids))
		x.ids = append(x.ids, id)
	}
	for _, br := range p.Branches {
		b := x.allocBranch()
		bi := branchInfo{slot: e.slot, live: true}
		firsts := make([]string, len(br))
		for k, fd := range br {
			f := x.allocField()
			path := joinPath(fd.Path)
			n := x.node(path)
			for a := n; a != nil; a = a.parent {
				a.uses++
			}
			if n.leaf == nil {
				n.leaf = new(leaf)
			}
			fi := fieldInfo{node: n, conds: fd.Conds, ref: ref{f: f, slot: -1}}
			fh := fieldHot{branch: b}
			for _, c := range fd.Conds {
				if c.Kind == kindExists && !c.Bool {
					fh.neg = true
				}
			}
			if len(br) == 1 && !fh.neg {
				fi.ref.slot = e.slot // this field alone decides the pattern
				fi.ref.id = id
			}
			for _, c := range fd.Conds {
				if c.Kind != kindExists || c.Bool {
					n.leaf.add(c, fi.ref)
				}
			}
			if fh.neg {
				n.leaf.negs = append(n.leaf.negs, f)
				bi.negs = append(bi.negs, f)
			} else {
				bi.need++
			}
			n.leaf.uses++
			x.fields[f] = fi
			x.fhot[f] = fh
			bi.fields = append(bi.fields, f)
			firsts[k], _, _ = strings.Cut(path, ".")
		}
		// Two fields can only meet in an array if their paths share a
		// first segment.
		for i := range firsts {
			for j := i + 1; j < len(firsts); j++ {
				if firsts[i] == firsts[j] {
					x.fhot[bi.fields[i]].mem = true
					x.fhot[bi.fields[j]].mem = true
					bi.mem = true
				}
			}
		}
		x.branches[b] = bi
		x.need[b] = bi.need
		if bi.need == 0 {
			x.alwaysPos[b] = len(x.always)
			x.always = append(x.always, b)
		}
		e.branches = append(e.branches, b)
	}
	x.byID[id] = e
}

func (x *index) remove(id string) {
	e := x.byID[id]
	if e == nil {
		return
	}
	delete(x.byID, id)
	for _, b := range e.branches {
		bi := &x.branches[b]
		for _, f := range bi.fields {
			fi := &x.fields[f]
			n := fi.node
			for _, c := range fi.conds {
				if c.Kind != kindExists || c.Bool {
					n.leaf.remove(c, fi.ref)
				}
			}
			if x.fhot[f].neg {
				removeField(&n.leaf.negs, f)
			}
			n.leaf.uses--
			if n.leaf.uses == 0 {
				n.leaf = nil
			}
			x.unuse(n)
			*fi = fieldInfo{}
			x.fhot[f] = fieldHot{}
			x.fieldFree = append(x.fieldFree, f)
		}
		if bi.need == 0 {
			k := x.alwaysPos[b]
			last := x.always[len(x.always)-1]
			x.always[k] = last
			x.alwaysPos[last] = k
			x.always = x.always[:len(x.always)-1]
			delete(x.alwaysPos, b)
		}
		*bi = branchInfo{}
		x.branchFree = append(x.branchFree, b)
	}
	x.ids[e.slot] = ""
	x.patFree = append(x.patFree, e.slot)
}

func (x *index) allocBranch() int32 {
	if n := len(x.branchFree); n > 0 {
		b := x.branchFree[n-1]
		x.branchFree = x.branchFree[:n-1]
		return b
	}
	x.branches = append(x.branches, branchInfo{})
	x.need = append(x.need, 0)
	return int32(len(x.branches) - 1)
}

func (x *index) allocField() int32 {
	if n := len(x.fieldFree); n > 0 {
		f := x.fieldFree[n-1]
		x.fieldFree = x.fieldFree[:n-1]
		return f
	}
	x.fields = append(x.fields, fieldInfo{})
	x.fhot = append(x.fhot, fieldHot{})
	return int32(len(x.fields) - 1)
}

// String describes the index size, for debugging.
func (x *index) String() string {
	return fmt.Sprintf("%d patterns, %d branches, %d fields, %d paths", len(x.byID), len(x.branches)-len(x.branchFree), len(x.fields)-len(x.fieldFree), len(x.nodes))
}
