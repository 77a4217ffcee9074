package hostid

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"strconv"
	"strings"
)

// The ledger's files. Every multi-byte number is little-endian; every
// checksum is CRC-32C.
//
// The index (file "index", 1024 bytes) says which table holds each epoch's
// claims and how far pruning has gone:
//
//	  0  [8]  magic "gosspiLI"
//	  8  u32  format version (1)
//	 12  u32  epoch width in seconds
//	 16  u32  retention in seconds
//	 20  u32  zero
//	 24  i64  floor: epochs below it were pruned; their claims are refused
//	 32  61 records of 16 bytes: i64 epoch, u32 generation, u32 state
//	     (all zero: unused; state 1: in use; 2: poisoned; 3: in use, and
//	     the current generation is being filled from the one before)
//	1008 [12] zero
//	1020 u32  checksum of bytes 0..1019
//
// A table (file "<epoch>-<generation>.tab") is an open-addressing hash
// table of one epoch's claims: a 64-byte header, zeros to 4096, then the
// slots.
//
//	 0  [8]  magic "gosspiLT"
//	 8  u32  format version (1)
//	12  u32  generation (1, then one more each time the epoch's table grows)
//	16  i64  epoch
//	24  u64  number of slots
//	32  u64  number of entries, never below the true number
//	40  u64  migration cursor: the next slot of the previous generation to copy
//	48  i64  the index's floor when the header was written
//	56  u32  previous generation still being copied in, or 0
//	60  u32  checksum of bytes 0..59
//
// A slot is 16 bytes: all zero when empty, else a 12-byte fingerprint of
// the claimed ID and a u32 check: the checksum of the fingerprint, exclusive
// or a hash of the slot's number.
// Every write is one pwrite inside one page, so the death of a process
// never leaves half of one; the checksums catch what a failing disk or a
// host crash may leave.
const (
	indexName   = "index"
	indexSize   = 1024
	indexRecs   = 61
	indexMagic  = "gosspiLI"
	tableMagic  = "gosspiLT"
	formatV1    = 1
	headerSize  = 64
	headerPage  = 4096 // slots start here, so a header and a slot never share a page
	slotSize    = 16
	fpSize      = 12
	tableSuffix = ".tab"

	// minSlots bounds a table's size from below; a probe reads up to
	// probeSlots slots at once.
	minSlots   = 32
	probeSlots = 32
	// maxSlots bounds what a header may claim: 1 TiB of slots.
	maxSlots = 1 << 36
)

// Record states in the index.
const (
	stateFree     = 0
	stateLive     = 1
	statePoisoned = 2
	stateCopying  = 3 // live; a hint that claims should help the copy on
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errNewerFormat marks an index written by a later format version, which
// this build must neither use nor rebuild.
var errNewerFormat = errors.New("written by a newer version of gosspi")

// corruptError is damage found in a ledger file: the epoch it belongs to is
// poisoned rather than trusted or repaired.
type corruptError struct{ msg string }

func (e *corruptError) Error() string { return e.msg }

func corruptf(format string, args ...any) error {
	return &corruptError{fmt.Sprintf(format, args...)}
}

// record says where one epoch's claims are.
type record struct {
	epoch int64
	gen   uint32
	state uint32
}

// index is the decoded index file.
type index struct {
	floor int64
	recs  [indexRecs]record
}

// find returns the position of epoch's record, or -1.
func (x *index) find(epoch int64) int {
	for i := range x.recs {
		if x.recs[i].state != stateFree && x.recs[i].epoch == epoch {
			return i
		}
	}
	return -1
}

// free returns the position of an unused record, or -1.
func (x *index) free() int {
	for i := range x.recs {
		if x.recs[i].state == stateFree {
			return i
		}
	}
	return -1
}

func encodeIndex(b []byte, x *index) {
	clear(b[:indexSize])
	copy(b, indexMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], formatV1)
	le.PutUint32(b[12:], uint32(epochSeconds))
	le.PutUint32(b[16:], uint32(retentionSeconds))
	le.PutUint64(b[24:], uint64(x.floor))
	for i, r := range x.recs {
		o := 32 + 16*i
		if r.state == stateFree {
			continue
		}
		le.PutUint64(b[o:], uint64(r.epoch))
		le.PutUint32(b[o+8:], r.gen)
		le.PutUint32(b[o+12:], r.state)
	}
	le.PutUint32(b[indexSize-4:], crc32.Checksum(b[:indexSize-4], castagnoli))
}

// decodeIndex accepts exactly what encodeIndex writes. An index of a later
// version with a good checksum is refused with errNewerFormat.
func decodeIndex(b []byte) (index, error) {
	var x index
	if len(b) != indexSize {
		return x, fmt.Errorf("index is %d bytes, want %d", len(b), indexSize)
	}
	if string(b[:8]) != indexMagic {
		return x, errors.New("index has no magic number")
	}
	le := binary.LittleEndian
	if crc32.Checksum(b[:indexSize-4], castagnoli) != le.Uint32(b[indexSize-4:]) {
		return x, errors.New("index checksum mismatch")
	}
	if v := le.Uint32(b[8:]); v != formatV1 {
		if v > formatV1 {
			return x, fmt.Errorf("index format %d, %w", v, errNewerFormat)
		}
		return x, fmt.Errorf("index format %d", v)
	}
	if e, w := le.Uint32(b[12:]), le.Uint32(b[16:]); int64(e) != epochSeconds || int64(w) != retentionSeconds {
		// Same version, other parameters: another build of this format
		// shares the directory, and its claims cannot be read as ours.
		return x, fmt.Errorf("index has epoch %ds and retention %ds, this build %ds and %ds: %w",
			e, w, epochSeconds, retentionSeconds, errNewerFormat)
	}
	if le.Uint32(b[20:]) != 0 || !allZero(b[indexSize-16:indexSize-4]) {
		return x, errors.New("index has nonzero reserved bytes")
	}
	x.floor = int64(le.Uint64(b[24:]))
	// The epochs in use so far, to refuse one listed twice; a claim reads
	// the index, so this avoids a search over all records for each.
	var used [indexRecs]int64
	n := 0
	for i := range x.recs {
		o := 32 + 16*i
		r := record{epoch: int64(le.Uint64(b[o:])), gen: le.Uint32(b[o+8:]), state: le.Uint32(b[o+12:])}
		switch {
		case r.state == stateFree && r.epoch == 0 && r.gen == 0:
		case r.state >= stateLive && r.state <= stateCopying && r.gen >= 1:
			for _, e := range used[:n] {
				if e == r.epoch {
					return index{}, fmt.Errorf("index lists epoch %d twice", r.epoch)
				}
			}
			used[n] = r.epoch
			n++
		default:
			return index{}, fmt.Errorf("index record %d is malformed", i)
		}
		x.recs[i] = r
	}
	return x, nil
}

// header is a table's decoded header.
type header struct {
	gen    uint32
	epoch  int64
	size   uint64 // slots
	count  uint64
	cursor uint64
	floor  int64
	srcGen uint32 // the previous generation being copied in, or 0
}

func encodeHeader(b []byte, h *header) {
	clear(b[:headerSize])
	copy(b, tableMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], formatV1)
	le.PutUint32(b[12:], h.gen)
	le.PutUint64(b[16:], uint64(h.epoch))
	le.PutUint64(b[24:], h.size)
	le.PutUint64(b[32:], h.count)
	le.PutUint64(b[40:], h.cursor)
	le.PutUint64(b[48:], uint64(h.floor))
	le.PutUint32(b[56:], h.srcGen)
	le.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
}

// decodeHeader accepts exactly what encodeHeader writes for a usable table.
func decodeHeader(b []byte) (header, error) {
	var h header
	if len(b) != headerSize {
		return h, fmt.Errorf("table header is %d bytes, want %d", len(b), headerSize)
	}
	if string(b[:8]) != tableMagic {
		return h, errors.New("table header has no magic number")
	}
	le := binary.LittleEndian
	if crc32.Checksum(b[:60], castagnoli) != le.Uint32(b[60:]) {
		return h, errors.New("table header checksum mismatch")
	}
	if v := le.Uint32(b[8:]); v != formatV1 {
		return h, fmt.Errorf("table format %d", v)
	}
	h = header{
		gen:    le.Uint32(b[12:]),
		epoch:  int64(le.Uint64(b[16:])),
		size:   le.Uint64(b[24:]),
		count:  le.Uint64(b[32:]),
		cursor: le.Uint64(b[40:]),
		floor:  int64(le.Uint64(b[48:])),
		srcGen: le.Uint32(b[56:]),
	}
	switch {
	case h.gen == 0:
		return header{}, errors.New("table generation 0")
	case h.size < minSlots || h.size > maxSlots:
		return header{}, fmt.Errorf("table of %d slots", h.size)
	case h.srcGen != 0 && h.srcGen != h.gen-1:
		return header{}, fmt.Errorf("table generation %d copies generation %d", h.gen, h.srcGen)
	case h.srcGen == 0 && h.cursor != 0:
		return header{}, errors.New("table has a cursor but copies nothing")
	}
	return h, nil
}

// fingerprint is what a slot keeps of a claimed ID: 96 bits of SHA-256, so
// that two of the IDs alive at once share one with odds of about n²/2⁹⁷.
// It is never all zero, the mark of an empty slot.
func fingerprint(id []byte) [fpSize]byte {
	const prefix = "gosspi/hostid ledger v1\x00"
	var buf [len(prefix) + MaxClaimID]byte
	n := copy(buf[:], prefix)
	n += copy(buf[n:], id)
	sum := sha256.Sum256(buf[:n])
	var fp [fpSize]byte
	copy(fp[:], sum[:])
	if fp == ([fpSize]byte{}) {
		fp[0] = 1
	}
	return fp
}

// home is fp's first slot in a table of size slots.
func home(fp *[fpSize]byte, size uint64) uint64 {
	hi, _ := bits.Mul64(binary.LittleEndian.Uint64(fp[:8]), size)
	return hi
}

// slotCheck is the check of a slot holding fp (the slot's first fpSize
// bytes) at number i: the hash of i binds the entry to its place, so that
// a slot written to the wrong place is caught as well as a torn one.
func slotCheck(fp []byte, i uint64) uint32 {
	return crc32.Checksum(fp, castagnoli) ^ uint32((i*0x9e3779b97f4a7c15)>>32)
}

// encodeSlot writes fp as slot i into b, which must not be on the stack of
// a hot caller: the checksum makes it escape.
func encodeSlot(b []byte, fp *[fpSize]byte, i uint64) {
	copy(b, fp[:])
	binary.LittleEndian.PutUint32(b[fpSize:], slotCheck(b[:fpSize], i))
}

// Slot kinds, as decodeSlot reads them.
const (
	slotEmpty = iota
	slotFull
	slotBad
)

// decodeSlot reads slot i (slotSize bytes in b).
func decodeSlot(b []byte, i uint64) (kind int, fp [fpSize]byte) {
	if allZero(b[:slotSize]) {
		return slotEmpty, fp
	}
	copy(fp[:], b)
	if fp == ([fpSize]byte{}) || slotCheck(b[:fpSize], i) != binary.LittleEndian.Uint32(b[fpSize:]) {
		return slotBad, fp
	}
	return slotFull, fp
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// tableName names the file of one generation of one epoch's table.
func tableName(epoch int64, gen uint32) string {
	return strconv.FormatInt(epoch, 10) + "-" + strconv.FormatUint(uint64(gen), 10) + tableSuffix
}

// parseTableName is the inverse of tableName; it refuses every other name,
// including non-canonical spellings of the same numbers.
func parseTableName(name string) (epoch int64, gen uint32, ok bool) {
	base, found := strings.CutSuffix(name, tableSuffix)
	if !found {
		return 0, 0, false
	}
	es, gs, found := strings.Cut(base, "-")
	if !found {
		return 0, 0, false
	}
	e, err := strconv.ParseInt(es, 10, 64)
	if err != nil || e < 0 {
		return 0, 0, false
	}
	g, err := strconv.ParseUint(gs, 10, 32)
	if err != nil || g == 0 {
		return 0, 0, false
	}
	if tableName(e, uint32(g)) != name {
		return 0, 0, false
	}
	return e, uint32(g), true
}

// growSize is the size of the table that follows one of size slots: half as
// large again, a multiple of minSlots. Growing by half rather than double
// keeps the two generations alive during a migration within 2.5 times the
// old table, which is what bounds disk use per entry.
func growSize(size uint64) uint64 {
	n := size + size/2
	return (n + minSlots - 1) / minSlots * minSlots
}

// maxLoad is the entry count at which a table of size slots grows: 80 %.
func maxLoad(size uint64) uint64 { return size / 5 * 4 }
