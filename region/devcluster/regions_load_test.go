package devcluster_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/meridiankv/meridian/client"
)

// regionsSeed seeds the multi-region tests' random choices (which region
// is cut off, which keys and operations the writers pick). The processes'
// timing is not replayed: a seed reproduces the choices, not the run.
var regionsSeed = flag.Uint64("regions-seed", 0, "seed of the multi-region process tests' choices (0: from the clock)")

func pickSeed() uint64 {
	if *regionsSeed != 0 {
		return *regionsSeed
	}
	return uint64(time.Now().UnixNano())
}

// sharedLoad has writers in every region apply register SETs, set adds
// (each member unique) and counter increments to one shared set of keys,
// at LOCAL_QUORUM through their own region's nodes, and records the
// outcome of every operation.
type sharedLoad struct {
	rc   *regionsCluster
	keys int // of each type
	mu   sync.Mutex
	// Values written to each register and members added to each set, by
	// outcome (acknowledged, or outcome unknown); certainly not applied
	// ones are left out.
	regs, sets map[string]map[string]regionsOutcome
	// Per counter, the sum of the acknowledged increments and of those
	// whose outcome is unknown.
	ctrAcked, ctrMaybe map[string]int64
	// Per region, how many operations ended each way.
	outcomes map[string]*[3]int64
	lastErr  map[string]string
	stop     chan struct{}
	stopped  sync.Once
	wg       sync.WaitGroup
}

func startSharedLoad(rc *regionsCluster, seed uint64, keys, writersPerRegion int) *sharedLoad {
	l := &sharedLoad{rc: rc, keys: keys, regs: map[string]map[string]regionsOutcome{}, sets: map[string]map[string]regionsOutcome{},
		ctrAcked: map[string]int64{}, ctrMaybe: map[string]int64{}, outcomes: map[string]*[3]int64{}, lastErr: map[string]string{},
		stop: make(chan struct{})}
	for i, r := range rc.regionNames() {
		l.outcomes[r] = &[3]int64{}
		for w := range writersPerRegion {
			l.wg.Add(1)
			go l.write(r, w, rand.New(rand.NewPCG(seed, uint64(i*100+w))))
		}
	}
	return l
}

// keyNames returns every key the load writes.
func (l *sharedLoad) keyNames() []string {
	var out []string
	for i := range l.keys {
		out = append(out, fmt.Sprintf("reg-%d", i), fmt.Sprintf("set-%d", i), fmt.Sprintf("ctr-%d", i))
	}
	return out
}

func (l *sharedLoad) write(r string, w int, rng *rand.Rand) {
	defer l.wg.Done()
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		default:
		}
		if err := l.op(r, w, i, rng); err != nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// pacedWrite is write at about rate operations a second.
func (l *sharedLoad) pacedWrite(r string, w int, rng *rand.Rand, rate int) {
	defer l.wg.Done()
	next := time.Now()
	for i := 0; ; i++ {
		next = next.Add(time.Second / time.Duration(max(rate, 1)))
		select {
		case <-l.stop:
			return
		case <-time.After(time.Until(next)):
		}
		_ = l.op(r, w, i, rng)
	}
}

// op applies writer w's i-th operation, through a random node of region
// r, and records its outcome.
func (l *sharedLoad) op(r string, w, i int, rng *rand.Rand) error {
	nodes := l.rc.region(r)
	c := l.rc.client(nodes[rng.IntN(len(nodes))], client.LocalQuorum)
	k := rng.IntN(l.keys)
	unique := fmt.Sprintf("%sw%d-%d", r, w, i)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var err error
	switch op := rng.IntN(3); op {
	case 0:
		key := fmt.Sprintf("reg-%d", k)
		_, err = c.Put(ctx, key, []byte(unique))
		l.record(r, err, func(o regionsOutcome) { note(l.regs, key, unique, o) })
	case 1:
		key := fmt.Sprintf("set-%d", k)
		_, err = c.SAdd(ctx, key, []string{unique})
		l.record(r, err, func(o regionsOutcome) { note(l.sets, key, unique, o) })
	case 2:
		key, by := fmt.Sprintf("ctr-%d", k), int64(1+rng.IntN(5))
		_, err = c.Incr(ctx, key, by)
		l.record(r, err, func(o regionsOutcome) {
			if o == opAcked {
				l.ctrAcked[key] += by
			} else {
				l.ctrMaybe[key] += by
			}
		})
	}
	return err
}

func note(m map[string]map[string]regionsOutcome, key, value string, o regionsOutcome) {
	if m[key] == nil {
		m[key] = map[string]regionsOutcome{}
	}
	m[key][value] = o
}

// record counts an operation's outcome in region r and, unless it was
// certainly not applied, remembers it with keep (under l.mu).
func (l *sharedLoad) record(r string, err error, keep func(regionsOutcome)) {
	o := outcomeOf(err)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcomes[r][o]++
	if err != nil {
		l.lastErr[r] = err.Error()
	}
	if o != opNotApplied {
		keep(o)
	}
}

// counts returns, per region, the operations acknowledged, certainly not
// applied and of unknown outcome so far.
func (l *sharedLoad) counts() map[string][3]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][3]int64{}
	for r, c := range l.outcomes {
		out[r] = *c
	}
	return out
}

// finish stops the writers and waits for them; it may be called again.
func (l *sharedLoad) finish() {
	l.stopped.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// check compares the converged state of every key (one replica's, all
// being identical) with what the writers did, and returns every problem.
func (l *sharedLoad) check(states map[string][]replicaState) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var bad []string
	for i := range l.keys {
		key := fmt.Sprintf("reg-%d", i)
		if w := l.regs[key]; len(w) > 0 {
			st := states[key][0].st
			if o, ok := w[string(st.Value)]; !ok {
				bad = append(bad, fmt.Sprintf("%s holds %q (%s), which no writer wrote", key, st.Value, st.Type))
			} else if o != opAcked {
				bad = append(bad, fmt.Sprintf("note: %s holds %q, a write whose outcome the writer did not know", key, st.Value))
			}
		}
		key = fmt.Sprintf("set-%d", i)
		held := map[string]bool{}
		for _, m := range states[key][0].st.Members {
			held[m] = true
		}
		for m, o := range l.sets[key] {
			if o == opAcked && !held[m] {
				bad = append(bad, fmt.Sprintf("LOST: %s lacks %q, an acknowledged add (every replica in every region agrees it is missing)", key, m))
			}
		}
		for m := range held {
			if _, ok := l.sets[key][m]; !ok {
				bad = append(bad, fmt.Sprintf("%s holds %q, which no writer added", key, m))
			}
		}
		key = fmt.Sprintf("ctr-%d", i)
		var got int64
		if c := states[key][0].st.Count; c != nil {
			got = *c
		}
		if lo, hi := l.ctrAcked[key], l.ctrAcked[key]+l.ctrMaybe[key]; got < lo || got > hi {
			bad = append(bad, fmt.Sprintf("%s is %d, want %d (the acknowledged increments) to %d (with those of unknown outcome)", key, got, lo, hi))
		}
	}
	return bad
}

// uniqueLoad has writers in every region write unique keys (registers) at
// LOCAL_QUORUM through their own region's nodes, each at most rate writes
// a second, and records, per region, every acknowledged write and every
// failure with its time.
type uniqueLoad struct {
	rc    *regionsCluster
	rate  int
	mu    sync.Mutex
	acked map[string]map[string]string // region -> key -> value
	ackAt map[string]ackInfo           // key -> when and through which node
	fails map[string][]loadFailure
	stops map[string]chan struct{}
	wgs   map[string]*sync.WaitGroup
}

type ackInfo struct {
	at   time.Time
	node string
}

type loadFailure struct {
	at   time.Time
	node string
	err  string
}

func startUniqueLoad(rc *regionsCluster, writersPerRegion, rate int) *uniqueLoad {
	l := &uniqueLoad{rc: rc, rate: rate, acked: map[string]map[string]string{}, ackAt: map[string]ackInfo{}, fails: map[string][]loadFailure{},
		stops: map[string]chan struct{}{}, wgs: map[string]*sync.WaitGroup{}}
	for _, r := range rc.regionNames() {
		l.acked[r] = map[string]string{}
		l.start(r, writersPerRegion, 0)
	}
	return l
}

// start starts region r's writers (again: round names their keys apart).
func (l *uniqueLoad) start(r string, writers, round int) {
	stop, wg := make(chan struct{}), &sync.WaitGroup{}
	l.mu.Lock()
	l.stops[r], l.wgs[r] = stop, wg
	l.mu.Unlock()
	nodes := l.rc.region(r)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Now()
			for i := 0; ; i++ {
				next = next.Add(time.Second / time.Duration(l.rate))
				select {
				case <-stop:
					return
				case <-time.After(time.Until(next)):
				}
				n := nodes[(w+i)%len(nodes)]
				key, value := fmt.Sprintf("%s-%d-w%d-%d", r, round, w, i), fmt.Sprintf("v%d", i)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := l.rc.client(n, client.LocalQuorum).Put(ctx, key, []byte(value))
				cancel()
				l.mu.Lock()
				if err != nil {
					l.fails[r] = append(l.fails[r], loadFailure{time.Now(), n.ID, err.Error()})
				} else {
					l.acked[r][key] = value
					l.ackAt[key] = ackInfo{time.Now(), n.ID}
				}
				l.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
}

// stopRegion stops region r's writers and waits for them.
func (l *uniqueLoad) stopRegion(r string) {
	l.mu.Lock()
	stop, wg := l.stops[r], l.wgs[r]
	l.stops[r] = nil
	l.mu.Unlock()
	if stop != nil {
		close(stop)
		wg.Wait()
	}
}

// snapshot returns a copy of region r's acknowledged writes so far.
func (l *uniqueLoad) snapshot(r string) map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.acked[r]))
	for k, v := range l.acked[r] {
		out[k] = v
	}
	return out
}

// newest returns, for each node of region r, the perNode keys it
// coordinated that were acknowledged last before t: the last ones its
// outbox ships.
func (l *uniqueLoad) newest(r string, t time.Time, perNode int) map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	byNode := map[string][]string{}
	for k := range l.acked[r] {
		if a := l.ackAt[k]; !a.at.After(t) {
			byNode[a.node] = append(byNode[a.node], k)
		}
	}
	out := map[string]string{}
	for _, keys := range byNode {
		slices.SortFunc(keys, func(a, b string) int { return l.ackAt[b].at.Compare(l.ackAt[a].at) })
		for _, k := range keys[:min(perNode, len(keys))] {
			out[k] = l.acked[r][k]
		}
	}
	return out
}

// failsBetween returns region r's failures from a to b.
func (l *uniqueLoad) failsBetween(r string, a, b time.Time) []loadFailure {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []loadFailure
	for _, f := range l.fails[r] {
		if !f.at.Before(a) && !f.at.After(b) {
			out = append(out, f)
		}
	}
	return out
}
