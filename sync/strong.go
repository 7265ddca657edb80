package sync

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Strong keys. A key is either eventual (a CRDT, the rest of this package)
// or strong: its value is decided by single-key consensus (CASPaxos,
// paxos.go and proposer.go), never merged. Which keys are strong is a
// Declaration of key prefixes, the same on every node of the cluster: a
// node checks that every acceptor it talks to declares the same (Digest),
// and the membership layer refuses a node whose declaration differs.
//
// Prefixes, rather than Redis's logical databases or a flag per key,
// because applications already name keys by prefix ("lock:", "acct:"), a
// prefix needs no client change and no per-key metadata, and one lookup
// decides a key's kind on every node alike. A key's kind and scope are
// fixed by the declaration, never chosen per operation: mixing the two on
// one key is how users of Cassandra's LWT lose updates.

// Scope says where a strong key's consensus runs.
type Scope uint8

// The scopes.
const (
	// ScopeLocal: the key's acceptors are its replicas in its home region.
	// It is fast there; other regions forward every operation to it, and
	// it is unavailable while its home region is cut off from the caller.
	ScopeLocal Scope = iota + 1
	// ScopeGlobal: the key's acceptors are its replicas in every region
	// (at least 3 regions): it survives the loss of a region, and every
	// decision costs a round trip between regions.
	ScopeGlobal
)

// String returns "local" or "global".
func (s Scope) String() string {
	switch s {
	case ScopeLocal:
		return "local"
	case ScopeGlobal:
		return "global"
	}
	return fmt.Sprintf("Scope(%d)", uint8(s))
}

// Level returns the level of the scope's operations: LOCAL_SERIAL or SERIAL.
func (s Scope) Level() Level {
	if s == ScopeGlobal {
		return Serial
	}
	return LocalSerial
}

// StrongPrefix declares strong every key that starts with Prefix.
type StrongPrefix struct {
	Prefix string
	Scope  Scope
	// Home is the region a ScopeLocal key's consensus runs in; empty for
	// ScopeGlobal.
	Home string
}

// String returns the prefix as ParseDeclaration reads it.
func (p StrongPrefix) String() string {
	if p.Scope == ScopeGlobal {
		return p.Prefix + "=global"
	}
	return p.Prefix + "=local:" + p.Home
}

// Declaration is the cluster's strong prefixes, sorted. The zero
// Declaration declares no key strong.
type Declaration []StrongPrefix

// DefaultHome is the home region of a local prefix declared without one:
// the name of the region of a node started without --region.
const DefaultHome = "local"

// MinGlobalRegions is how many regions a global strong key needs: with
// fewer, losing one region loses the majority of its acceptors.
const MinGlobalRegions = 3

// ParseDeclaration parses a comma-separated list of PREFIX[=local[:HOME]]
// and PREFIX=global, such as "lock:=local:eu,acct:=global". A prefix
// without a scope is local to DefaultHome. The empty string declares
// nothing.
func ParseDeclaration(s string) (Declaration, error) {
	var d Declaration
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		prefix, spec, _ := strings.Cut(item, "=")
		p := StrongPrefix{Prefix: prefix, Scope: ScopeLocal, Home: DefaultHome}
		scope, home, hasHome := strings.Cut(spec, ":")
		switch {
		case spec == "" || (scope == "local" && !hasHome):
		case scope == "local" && home != "":
			p.Home = home
		case spec == "global":
			p.Scope, p.Home = ScopeGlobal, ""
		default:
			return nil, fmt.Errorf("sync: strong prefix %q: the scope %q is neither local, local:REGION nor global", item, spec)
		}
		d = append(d, p)
	}
	slices.SortFunc(d, func(a, b StrongPrefix) int { return strings.Compare(a.Prefix, b.Prefix) })
	return d, d.Validate()
}

// Validate reports a prefix that is empty or holds a comma or '=', a home
// region that holds a '/', a scope that is neither, and two prefixes of
// which one starts the other (a key would belong to both).
func (d Declaration) Validate() error {
	var errs []string
	for i, p := range d {
		switch {
		case p.Prefix == "":
			errs = append(errs, "a strong prefix is empty (it would make every key strong)")
		case strings.ContainsAny(p.Prefix, ",="):
			errs = append(errs, fmt.Sprintf("strong prefix %q holds ',' or '='", p.Prefix))
		}
		switch {
		case p.Scope == ScopeLocal && (p.Home == "" || strings.Contains(p.Home, "/")):
			errs = append(errs, fmt.Sprintf("strong prefix %q: home region %q is empty or holds '/'", p.Prefix, p.Home))
		case p.Scope == ScopeGlobal && p.Home != "":
			errs = append(errs, fmt.Sprintf("strong prefix %q: a global prefix has no home region", p.Prefix))
		case p.Scope != ScopeLocal && p.Scope != ScopeGlobal:
			errs = append(errs, fmt.Sprintf("strong prefix %q: unknown scope %d", p.Prefix, p.Scope))
		}
		for _, q := range d[:i] {
			if strings.HasPrefix(p.Prefix, q.Prefix) || strings.HasPrefix(q.Prefix, p.Prefix) {
				errs = append(errs, fmt.Sprintf("strong prefixes %q and %q overlap: a key would belong to both", q.Prefix, p.Prefix))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("sync: %s", strings.Join(errs, "; "))
	}
	return nil
}

// String returns the declaration as ParseDeclaration reads it, canonical:
// two declarations are the same if and only if their strings are.
func (d Declaration) String() string {
	parts := make([]string, len(d))
	for i, p := range d {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// Digest returns a hash of the declaration, which consensus messages carry
// so that an acceptor refuses a proposer that declares otherwise.
func (d Declaration) Digest() uint64 { return xxhash.Sum64String("strong:" + d.String()) }

// Of returns the prefix that declares key strong, or false for an eventual
// key.
func (d Declaration) Of(key []byte) (StrongPrefix, bool) {
	for _, p := range d {
		if len(key) >= len(p.Prefix) && string(key[:len(p.Prefix)]) == p.Prefix {
			return p, true
		}
	}
	return StrongPrefix{}, false
}

// global reports whether d declares a global prefix.
func (d Declaration) global() bool {
	return slices.ContainsFunc(d, func(p StrongPrefix) bool { return p.Scope == ScopeGlobal })
}
