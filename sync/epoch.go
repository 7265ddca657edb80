package sync

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/meridiankv/meridian/crdt"
)

// epochBlock is how many epochs a node reserves at once: a new epoch costs
// a sync only once per block.
const epochBlock = 64

// ActorOf returns the actor under which a node whose Config.Actor is base
// mints in epoch: base, a dot, and the epoch in base 36.
func ActorOf(base crdt.NodeID, epoch uint64) crdt.NodeID {
	return base + "." + crdt.NodeID(strconv.FormatUint(epoch, 36))
}

// startEpoch picks the epoch this run of the node mints under: the one it
// stopped cleanly under, else the first epoch never reserved, reserving a
// block above it. Either way the record is saved durably first, so that a
// crash of this run makes the next one take a new epoch.
func (n *core) startEpoch() error {
	e, err := n.store.Epochs()
	if err != nil {
		return fmt.Errorf("sync: reading the epochs record: %w", err)
	}
	if e.Clean != 0 && e.Clean < e.Reserved {
		n.actorEpoch = e.Clean
	} else {
		n.actorEpoch = max(e.Reserved, 1)
		e.Reserved = n.actorEpoch + epochBlock
	}
	e.Clean = 0
	if err := n.store.SaveEpochs(e); err != nil {
		return fmt.Errorf("sync: recording the epochs record: %w", err)
	}
	n.epochs = e
	n.actor = ActorOf(n.cfg.actor(), n.actorEpoch)
	return nil
}

// bumpEpoch moves to a new epoch, so that no dot minted from now on can
// equal one minted before. Within the reserved block it is free; past it,
// the next block is reserved durably, and until that succeeds the node
// mints nothing (see mintable).
func (n *core) bumpEpoch() {
	n.actorEpoch++
	n.actor = ActorOf(n.cfg.actor(), n.actorEpoch)
	n.stats.EpochBumps++
	n.reserveEpochs()
}

func (n *core) reserveEpochs() {
	if n.actorEpoch < n.epochs.Reserved {
		return
	}
	e := Epochs{Reserved: n.actorEpoch + epochBlock}
	if err := n.store.SaveEpochs(e); err != nil {
		n.epochErr = err
		return
	}
	n.epochs, n.epochErr = e, nil
}

// mintable returns an error when the current epoch is not durably
// reserved, trying the reservation again first.
func (n *core) mintable() error {
	if n.actorEpoch >= n.epochs.Reserved {
		n.reserveEpochs()
	}
	if n.epochErr != nil {
		return fmt.Errorf("sync: node %s cannot record its actor's epoch durably, so it mints nothing: %w", n.cfg.ID, n.epochErr)
	}
	return nil
}

// left reports whether this node is no longer a member of its region's
// view (it left, or was removed): it mints nothing more.
func (n *core) left() bool {
	return n.view.Placement != nil && len(n.view.Members) > 0 && !slices.Contains(n.view.Members, n.cfg.ID)
}

// Actor returns the actor the node mints its dots under now.
func (n *Node) Actor() crdt.NodeID { return n.actor }

// Close records that the node stopped cleanly: everything it committed is
// synced, so its next start may carry on under the same epoch instead of
// giving every key it writes another actor. Call it once, after the last
// Flush; the node must not be used afterwards.
func (n *Node) Close() error {
	if err := n.store.SaveEpochs(Epochs{Reserved: n.epochs.Reserved, Clean: n.actorEpoch}); err != nil {
		return fmt.Errorf("sync: recording a clean stop: %w", err)
	}
	return nil
}
