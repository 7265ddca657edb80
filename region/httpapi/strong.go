package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Strong keys (kvsync.Declaration) hold one value decided by consensus,
// with a version that counts its changes. A read answers the version as an
// ETag; a write can be conditional (If-Match, If-None-Match, ?ifeq=,
// ?ifne=), can lapse (?px=), and can carry a request id (Idempotency-Key)
// that the key remembers with its answer, so that a retry of it is
// answered again instead of applied twice. The endpoint does not know
// which keys are strong: it hands every condition to the Backend, which
// refuses them on an eventual key.

// IdempotencyKeyHeader names a write (wire.Op.ReqID): a strong key answers a
// retry of a write it remembers (its latest 16) as it answered it, without
// applying it again. Eventual keys ignore it.
const IdempotencyKeyHeader = "Idempotency-Key"

// MaxRequestID bounds the Idempotency-Key header, in bytes.
const MaxRequestID = 64

// withStrong sets op's request id, condition and expiry from the request's
// headers and query.
func withStrong(r *http.Request, op *wire.Op) error {
	if ids := r.Header.Values(IdempotencyKeyHeader); len(ids) > 0 {
		switch id := ids[0]; {
		case len(ids) > 1:
			return badRequest("%d %s headers: send one", len(ids), IdempotencyKeyHeader)
		case len(id) > MaxRequestID:
			return badRequest("%s of %d bytes: the limit is %d", IdempotencyKeyHeader, len(id), MaxRequestID)
		case id != "":
			op.ReqID = []byte(id)
		}
	}
	var conds []string
	if v, ok, err := oneHeader(r, "If-Match"); err != nil {
		return err
	} else if ok {
		conds = append(conds, "If-Match")
		if err := ifMatch(v, op); err != nil {
			return err
		}
	}
	if v, ok, err := oneHeader(r, "If-None-Match"); err != nil {
		return err
	} else if ok {
		conds = append(conds, "If-None-Match")
		if strings.TrimSpace(v) != "*" {
			return badRequest("bad If-None-Match header %q: only * is supported (write only if the key holds nothing)", v)
		}
		op.Cond = wire.CondNX
	}
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		cond wire.Cond
	}{{"ifeq", wire.CondIfEq}, {"ifne", wire.CondIfNe}} {
		if q.Has(p.name) {
			conds = append(conds, "?"+p.name)
			op.Cond, op.Expect = p.cond, []byte(q.Get(p.name))
		}
	}
	if len(conds) > 1 {
		return badRequest("conditions %s given together: give one", strings.Join(conds, " and "))
	}
	if q.Has("px") {
		ms, err := strconv.ParseInt(q.Get("px"), 10, 64)
		if err != nil || ms <= 0 {
			return badRequest("bad px parameter %q: want a positive whole number of milliseconds", q.Get("px"))
		}
		op.TTL = ms
	}
	return nil
}

// oneHeader returns the value of header name, if the request has it, and
// refuses it given twice.
func oneHeader(r *http.Request, name string) (string, bool, error) {
	vs := r.Header.Values(name)
	switch {
	case len(vs) == 0:
		return "", false, nil
	case len(vs) > 1:
		return "", false, badRequest("%d %s headers: send one", len(vs), name)
	}
	return vs[0], true, nil
}

// ifMatch sets op's condition from an If-Match header: * (the key holds
// something) or one ETag a read returned (its version).
func ifMatch(v string, op *wire.Op) error {
	v = strings.TrimSpace(v)
	if v == "*" {
		op.Cond = wire.CondXX
		return nil
	}
	n, err := parseETag(v)
	if err != nil {
		return badRequest("bad If-Match header %q: %v", v, err)
	}
	op.Cond, op.Version = wire.CondVersion, n
	return nil
}

// parseETag parses one version ETag, "7" (or 7).
func parseETag(v string) (uint64, error) {
	if strings.HasPrefix(v, "W/") {
		return 0, errWeakETag
	}
	unquoted := strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
	n, err := strconv.ParseUint(unquoted, 10, 64)
	if err != nil || strings.Contains(v, ",") {
		return 0, errBadETag
	}
	return n, nil
}

var (
	errWeakETag = errors.New(`a weak ETag never matches: send the ETag a read returned, such as "7"`)
	errBadETag  = errors.New(`want one ETag a read of a strong key returned, such as "7", or *`)
)

// etag returns the ETag of a strong key's version.
func etag(version uint64) string { return `"` + strconv.FormatUint(version, 10) + `"` }

// renderStrong returns what a client sees of v, the value of strong key
// key.
func renderStrong(key string, v *wire.Strong) valueBody {
	version := v.Version
	b := valueBody{Key: key, Strong: true, Version: &version}
	switch v.Kind {
	case wire.StrongString:
		s, enc := text(v.Bytes)
		b.Type, b.Value, b.Encoding, b.Siblings = crdt.KindRegister.String(), &s, enc, 1
	case wire.StrongCounter:
		n := v.Int
		b.Type, b.Count = crdt.KindCounter.String(), &n
	case wire.StrongSet:
		members := make([]string, len(v.Members))
		for i, m := range v.Members {
			members[i] = string(m)
		}
		b.Type = crdt.KindSet.String()
		b.Members, b.Encoding = texts(members)
	default:
		b.Type = crdt.KindNone.String()
	}
	if v.Expires != 0 {
		b.Expires = time.Unix(0, v.Expires).UTC().Format(time.RFC3339Nano)
	}
	return b
}

// strongHeader sets the ETag of the strong key a response carries, if
// any, and returns its version for the body.
func strongHeader(w http.ResponseWriter, resp kvsync.Response) *uint64 {
	if resp.Strong == nil {
		return nil
	}
	w.Header().Set("ETag", etag(resp.Strong.Version))
	v := resp.Strong.Version
	return &v
}

// counterValue returns the value an increment answered: a strong key's
// (resp.Changed, also when the answer came from the key's request-id
// memory and carries neither value nor state), or the counter's state.
func counterValue(resp kvsync.Response) (int64, error) {
	if resp.Strong != nil || resp.State.Kind() == crdt.KindNone {
		return resp.Changed, nil
	}
	return resp.State.Value()
}

// conditionFailed returns the 412 answer of a write whose condition did
// not hold, with the key's version and value when the Backend sent them.
func conditionFailed(key []byte, resp kvsync.Response) *apiError {
	e := &apiError{status: http.StatusPreconditionFailed, code: codeConditionFailed, message: resp.Err.Error()}
	if resp.Strong != nil {
		cur := renderStrong(string(key), resp.Strong)
		e.current, e.etag = &cur, etag(resp.Strong.Version)
	}
	return e
}
