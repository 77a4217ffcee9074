package hostid

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleIndex() index {
	x := index{floor: 170000}
	x.recs[0] = record{epoch: 170001, gen: 3, state: stateLive}
	x.recs[5] = record{epoch: 170002, gen: 1, state: statePoisoned}
	x.recs[60] = record{epoch: 170003, gen: 7, state: stateCopying}
	return x
}

func sampleHeader() header {
	return header{gen: 4, epoch: 170001, size: 576, count: 400, cursor: 12, floor: 170000, srcGen: 3}
}

func TestIndexEncoding(t *testing.T) {
	x := sampleIndex()
	b := make([]byte, indexSize)
	encodeIndex(b, &x)
	got, err := decodeIndex(b)
	require.NoError(t, err)
	assert.Equal(t, x, got)
	assert.Equal(t, 0, got.find(170001))
	assert.Equal(t, 60, got.find(170003))
	assert.Equal(t, -1, got.find(170004))
	assert.Equal(t, 1, got.free())

	// Every single-bit change is caught.
	for i := 0; i < indexSize*8; i++ {
		b[i/8] ^= 1 << (i % 8)
		_, err := decodeIndex(b)
		assert.Error(t, err, "bit %d", i)
		b[i/8] ^= 1 << (i % 8)
	}
	_, err = decodeIndex(b[:indexSize-1])
	assert.Error(t, err)
	_, err = decodeIndex(make([]byte, indexSize))
	assert.Error(t, err)
}

func TestHeaderEncoding(t *testing.T) {
	h := sampleHeader()
	b := make([]byte, headerSize)
	encodeHeader(b, &h)
	got, err := decodeHeader(b)
	require.NoError(t, err)
	assert.Equal(t, h, got)
	for i := 0; i < headerSize*8; i++ {
		b[i/8] ^= 1 << (i % 8)
		_, err := decodeHeader(b)
		assert.Error(t, err, "bit %d", i)
		b[i/8] ^= 1 << (i % 8)
	}
	for name, bad := range map[string]header{
		"gen 0":        {gen: 0, size: 64},
		"too small":    {gen: 1, size: minSlots - 1},
		"too large":    {gen: 1, size: maxSlots + 1},
		"copies gen":   {gen: 5, size: 64, srcGen: 3},
		"stray cursor": {gen: 1, size: 64, cursor: 3},
	} {
		encodeHeader(b, &bad)
		_, err := decodeHeader(b)
		assert.Error(t, err, name)
	}
}

func TestSlotEncoding(t *testing.T) {
	fp := fingerprint([]byte("nonce"))
	b := make([]byte, slotSize)
	kind, _ := decodeSlot(b, 7)
	assert.Equal(t, slotEmpty, kind)
	encodeSlot(b, &fp, 7)
	kind, got := decodeSlot(b, 7)
	assert.Equal(t, slotFull, kind)
	assert.Equal(t, fp, got)
	kind, _ = decodeSlot(b, 8)
	assert.Equal(t, slotBad, kind, "a slot written to the wrong place")
	for i := 0; i < slotSize*8; i++ {
		b[i/8] ^= 1 << (i % 8)
		kind, _ := decodeSlot(b, 7)
		assert.Equal(t, slotBad, kind, "bit %d", i)
		b[i/8] ^= 1 << (i % 8)
	}
	var zero [fpSize]byte
	encodeSlot(b, &zero, 7)
	kind, _ = decodeSlot(b, 7)
	assert.Equal(t, slotBad, kind, "an all-zero fingerprint is never written")
}

func TestFingerprint(t *testing.T) {
	a := fingerprint([]byte("a"))
	assert.Equal(t, a, fingerprint([]byte("a")))
	assert.NotEqual(t, a, fingerprint([]byte("b")))
	assert.NotEqual(t, fingerprint([]byte{0}), fingerprint([]byte{0, 0}))
	// Pinned (computed with Python's hashlib): a change would make every
	// recorded claim unreadable.
	assert.Equal(t, [fpSize]byte{0x23, 0x95, 0x79, 0x40, 0xd2, 0x89, 0xc3, 0x28, 0x4f, 0xd2, 0x7a, 0xaa}, a)
	for size := uint64(minSlots); size < 1<<20; size = growSize(size) {
		assert.Less(t, home(&a, size), size)
	}
}

func TestTableName(t *testing.T) {
	assert.Equal(t, "170001-3.tab", tableName(170001, 3))
	e, g, ok := parseTableName("170001-3.tab")
	assert.True(t, ok)
	assert.Equal(t, int64(170001), e)
	assert.Equal(t, uint32(3), g)
	for _, bad := range []string{
		"", "170001-3", "170001.tab", "170001-0.tab", "-1-3.tab", "+1-3.tab", "01-3.tab", "1-03.tab",
		"1-3.tab.tmp", "x-3.tab", "1-4294967296.tab", "1-3-4.tab", "index", ".probe-1",
	} {
		_, _, ok := parseTableName(bad)
		assert.False(t, ok, bad)
	}
}

// TestGrowthInvariant: along every chain of sizes a table can have, the
// copy of a grown table ends before its successor needs to grow (see
// migrateStep), and a grown table has room.
func TestGrowthInvariant(t *testing.T) {
	for _, start := range []uint64{minSlots, 256} {
		for size := start; size <= maxSlots; size = growSize(size) {
			next := growSize(size)
			claimsToCopy := (size + migrateStep - 1) / migrateStep
			require.Less(t, maxLoad(size)+claimsToCopy, maxLoad(next), "size %d", size)
			require.Zero(t, next%minSlots)
		}
	}
}

func TestEpochs(t *testing.T) {
	assert.Equal(t, int64(0), floorDiv(0, 3))
	assert.Equal(t, int64(-1), floorDiv(-1, 3))
	assert.Equal(t, int64(-1), floorDiv(-3, 3))
	assert.Equal(t, int64(-2), floorDiv(-4, 3))
	e := epochOf(t0)
	assert.Equal(t, t0, epochStart(e))
	assert.Equal(t, e, epochOf(t0.Add(epochLen-time.Nanosecond)))
	assert.Equal(t, e+1, epochOf(t0.Add(epochLen)))
	// An epoch is kept while its last instant is less than Retention old.
	assert.Equal(t, e, floorFor(t0.Add(epochLen+Retention-time.Second)))
	assert.Equal(t, e+1, floorFor(t0.Add(epochLen+Retention)))
}
