package devcluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/meridiankv/meridian/client"
	"github.com/meridiankv/meridian/region/devcluster"
)

// What the replicas hold: every replica of a key in every region compared
// through /v1/inspect, and acknowledged writes looked for on every replica
// of a region.

// replicaState is one replica's state of a key, in one region.
type replicaState struct {
	region, node string
	st           client.ReplicaState
}

// canon renders what a replica holds, every field that must agree.
func (r replicaState) canon() string {
	count := "-"
	if r.st.Count != nil {
		count = fmt.Sprint(*r.st.Count)
	}
	members := slices.Sorted(slices.Values(r.st.Members))
	return fmt.Sprintf("%s value=%q siblings=%v members=%v count=%s causality=%s",
		r.st.Type, r.st.Value, r.st.Siblings, members, count, r.st.Causality)
}

// replicas inspects key through one node of each region (the first that
// answers) and returns the state of every replica in every region, or why
// some replica did not answer.
func (rc *regionsCluster) replicas(ctx context.Context, key string) ([]replicaState, error) {
	var out []replicaState
	for _, r := range rc.regionNames() {
		var in *client.Inspection
		var err error
		for _, n := range rc.region(r) {
			ictx, cancel := context.WithTimeout(ctx, 3*time.Second)
			in, err = rc.client(n, client.LocalQuorum).Inspect(ictx, key)
			cancel()
			if err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("inspecting %s in %s: %w", key, r, err)
		}
		if len(in.Replicas) != rc.perRegion {
			return nil, fmt.Errorf("%s in %s: %d of %d replicas answered", key, r, len(in.Replicas), rc.perRegion)
		}
		for _, rep := range in.Replicas {
			if rep.Err != "" || rep.State == nil {
				return nil, fmt.Errorf("%s on %s (%s): %s", key, rep.Node, r, rep.Err)
			}
			out = append(out, replicaState{region: r, node: rep.Node, st: *rep.State})
		}
	}
	return out, nil
}

// identical returns the replicas' common state, or says how two of them
// differ.
func identical(key string, reps []replicaState) (string, error) {
	if len(reps) == 0 {
		return "", errors.New("no replica")
	}
	first := reps[0].canon()
	for _, r := range reps[1:] {
		if c := r.canon(); c != first {
			return "", fmt.Errorf("%s differs: %s/%s holds %s; %s/%s holds %s", key, reps[0].region, reps[0].node, first, r.region, r.node, c)
		}
	}
	return first, nil
}

// allIdentical checks keys, 8 at a time, and returns the replicas of each
// when every replica of every key agrees in every region, or the first
// difference found.
func (rc *regionsCluster) allIdentical(ctx context.Context, keys []string) (map[string][]replicaState, error) {
	var mu sync.Mutex
	out := map[string][]replicaState{}
	var first error
	ch := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range ch {
				reps, err := rc.replicas(ctx, key)
				if err == nil {
					_, err = identical(key, reps)
				}
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				out[key] = reps
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		ch <- k
	}
	close(ch)
	wg.Wait()
	return out, first
}

func merged(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// waitVisible reads every key of want at LOCAL_ONE on each of nodes (each
// node a replica of every key) until each node holds want's value, in
// passes over the keys not seen yet 100ms apart, and returns how long it
// took and how many passes; when limit passes first it returns the keys
// some node still lacks, sorted.
func (rc *regionsCluster) waitVisible(nodes []devcluster.Node, want map[string]string, limit time.Duration) (time.Duration, int, []string) {
	start := time.Now()
	type item struct{ node, key string }
	pending := map[item]bool{}
	for _, n := range nodes {
		for k := range want {
			pending[item{n.HTTP, k}] = true
		}
	}
	for passes := 1; ; passes++ {
		var mu sync.Mutex
		ch := make(chan item)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for it := range ch {
					ctx, cancel := context.WithTimeout(rc.t.Context(), 2*time.Second)
					v, err := client.New(it.node, client.WithHTTPClient(rc.hc)).Get(ctx, it.key, client.WithConsistency(client.LocalOne))
					cancel()
					if err == nil && string(v.Value) == want[it.key] {
						mu.Lock()
						delete(pending, it)
						mu.Unlock()
					}
				}
			}()
		}
		var items []item
		for it := range pending {
			items = append(items, it)
		}
		for _, it := range items {
			ch <- it
		}
		close(ch)
		wg.Wait()
		if len(pending) == 0 {
			return time.Since(start), passes, nil
		}
		if time.Since(start) > limit {
			seen := map[string]bool{}
			var keys []string
			for it := range pending {
				if !seen[it.key] {
					seen[it.key] = true
					keys = append(keys, it.key)
				}
			}
			slices.Sort(keys)
			return time.Since(start), passes, keys
		}
		time.Sleep(100 * time.Millisecond)
	}
}
