package hostid

import (
	"fmt"
	"math/bits"
	"reflect"
	"sync"
	"time"
)

// MemLedger is the in-memory counterpart of Ledger, for machines that live
// in one process: the same Claim contract (real export times, Retention,
// ErrTooOld and ErrInFuture), with claims kept per epoch so that
// forgetting old ones costs a map deletion, not a walk over every entry:
// byte IDs in maps, sequence numbers (ClaimSequenceAt) as bits.
// The zero value is not usable; call NewMemLedger. A MemLedger is safe for
// concurrent use.
type MemLedger struct {
	now func() time.Time // real time; tests replace it
	// timeNow says now is time.Now, so ClaimAt may take a reading its
	// caller has just made instead of reading the clock again.
	timeNow bool

	mu     sync.Mutex
	floor  int64
	epochs map[int64]*memEpoch
}

// memEpoch holds one epoch's claims. IDs of up to 16 bytes are kept as
// arrays, so claiming one does not allocate a string; longer ones as
// strings. IDs of exactly nonceLen bytes, a packed context's nonce and so
// nearly every claim, have a map of their own whose keys are just the
// bytes: a smaller key is a smaller table, and at a claim per import the
// table outgrows the caches, so its size is what a claim costs.
type memEpoch struct {
	nonces map[[nonceLen]byte]struct{}
	short  map[shortClaimID]struct{}
	long   map[string]struct{}
	// seq holds the claims of ClaimSequenceAt as bits, seqChunk numbers
	// to a chunk, keyed by the number's chunk index.
	seq map[uint64]*seqBits
}

// seqChunk is how many sequence numbers one chunk of bits covers: 512
// bytes, so a ledger of a million sequential claims is 128 KiB where a
// set of a million random IDs is tens of MiB.
const seqChunk = 4096

type seqBits [seqChunk / 64]uint64

// addSeq records the sequence number n and reports whether it was new.
func (e *memEpoch) addSeq(n uint64) bool {
	if e.seq == nil {
		e.seq = make(map[uint64]*seqBits)
	}
	c := e.seq[n/seqChunk]
	if c == nil {
		c = new(seqBits)
		e.seq[n/seqChunk] = c
	}
	i, bit := (n%seqChunk)/64, uint64(1)<<(n%64)
	if c[i]&bit != 0 {
		return false
	}
	c[i] |= bit
	return true
}

// nonceLen is the length of a packed context's nonce
// (serialize.NonceSize), the ID claimed for it.
const nonceLen = 12

// shortClaimID is an ID of up to 16 bytes and its length, so that IDs
// differing only in trailing zeros stay apart.
type shortClaimID struct {
	n  uint8
	id [16]byte
}

// add records id and reports whether it was new. Each is one map
// operation, an insert that grows the map only for a new ID: a lookup
// first would walk the table twice, and the first walk misses the cache.
func (e *memEpoch) add(id []byte) bool {
	switch {
	case len(id) == nonceLen:
		n := len(e.nonces)
		e.nonces[[nonceLen]byte(id)] = struct{}{}
		return len(e.nonces) > n
	case len(id) <= len(shortClaimID{}.id):
		k := shortClaimID{n: uint8(len(id))}
		copy(k.id[:], id)
		n := len(e.short)
		e.short[k] = struct{}{}
		return len(e.short) > n
	}
	n := len(e.long)
	e.long[string(id)] = struct{}{}
	return len(e.long) > n
}

// NewMemLedger returns an empty in-memory ledger.
func NewMemLedger() *MemLedger { return NewMemLedgerAt(time.Now) }

// NewMemLedgerAt returns an empty in-memory ledger that reads real time
// from now: time.Now, except in tests that replay blobs sealed at a fixed
// time.
func NewMemLedgerAt(now func() time.Time) *MemLedger {
	return &MemLedger{now: now, timeNow: IsTimeNow(now), epochs: make(map[int64]*memEpoch)}
}

// IsTimeNow reports whether f is time.Now itself, so that a reading of
// time.Now made for another purpose is what f would return.
func IsTimeNow(f func() time.Time) bool {
	return f != nil && reflect.ValueOf(f).Pointer() == timeNowPC
}

var timeNowPC = reflect.ValueOf(time.Now).Pointer()

// Claim is Ledger.Claim for this process alone.
func (l *MemLedger) Claim(id []byte, exportedAt time.Time) (bool, error) {
	return l.ClaimAt(id, exportedAt, time.Time{})
}

// ClaimAt is Claim for a caller that has just read time.Now for another
// purpose: the ledger takes now as the real time if its clock is
// time.Now, and reads its own clock if not or if now is zero. Reading
// the clock costs about as much as a tenth of an import.
func (l *MemLedger) ClaimAt(id []byte, exportedAt, now time.Time) (bool, error) {
	if len(id) == 0 || len(id) > MaxClaimID {
		return false, fmt.Errorf("hostid: claim ID of %d bytes, want 1..%d", len(id), MaxClaimID)
	}
	m, err := l.lockEpoch(exportedAt, now)
	if err != nil {
		return false, err
	}
	defer l.mu.Unlock()
	return m.add(id), nil
}

// ClaimSequenceAt is ClaimAt for an ID that is a number from a counter
// that never repeats: the export sequence of a machine whose blobs carry
// it as their nonce. A set of random IDs outgrows the caches at a claim
// per import, and then every claim misses them; sequential numbers are
// kept as bits, 4096 to a chunk, and a claim touches the chunk the last
// one did. Sequence numbers are a space of their own, apart from the
// byte IDs of ClaimAt.
func (l *MemLedger) ClaimSequenceAt(n uint64, exportedAt, now time.Time) (bool, error) {
	m, err := l.lockEpoch(exportedAt, now)
	if err != nil {
		return false, err
	}
	defer l.mu.Unlock()
	return m.addSeq(n), nil
}

// lockEpoch checks exportedAt against the real time (now, or the
// ledger's clock; see ClaimAt), locks l.mu and returns the claims of
// exportedAt's epoch, after forgetting the epochs now is past keeping.
// On success the caller unlocks l.mu.
func (l *MemLedger) lockEpoch(exportedAt, now time.Time) (*memEpoch, error) {
	if !l.timeNow || now.IsZero() {
		now = l.now()
	}
	if err := checkExportTime(exportedAt, now); err != nil {
		return nil, err
	}
	l.mu.Lock()
	m, err := l.epochFor(exportedAt, now)
	if err != nil {
		l.mu.Unlock()
		return nil, err
	}
	return m, nil
}

// epochFor is lockEpoch's part under l.mu.
func (l *MemLedger) epochFor(exportedAt, now time.Time) (*memEpoch, error) {
	epoch := epochOf(exportedAt)
	if f := floorFor(now); f > l.floor {
		l.floor = f
		for e := range l.epochs {
			if e < f {
				delete(l.epochs, e)
			}
		}
	}
	if epoch < l.floor {
		return nil, fmt.Errorf("%w: claims of contexts exported before %s are forgotten (the clock was set back)",
			ErrTooOld, epochStart(l.floor).Format(time.RFC3339))
	}
	m := l.epochs[epoch]
	if m == nil {
		m = &memEpoch{nonces: make(map[[nonceLen]byte]struct{}), short: make(map[shortClaimID]struct{}), long: make(map[string]struct{})}
		l.epochs[epoch] = m
	}
	return m, nil
}

// Len returns the number of claims held, including those not yet
// forgotten although older than Retention.
func (l *MemLedger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.epochs {
		n += len(m.nonces) + len(m.short) + len(m.long)
		for _, c := range m.seq {
			for _, w := range c {
				n += bits.OnesCount64(w)
			}
		}
	}
	return n
}
