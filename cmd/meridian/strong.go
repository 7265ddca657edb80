package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meridiankv/meridian/client"
)

// The options of strong keys' writes (meridiand --strong): a condition,
// an expiry, a request id.

// writeOpts returns the client options of the write flags given: at most
// one condition, --px and --request-id.
func (e *env) writeOpts() ([]client.CallOption, error) {
	o := e.opts
	if len(o.conds) > 1 {
		names := make([]string, len(o.conds))
		for i, c := range o.conds {
			names[i] = c.name
		}
		return nil, fmt.Errorf("%s given together: give one condition", strings.Join(names, " and "))
	}
	var opts []client.CallOption
	for _, c := range o.conds {
		opts = append(opts, c.opt)
	}
	if o.px > 0 {
		opts = append(opts, client.WithTTL(time.Duration(o.px)*time.Millisecond))
	}
	if o.requestID != "" {
		opts = append(opts, client.WithRequestID(o.requestID))
	}
	return opts, nil
}

// conditionFailed turns the error of a write whose condition did not hold
// into one that says what key holds; other errors pass.
func (e *env) conditionFailed(what, key string, err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) || !errors.Is(err, client.ErrConditionFailed) {
		return err
	}
	cond := "the condition"
	if len(e.opts.conds) == 1 {
		cond += " (" + e.opts.conds[0].name + ")"
	}
	if ce.Current == nil {
		return fmt.Errorf("%s: %s did not hold on %q", what, cond, key)
	}
	return fmt.Errorf("%s: %s did not hold: %q holds %s (%s)", what, cond, key, describe(ce.Current), strings.TrimPrefix(strongNote(ce.Current), "strong key, "))
}

// describe says what a strong key holds, in a few words.
func describe(v *client.Value) string {
	switch v.Type {
	case client.TypeRegister:
		return fmt.Sprintf("%q", v.Value)
	case client.TypeCounter:
		return fmt.Sprintf("the counter %d", v.Count)
	case client.TypeSet:
		return fmt.Sprintf("a set of %d members", len(v.Members))
	}
	return "nothing"
}

// strongNote says a strong key's version and expiry.
func strongNote(v *client.Value) string {
	s := fmt.Sprintf("strong key, version %d", v.Version)
	if v.Expires.IsZero() {
		return s
	}
	// The node decides expiries by its clock; the distance is by this one.
	at := v.Expires.Format(time.RFC3339Nano)
	if d := time.Until(v.Expires).Round(time.Millisecond); d < 0 {
		return s + fmt.Sprintf(", expires %s, %s ago by this machine's clock", at, -d)
	}
	return s + fmt.Sprintf(", expires %s, in %s", at, time.Until(v.Expires).Round(time.Millisecond))
}
