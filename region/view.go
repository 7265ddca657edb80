package region

import (
	"errors"

	"github.com/meridiankv/meridian/region/membership"
	kvsync "github.com/meridiankv/meridian/sync"
)

var _ membership.Replica = (*kvsync.Node)(nil)

// membershipConfig describes this node to its membership.Manager.
func (n *Node) membershipConfig() membership.Config {
	c := n.cfg
	return membership.Config{ID: c.ID, Region: c.Region, Incarnation: n.incarnation,
		Peer: c.PeerAddr, Gossip: c.GossipAddr, RESP: c.RESPAddr, HTTP: c.HTTPAddr,
		VNodes: c.VNodes, DeadTimeout: c.DeadTimeout, Logger: n.log, Strong: c.Strong.String()}
}

// refreshView runs the membership logic (membership.Manager.Refresh): it
// installs the view of the current roster in the state machine, moves this
// node's status along and removes members dead for too long. Then it
// stores the roster, answers a leave that completed, and publishes what
// Cluster reports. It runs in the loop.
func (n *Node) refreshView(now int64) {
	views := n.dir.Views(now)
	n.mgr.SetRemote(views)
	n.mgr.SetRegionsSettled(n.dir.Settled())
	res := n.mgr.Refresh(now, n.sm)
	remote := n.dir.Peers()
	n.peers = mergePeers(res.Peers, remote)
	n.noteRemoteAddrs(remote)
	n.local = res.Roster
	n.health = make(map[string]membership.Health, len(res.Members))
	for _, m := range res.Members {
		n.health[m.ID] = m.Health
	}
	if res.Refused != nil {
		n.logEvery("strong", "refused: "+res.Refused.Error())
	}
	if n.dir.Settled() {
		regions := 1 + len(views)
		for _, p := range n.cfg.Strong {
			if p.Scope == kvsync.ScopeGlobal && regions < kvsync.MinGlobalRegions {
				n.logEvery("strong-global", "strong prefix "+p.Prefix+" is declared global, and global keys need at least 3 regions: its operations are refused until the cluster has them (declare it local to one region instead)",
					"regions", regions)
			}
		}
	}
	switch {
	case res.Left:
		n.log.Info("left: every key handed off", "keys_pushed", n.sm.Stats().HandoffPushed)
		n.answerLeave(nil)
	case res.Rejoined:
		n.answerLeave(errors.New("region: the region removed this node while it was leaving, and it enters the region again as joining: ask it to leave again once it is active"))
	}
	n.persistRoster(res.Roster)
	n.publishCluster(now, res)
}

// answerLeave answers the leaves waiting for this node's handoff.
func (n *Node) answerLeave(err error) {
	for _, ch := range n.leaveWaiters {
		ch <- err
	}
	n.leaveWaiters = nil
}

// persistRoster stores the roster when it changed, so a restarted node
// knows its region (and every member that is down) at once.
func (n *Node) persistRoster(r membership.Roster) {
	enc := string(membership.EncodeRoster(r))
	if enc == n.rosterStored {
		return
	}
	if err := n.db.PutMeta("roster", []byte(enc)); err != nil {
		n.log.Error("could not store the roster", "err", err)
		return
	}
	n.rosterStored = enc
}

func (n *Node) loadRoster() (membership.Roster, error) {
	b, err := n.db.GetMeta("roster")
	if err != nil || b == nil {
		return membership.Roster{}, err
	}
	return membership.DecodeRoster(b)
}
