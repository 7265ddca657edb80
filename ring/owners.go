package ring

import "math/bits"

// bucketBits is the number of high bits of a key's position that choose the
// offsets of its probes: the ring is cut into 1<<bucketBits buckets of equal
// width, and all the positions of one bucket share their probe offsets.
// Changing it moves most keys.
const bucketBits = 16

// probeOffset returns how far clockwise probe j of a position in bucket b
// lies from the position: 0 for probe 0, the key's own position; for the
// others, the splitmix64 finalizer of (j, b), so that each bucket draws its
// own independent offsets.
func probeOffset(b uint64, j int) uint64 {
	if j == 0 {
		return 0
	}
	return mix64(uint64(j)<<32 | b)
}

// mix64 is the finalizer of splitmix64 (Steele, Lea and Flood, "Fast
// Splittable Pseudorandom Number Generators", 2014): a bijection of uint64
// that spreads every input bit over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Owners returns the nodes that hold key with n replicas: n distinct
// members, primary first, fewer if r has fewer members, none if n <= 0.
// With one probe they are the first n distinct nodes clockwise from the
// key's position; with several, the members with the shortest clockwise
// distance from one of the key's probes to one of their tokens (see the
// package documentation). The slice is the caller's.
func (r *Ring) Owners(key []byte, n int) []NodeID {
	n = min(n, len(r.members))
	if n <= 0 {
		return nil
	}
	return r.AppendOwners(make([]NodeID, 0, n), key, n)
}

// AppendOwners appends Owners(key, n) to dst and returns the extended slice.
// It allocates nothing when dst has room for them and n <= 16.
func (r *Ring) AppendOwners(dst []NodeID, key []byte, n int) []NodeID {
	n = min(n, len(r.members))
	if n <= 0 {
		return dst
	}
	var buf [16]candidate
	for _, c := range r.rank(r.cfg.KeyHash(key), n, buf[:0]) {
		dst = append(dst, r.members[c.member].ID)
	}
	return dst
}

// candidate is a member and the clockwise distance from the nearest probe
// to its nearest token.
type candidate struct {
	dist   uint64
	member int32
}

// before orders candidates by distance, then by node ID: the order of
// tokens that share a position.
func (c candidate) before(o candidate) bool {
	return c.dist < o.dist || c.dist == o.dist && c.member < o.member
}

// rank returns, in best (reused), the n members nearest to position p, best
// first, where a member's distance is the smallest clockwise distance from
// one of the probes of p to one of its tokens. It needs
// 1 <= n <= len(r.members).
//
// Each probe walks clockwise from its successor token. Tokens come in
// increasing distance, so a walk stops at the first token farther than the
// n-th best member found so far: no later token can do better.
func (r *Ring) rank(p uint64, n int, best []candidate) []candidate {
	pos, owner := r.pos, r.owner // locals: the loops below are the hot path
	best = best[:0]
	b := p >> (64 - bucketBits)
	for j := range r.cfg.Probes {
		q := p + probeOffset(b, j)
		i := r.successor(q)
		for range len(pos) {
			c := candidate{dist: pos[i] - q, member: owner[i]}
			if len(best) == n && c.dist > best[n-1].dist {
				break
			}
			best = offer(best, c, n)
			if i++; i == len(pos) {
				i = 0
			}
		}
	}
	return best
}

// offer puts c into best, a list of at most n candidates of distinct members
// kept in order, if it ranks among the n best, and returns the list.
func offer(best []candidate, c candidate, n int) []candidate {
	// Where c would go, and whether its member is already in at or before it.
	k := len(best)
	for k > 0 && c.before(best[k-1]) {
		k--
	}
	for _, b := range best[:k] {
		if b.member == c.member {
			return best // already in, as near or nearer
		}
	}
	if k == n {
		return best
	}
	// Drop c's member from behind k if there, else the last if full; then
	// shift the tail down by one and put c in.
	end := len(best)
	for m := k; m < len(best); m++ {
		if best[m].member == c.member {
			end = m
			break
		}
	}
	if end == len(best) && len(best) < n {
		best = append(best, candidate{})
	} else if end == len(best) {
		end--
	}
	copy(best[k+1:end+1], best[k:end])
	best[k] = c
	return best
}

// buildIndex fills r.index, which cuts the ring into at least as many
// equal slots as there are tokens and records the first token of each, so
// that successor searches one slot, a token or two, instead of the ring.
func (r *Ring) buildIndex() {
	slotBits := bits.Len(uint(len(r.pos)))
	r.shift = uint(64 - slotBits)
	r.index = make([]int32, 1<<slotBits+1)
	i := 0
	for h := range r.index {
		for i < len(r.pos) && r.pos[i]>>r.shift < uint64(h) {
			i++
		}
		r.index[h] = int32(i)
	}
}

// successor returns the index of the first token at or clockwise after q.
// It needs a token.
func (r *Ring) successor(q uint64) int {
	pos, h := r.pos, q>>r.shift
	lo, hi := int(r.index[h]), int(r.index[h+1])
	for lo < hi { // binary search of the slot, which has a token or two
		mid := int(uint(lo+hi) >> 1)
		if pos[mid] < q {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(pos) {
		return 0
	}
	return lo
}
