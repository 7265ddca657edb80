package region

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/memberlist"
)

// The gossip key: memberlist encrypts and authenticates every gossip packet
// and stream (AES-GCM) with the cluster's key, so a node without it can
// neither join nor read the roster. The key file holds one or more keys,
// base64, one per line (blank lines and lines starting with # aside): the
// first encrypts, every one decrypts. Rotating a key without downtime takes
// three edits of the file on every node, each followed by a reload
// (SIGHUP to meridiand, Node.ReloadGossipKeys): add the new key after the
// old one; move it first; remove the old one.

// GossipKeyFile is the name of the key file in a node's TLS directory, where
// Config.GossipKeyFile points by default.
const GossipKeyFile = "gossip.key"

// gossipKeySize is the size of the keys NewGossipKey makes: AES-256.
const gossipKeySize = 32

// ErrGossipKey prefixes every problem with a gossip key file. Use errors.Is.
var ErrGossipKey = errors.New("region: gossip key")

// NewGossipKey returns a new random key, base64, as a key file holds it.
func NewGossipKey() (string, error) {
	var b [gossipKeySize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("%w: %w", ErrGossipKey, err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// WriteGossipKeyFile writes a key file holding one new key at path, readable
// by its owner only, unless a file is there already (a cluster keeps its
// key).
func WriteGossipKeyFile(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	k, err := NewGossipKey()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return fmt.Errorf("%w: writing %s: %w", ErrGossipKey, path, err)
	}
	return nil
}

// readGossipKeys reads a key file: its keys, the primary first.
func readGossipKeys(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: every node needs the cluster's key file (meridian dev writes one; `meridian gossip-key` prints a new key)", ErrGossipKey, err)
	}
	var keys [][]byte
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("%w: %s line %d is not base64: %w", ErrGossipKey, path, i+1, err)
		}
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("%w: %s line %d holds a %d-byte key: want 16, 24 or 32 bytes (AES), as `meridian gossip-key` makes", ErrGossipKey, path, i+1, n)
		}
		if slices.ContainsFunc(keys, func(o []byte) bool { return bytes.Equal(o, k) }) {
			return nil, fmt.Errorf("%w: %s line %d repeats a key", ErrGossipKey, path, i+1)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %s holds no key: put the cluster's key in it (`meridian gossip-key` prints a new one)", ErrGossipKey, path)
	}
	return keys, nil
}

// newKeyring returns memberlist's keyring for the keys of path.
func newKeyring(path string) (*memberlist.Keyring, error) {
	keys, err := readGossipKeys(path)
	if err != nil {
		return nil, err
	}
	kr, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrGossipKey, path, err)
	}
	return kr, nil
}

// installKeys makes kr hold exactly keys, keys[0] the primary, without a
// moment in which a key that stays is missing: the new keys are added
// first, then the primary switched, then the old ones removed.
func installKeys(kr *memberlist.Keyring, keys [][]byte) error {
	for _, k := range keys {
		if err := kr.AddKey(k); err != nil {
			return fmt.Errorf("%w: %w", ErrGossipKey, err)
		}
	}
	if err := kr.UseKey(keys[0]); err != nil {
		return fmt.Errorf("%w: %w", ErrGossipKey, err)
	}
	var drop [][]byte // collected first: GetKeys is the keyring's own slice
	for _, k := range kr.GetKeys() {
		if !slices.ContainsFunc(keys, func(w []byte) bool { return bytes.Equal(k, w) }) {
			drop = append(drop, bytes.Clone(k))
		}
	}
	for _, k := range drop {
		if err := kr.RemoveKey(k); err != nil {
			return fmt.Errorf("%w: %w", ErrGossipKey, err)
		}
	}
	return nil
}
