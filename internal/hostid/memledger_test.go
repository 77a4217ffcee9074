package hostid

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemLedger(t *testing.T) {
	l := NewMemLedger()
	now := time.Now()
	ok, err := l.Claim([]byte("a"), now)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = l.Claim([]byte("a"), now)
	require.NoError(t, err)
	assert.False(t, ok)
	for _, id := range [][]byte{nil, make([]byte, MaxClaimID+1)} {
		_, err := l.Claim(id, now)
		assert.Error(t, err)
	}
	assert.Equal(t, 1, l.Len())
}

// TestMemLedgerForgets: claims are dropped an epoch at a time once
// Retention old, memory follows the claims of the last Retention, and a
// clock set back cannot revive them.
func TestMemLedgerForgets(t *testing.T) {
	c := newTestClock(t0)
	l := &MemLedger{now: c.Now, epochs: map[int64]*memEpoch{}}
	const perHour = 100
	for h := 0; h < 3*int(Retention/time.Hour); h++ {
		for i := 0; i < perHour; i++ {
			c.Add(time.Hour / perHour)
			ok, err := l.Claim([]byte(fmt.Sprint(h, "-", i)), c.Now())
			require.NoError(t, err)
			require.True(t, ok)
		}
		// Kept: at most Retention plus an epoch of claims.
		require.LessOrEqual(t, l.Len(), perHour*int((Retention+epochLen)/time.Hour))
	}
	first := t0.Add(time.Hour / perHour)
	ok, err := l.Claim([]byte("0-0"), first)
	assert.ErrorIs(t, err, ErrTooOld)
	assert.False(t, ok)
	c.Set(first.Add(time.Minute)) // set back
	ok, err = l.Claim([]byte("0-0"), first)
	assert.ErrorIs(t, err, ErrTooOld, "a forgotten claim must not come back")
	assert.False(t, ok)
}

func TestMemLedgerConcurrent(t *testing.T) {
	l := NewMemLedger()
	now := time.Now()
	var wins [100]atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range wins {
				if ok, err := l.Claim([]byte(fmt.Sprint(i)), now); assert.NoError(t, err) && ok {
					wins[i].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	for i := range wins {
		assert.EqualValues(t, 1, wins[i].Load(), i)
	}
}

// TestMemLedgerIDLengths keeps IDs apart that differ only in length or
// trailing zeros, on both sides of the 16-byte array form and of the
// 12-byte nonce form.
func TestMemLedgerIDLengths(t *testing.T) {
	l := NewMemLedger()
	now := time.Now()
	ids := [][]byte{{1}, {1, 0}, {1, 0, 0}, make([]byte, 16), make([]byte, 17), append(make([]byte, 16), 1),
		make([]byte, 11), make([]byte, 12), make([]byte, 13), append(make([]byte, 11), 1), append(make([]byte, 12), 1)}
	for _, id := range ids {
		if first, err := l.Claim(id, now); err != nil || !first {
			t.Fatalf("%x: first claim %v, %v", id, first, err)
		}
	}
	for _, id := range ids {
		if first, err := l.Claim(id, now); err != nil || first {
			t.Fatalf("%x: second claim %v, %v", id, first, err)
		}
	}
	if l.Len() != len(ids) {
		t.Fatalf("Len %d, want %d", l.Len(), len(ids))
	}
}

// ClaimAt takes its caller's reading of time.Now only when the ledger's
// own clock is time.Now: a ledger on another clock reads that one.
func TestMemLedgerClaimAt(t *testing.T) {
	assert.True(t, IsTimeNow(time.Now))
	assert.False(t, IsTimeNow(nil))
	assert.False(t, IsTimeNow(func() time.Time { return time.Now() }))

	c := newTestClock(t0)
	l := NewMemLedgerAt(c.Now)
	// A reading far ahead of the ledger's clock would make the export
	// time look like the past; the ledger's own clock says it is now.
	ok, err := l.ClaimAt([]byte("a"), t0, t0.Add(-2*maxFuture))
	require.NoError(t, err, "the ledger read its own clock, not the one given")
	assert.True(t, ok)

	real := NewMemLedger()
	now := time.Now()
	ok, err = real.ClaimAt([]byte("b"), now, now)
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = real.ClaimAt([]byte("c"), now, now.Add(-2*maxFuture))
	assert.ErrorIs(t, err, ErrInFuture, "a time.Now ledger takes the reading it is given")
	ok, err = real.ClaimAt([]byte("b"), now, time.Time{})
	require.NoError(t, err)
	assert.False(t, ok, "a zero reading: the ledger reads its clock")
}

// Sequence numbers are claimed once each, across chunk boundaries and
// from goroutines racing for them, apart from byte IDs, and forgotten
// and refused with their epoch like every claim.
func TestMemLedgerSequence(t *testing.T) {
	c := newTestClock(t0)
	l := &MemLedger{now: c.Now, epochs: map[int64]*memEpoch{}}
	at := c.Now()
	for _, n := range []uint64{0, 1, 63, 64, seqChunk - 1, seqChunk, 5*seqChunk + 17, 1<<64 - 1} {
		ok, err := l.ClaimSequenceAt(n, at, time.Time{})
		require.NoError(t, err)
		assert.True(t, ok, "first claim of %d", n)
		ok, err = l.ClaimSequenceAt(n, at, time.Time{})
		require.NoError(t, err)
		assert.False(t, ok, "second claim of %d", n)
	}
	ok, err := l.ClaimSequenceAt(2, at, time.Time{})
	require.NoError(t, err)
	assert.True(t, ok, "a neighbour is its own claim")
	ok, err = l.Claim([]byte{0, 0, 0, 0, 0, 0, 0, 0}, at)
	require.NoError(t, err)
	assert.True(t, ok, "byte IDs are a space of their own")
	assert.Equal(t, 10, l.Len())

	var wins [300]atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range wins {
				if ok, err := l.ClaimSequenceAt(1000+uint64(i), at, time.Time{}); assert.NoError(t, err) && ok {
					wins[i].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	for i := range wins {
		assert.EqualValues(t, 1, wins[i].Load(), i)
	}

	c.Add(Retention + 2*epochLen)
	ok, err = l.ClaimSequenceAt(0, at, time.Time{})
	assert.ErrorIs(t, err, ErrTooOld)
	assert.False(t, ok)
	_, err = l.ClaimSequenceAt(3, c.Now().Add(Retention), time.Time{})
	assert.ErrorIs(t, err, ErrInFuture)
	ok, err = l.ClaimSequenceAt(0, c.Now(), time.Time{})
	require.NoError(t, err)
	assert.True(t, ok, "a new epoch")
	assert.Equal(t, 1, l.Len(), "the old epoch is forgotten")
}
