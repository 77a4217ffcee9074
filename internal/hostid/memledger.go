package hostid

import (
	"fmt"
	"sync"
	"time"
)

// MemLedger is the in-memory counterpart of Ledger, for machines that live
// in one process: the same Claim contract (real export times, Retention,
// ErrTooOld and ErrInFuture), with claims kept in one map per epoch so that
// forgetting old ones costs a map deletion, not a walk over every entry.
// The zero value is not usable; call NewMemLedger. A MemLedger is safe for
// concurrent use.
type MemLedger struct {
	now func() time.Time // real time; tests replace it

	mu     sync.Mutex
	floor  int64
	epochs map[int64]*memEpoch
}

// memEpoch holds one epoch's claims. IDs of up to 16 bytes (a packed
// context's nonce is 12) are kept as arrays, so claiming one does not
// allocate a string; longer ones as strings.
type memEpoch struct {
	short map[shortClaimID]struct{}
	long  map[string]struct{}
}

// shortClaimID is an ID of up to 16 bytes and its length, so that IDs
// differing only in trailing zeros stay apart.
type shortClaimID struct {
	n  uint8
	id [16]byte
}

// add records id and reports whether it was new.
func (e *memEpoch) add(id []byte) bool {
	if len(id) <= len(shortClaimID{}.id) {
		k := shortClaimID{n: uint8(len(id))}
		copy(k.id[:], id)
		if _, ok := e.short[k]; ok {
			return false
		}
		e.short[k] = struct{}{}
		return true
	}
	if _, ok := e.long[string(id)]; ok {
		return false
	}
	e.long[string(id)] = struct{}{}
	return true
}

// NewMemLedger returns an empty in-memory ledger.
func NewMemLedger() *MemLedger { return NewMemLedgerAt(time.Now) }

// NewMemLedgerAt returns an empty in-memory ledger that reads real time
// from now: time.Now, except in tests that replay blobs sealed at a fixed
// time.
func NewMemLedgerAt(now func() time.Time) *MemLedger {
	return &MemLedger{now: now, epochs: make(map[int64]*memEpoch)}
}

// Claim is Ledger.Claim for this process alone.
func (l *MemLedger) Claim(id []byte, exportedAt time.Time) (bool, error) {
	if len(id) == 0 || len(id) > MaxClaimID {
		return false, fmt.Errorf("hostid: claim ID of %d bytes, want 1..%d", len(id), MaxClaimID)
	}
	now := l.now()
	if err := checkExportTime(exportedAt, now); err != nil {
		return false, err
	}
	epoch := epochOf(exportedAt)
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := floorFor(now); f > l.floor {
		l.floor = f
		for e := range l.epochs {
			if e < f {
				delete(l.epochs, e)
			}
		}
	}
	if epoch < l.floor {
		return false, fmt.Errorf("%w: claims of contexts exported before %s are forgotten (the clock was set back)",
			ErrTooOld, epochStart(l.floor).Format(time.RFC3339))
	}
	m := l.epochs[epoch]
	if m == nil {
		m = &memEpoch{short: make(map[shortClaimID]struct{}), long: make(map[string]struct{})}
		l.epochs[epoch] = m
	}
	return m.add(id), nil
}

// Len returns the number of claims held, including those not yet
// forgotten although older than Retention.
func (l *MemLedger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.epochs {
		n += len(m.short) + len(m.long)
	}
	return n
}
