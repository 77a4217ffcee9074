package hostid

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaxClaimID bounds the length of an ID given to Ledger.Claim.
const MaxClaimID = 64

// Retention is how long, in real time, a ledger remembers a claim: a
// packed context can be imported up to Retention after it was exported,
// and never again after that.
//
// A day is far longer than a hand-over between processes takes (well under
// a second), and longer than the fake's default context lifetime (10 hours,
// like a Kerberos ticket), so an exported context can be imported at any
// point of its default life. It is short enough that the ledger holds only
// a day of imports, and that a host clock set forward by mistake stops
// imports for at most as long as it was ahead by more than a day (see
// Ledger.Claim).
const Retention = 24 * time.Hour

// epochLen is the span of export times whose claims share one table file:
// a table is deleted whole once its newest claim is Retention old, so disk
// holds at most Retention+epochLen of claims, an eighth more than the
// Retention that must be kept.
const epochLen = Retention / 8

const (
	epochSeconds     = int64(epochLen / time.Second)
	retentionSeconds = int64(Retention / time.Second)
)

// maxFuture is how far past this host's clock an export time may be. The
// exporter and the importer read the same clock, so only a clock set back
// between the two puts an export time in the future.
const maxFuture = time.Hour

// migrateStep is how many slots of an outgrown table each claim copies
// into its successor. Growth is by half (growSize) at 80 % load
// (maxLoad), so the copy of a table of n slots ends after n/4 claims, with
// the new table at most 70 % full: it never has to grow while copying.
const migrateStep = 4

// ledgerDirName is the ledger's directory inside the key directory. An
// older format kept one file per claim in "imported"; that directory is
// neither read nor removed.
const ledgerDirName = "ledger"

// probePrefix starts the names of the files OpenLedger creates to check
// that it can write.
const probePrefix = ".probe-"

// initialSlots is the size of a new epoch's table: one page. Tests lower it
// to make tables grow often.
var initialSlots uint64 = 256

// testHookWrite, when set, runs before every change the ledger makes to
// its directory; an error stops the change there, as the death of the
// process would. Tests use it to stop a claim at each step in turn.
var testHookWrite func() error

func hookWrite() error {
	if testHookWrite != nil {
		return testHookWrite()
	}
	return nil
}

// remove removes a file nothing refers to; failing only leaves it for the
// next sweep.
func remove(path string) {
	if hookWrite() == nil {
		_ = os.Remove(path)
	}
}

// ErrTooOld is matched (with errors.Is) by the error of a claim whose
// export time is Retention or more before now, or before the claims this
// ledger has already forgotten.
var ErrTooOld = errors.New("hostid: the packed context was exported too long ago to be imported")

// ErrInFuture is matched (with errors.Is) by the error of a claim whose
// export time is more than an hour past this host's clock.
var ErrInFuture = errors.New("hostid: the packed context's export time is in the future (was the clock set back?)")

// ErrCorruptLedger is matched (with errors.Is) by the error of a claim
// whose record in the ledger is damaged. Only packed contexts exported in
// the damaged table's span of time (three hours) are refused, until that
// span leaves the retention window; others are not affected.
var ErrCorruptLedger = errors.New("hostid: the import ledger is damaged")

var errClosed = errors.New("hostid: the ledger is closed")

// Ledger records, for all processes of the host, which packed contexts have
// been imported, so that each is imported only once. A Ledger is safe for
// concurrent use, and any number of processes may open the same directory.
//
// Claims are kept in open-addressing hash tables on disk, one table per
// three-hour span of export times (an epoch), under an exclusive OS file
// lock that the system releases when its process dies. A claim reads and
// writes a constant number of slots. A table that reaches 80 % load is
// succeeded by one half as large again, which each later claim fills a few
// slots at a time from the old one, so no claim ever rehashes a table. A
// table is deleted whole once every claim in it is older than Retention:
// such blobs are refused anyway. Disk use is about 16 bytes per slot, so 20
// to 50 bytes per claim of the last Retention plus epochLen.
//
// Every write is a single write within one page, ordered so that a process
// killed at any point leaves a state the next claim continues from: a
// claim that returned true stays recorded for Retention. Claims are not
// synced to disk (that would cost milliseconds each), so a crash of the
// host itself may lose its last few seconds of claims. Torn or garbled
// data a host crash or a failing disk may leave is caught by checksums:
// the index is rebuilt from the tables, and a damaged table makes its
// epoch refuse all claims (ErrCorruptLedger) rather than forget any.
type Ledger struct {
	dir string
	now func() time.Time // real time; tests replace it

	mu     sync.Mutex
	index  *os.File // also the lock
	tables map[tableKey]*os.File
	idx    index
	ibuf   [indexSize]byte
	hbuf   [headerSize]byte
	pbuf   [probeSlots * slotSize]byte
	sbuf   [slotSize]byte
}

// tableKey names one generation of one epoch's table.
type tableKey struct {
	epoch int64
	gen   uint32
}

// table is an open table and its header as last read.
type table struct {
	key tableKey
	f   *os.File
	h   header
}

func (t *table) name() string { return tableName(t.key.epoch, t.key.gen) }

// OpenLedger opens (creating it, 0700, if needed) the ledger in
// dir/ledger/. It fails if it cannot write there, or if the ledger was
// written by a newer version of this module.
func OpenLedger(dir string) (*Ledger, error) {
	return openLedger(dir, time.Now)
}

func openLedger(dir string, now func() time.Time) (*Ledger, error) {
	if dir == "" {
		return nil, errors.New("hostid: empty ledger directory")
	}
	d := filepath.Join(dir, ledgerDirName)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, fmt.Errorf("hostid: creating the ledger: %w", err)
	}
	if err := checkDir(d); err != nil {
		return nil, err
	}
	if err := checkWritable(d); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(d, indexName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("hostid: opening the ledger index: %w", err)
	}
	l := &Ledger{dir: d, now: now, index: f, tables: make(map[tableKey]*os.File)}
	// Read, and if need be rebuild, the index now: a ledger this build
	// cannot use should fail here, not at every import.
	l.mu.Lock()
	err = l.lock()
	if err == nil {
		err = l.loadIndex(now())
		if uerr := l.unlock(); uerr != nil {
			err = errors.Join(err, uerr)
		}
	}
	l.mu.Unlock()
	if err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// checkWritable creates and removes a file in dir: a directory the process
// cannot write would otherwise fail only at the first import.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, probePrefix+"*")
	if err != nil {
		return fmt.Errorf("hostid: the ledger directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	err = f.Close()
	// Another process's sweep may remove the file first.
	_ = os.Remove(name)
	if err != nil {
		return fmt.Errorf("hostid: the ledger directory %s is not writable: %w", dir, err)
	}
	return nil
}

// Dir returns the directory holding the ledger's files.
func (l *Ledger) Dir() string { return l.dir }

// Close releases the ledger's files. Claims after Close fail.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.index == nil {
		return nil
	}
	l.dropAll()
	err := l.index.Close()
	l.index = nil
	return err
}

// Claim records that the packed context identified by id (1..MaxClaimID
// bytes: its nonce) and exported at exportedAt has been imported. It
// reports true if this call made the claim, false if the context was
// claimed before, by any process.
//
// exportedAt must be the real time (time.Now, never an emulated clock) at
// which the exporting process sealed the context, carried inside the
// sealed blob with id: a claim is filed under its export time, so the same
// id with another export time is another claim.
//
// A context exported Retention or more ago, by this host's clock, is
// refused with ErrTooOld, whatever happened to it before; one exported
// more than an hour in the future with ErrInFuture. Because of that, a
// claim can be forgotten once its context is Retention old, and nothing
// can bring it back: if the host's clock is later set back, the ledger
// still refuses with ErrTooOld every export time it may have forgotten,
// until the clock catches up.
//
// On any error the context may or may not be claimed; the caller must
// refuse the import.
func (l *Ledger) Claim(id []byte, exportedAt time.Time) (bool, error) {
	if len(id) == 0 || len(id) > MaxClaimID {
		return false, fmt.Errorf("hostid: claim ID of %d bytes, want 1..%d", len(id), MaxClaimID)
	}
	now := l.now()
	if err := checkExportTime(exportedAt, now); err != nil {
		return false, err
	}
	fp := fingerprint(id)
	epoch := epochOf(exportedAt)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.lock(); err != nil {
		return false, err
	}
	ok, err := l.claim(&fp, epoch, now)
	if uerr := l.unlock(); uerr != nil {
		return false, errors.Join(err, uerr)
	}
	return ok, err
}

// lock takes the ledger's OS lock. l.mu must be held: the OS lock belongs
// to the open file, not to a goroutine.
func (l *Ledger) lock() error {
	if l.index == nil {
		return errClosed
	}
	if err := lockFile(l.index); err != nil {
		return fmt.Errorf("hostid: locking the ledger: %w", err)
	}
	return nil
}

func (l *Ledger) unlock() error {
	if err := unlockFile(l.index); err != nil {
		// Unreachable in practice; the lock would outlive the call, so
		// close the file, which drops it, and let Claim fail from now on.
		l.dropAll()
		l.index.Close()
		l.index = nil
		return fmt.Errorf("hostid: unlocking the ledger: %w", err)
	}
	return nil
}

// checkExportTime refuses export times outside the window a ledger
// remembers.
func checkExportTime(exportedAt, now time.Time) error {
	age := now.Sub(exportedAt)
	if age >= Retention {
		return fmt.Errorf("%w: exported at %s, %s or more before now (%s)", ErrTooOld,
			exportedAt.UTC().Format(time.RFC3339), Retention, now.UTC().Format(time.RFC3339))
	}
	if age < -maxFuture {
		return fmt.Errorf("%w: exported at %s, now is %s", ErrInFuture,
			exportedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// epochOf is the epoch of an export time.
func epochOf(t time.Time) int64 { return floorDiv(t.Unix(), epochSeconds) }

// floorFor is the oldest epoch that may hold a claim a ledger must keep at
// now: every later epoch ends less than Retention before now.
func floorFor(now time.Time) int64 { return floorDiv(now.Unix()-retentionSeconds, epochSeconds) }

func epochStart(epoch int64) time.Time { return time.Unix(epoch*epochSeconds, 0).UTC() }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// claim does Claim's work under the lock.
func (l *Ledger) claim(fp *[fpSize]byte, epoch int64, now time.Time) (bool, error) {
	if err := l.loadIndex(now); err != nil {
		return false, err
	}
	if f := floorFor(now); f > l.idx.floor {
		if err := l.prune(f); err != nil {
			return false, err
		}
	}
	if epoch < l.idx.floor {
		// Only a clock set back gets here: checkExportTime passed.
		return false, fmt.Errorf("%w: the ledger in %s has forgotten contexts exported before %s, "+
			"because the clock was set back; removing the directory starts over, letting contexts "+
			"imported during the last %s be imported again",
			ErrTooOld, l.dir, epochStart(l.idx.floor).Format(time.RFC3339), Retention)
	}
	r := l.idx.find(epoch)
	if r < 0 {
		var err error
		if r, err = l.newEpoch(epoch); err != nil {
			return false, err
		}
	}
	if l.idx.recs[r].state == statePoisoned {
		return false, l.poisonedError(epoch, fmt.Sprintf("table %s was found damaged earlier",
			tableName(epoch, l.idx.recs[r].gen)))
	}
	ok, err := l.claimIn(r, fp)
	if isCorrupt(err) {
		return false, l.poison(r, err)
	}
	if err == nil && l.idx.recs[r].state != stateCopying {
		l.help(r)
	}
	return ok, err
}

// claimIn claims fp in the epoch of record r: look it up in the current
// table and, while that one is being filled from its predecessor, in the
// predecessor too; then write it (see step).
func (l *Ledger) claimIn(r int, fp *[fpSize]byte) (bool, error) {
	cur, src, err := l.tables2(r)
	if err != nil {
		return false, err
	}
	if src.f == nil && l.idx.recs[r].state == stateCopying {
		// A process died between finishing the copy and saying so.
		l.idx.recs[r].state = stateLive
		if err := l.writeIndex(); err != nil {
			return false, err
		}
	}
	if src.f == nil && cur.h.count >= maxLoad(cur.h.size) {
		src = cur
		if cur, err = l.grow(r, &src); err != nil {
			return false, err
		}
	}
	found, at, err := l.find(&cur, fp)
	if err != nil || found {
		return false, err
	}
	if src.f != nil {
		if found, _, err = l.find(&src, fp); err != nil || found {
			return false, err
		}
	}
	if err := l.step(r, &cur, &src, fp, at); err != nil {
		return false, err
	}
	return true, nil
}

// help advances the copy of an epoch other than skip, if one is under
// way, so that a copy finishes after a bounded number of claims even when
// its own epoch has none: an old epoch would otherwise keep both
// generations until pruned. Its errors do not concern the claim that
// helps; damage poisons the epoch it is in.
func (l *Ledger) help(skip int) {
	for r, rec := range l.idx.recs {
		if r == skip || rec.state != stateCopying {
			continue
		}
		cur, src, err := l.tables2(r)
		if err == nil {
			if src.f == nil {
				// A process died between finishing the copy and saying so.
				l.idx.recs[r].state = stateLive
				err = l.writeIndex()
			} else {
				err = l.step(r, &cur, &src, nil, 0)
			}
		}
		if isCorrupt(err) {
			_ = l.poison(r, err)
		}
		return
	}
}

// tables2 opens the current table of record r's epoch and, while it is
// being filled, its predecessor (else src.f is nil).
func (l *Ledger) tables2(r int) (cur, src table, err error) {
	rec := l.idx.recs[r]
	if cur, err = l.table(rec.epoch, rec.gen); err != nil || cur.h.srcGen == 0 {
		return cur, table{}, err
	}
	if src, err = l.table(rec.epoch, cur.h.srcGen); err != nil {
		return cur, table{}, err
	}
	if cur.h.cursor > src.h.size {
		return cur, table{}, corruptf("table %s copies from slot %d of %d", cur.name(), cur.h.cursor, src.h.size)
	}
	return cur, src, nil
}

// step writes fp (if not nil) into slot at of cur, and copies the next
// migrateStep slots of src (if open) into cur.
//
// The header, with the entry count raised for every slot about to be
// written, is written before the slots, and the cursor only after them:
// a process killed in between leaves a count too high (the table grows a
// little early) and slots copied twice over (found present the second
// time), never an entry uncounted or a slot skipped. The predecessor is
// removed only after the header no longer refers to it.
func (l *Ledger) step(r int, cur, src *table, fp *[fpSize]byte, at uint64) error {
	var chunk [migrateStep][fpSize]byte
	n := 0
	var end uint64
	if src.f != nil {
		end = min(cur.h.cursor+migrateStep, src.h.size)
		buf := l.pbuf[:(end-cur.h.cursor)*slotSize]
		if err := readFull(src, buf, slotOffset(cur.h.cursor)); err != nil {
			return err
		}
		for i := cur.h.cursor; i < end; i++ {
			kind, got := decodeSlot(buf[(i-cur.h.cursor)*slotSize:], i)
			switch kind {
			case slotBad:
				return corruptf("table %s: slot %d is damaged", src.name(), i)
			case slotFull:
				chunk[n] = got
				n++
			}
		}
	}

	cur.h.count += uint64(n)
	if fp != nil {
		cur.h.count++
	}
	cur.h.floor = l.idx.floor
	if err := l.writeHeader(cur); err != nil {
		return err
	}
	if fp != nil {
		if err := l.writeSlot(cur, at, fp); err != nil {
			return err
		}
	}
	if src.f == nil {
		return nil
	}
	for i := 0; i < n; i++ {
		found, at, err := l.find(cur, &chunk[i])
		if err != nil {
			return err
		}
		if !found {
			if err := l.writeSlot(cur, at, &chunk[i]); err != nil {
				return err
			}
		}
	}
	done := end == src.h.size
	cur.h.cursor = end
	if done {
		cur.h.cursor, cur.h.srcGen = 0, 0
	}
	if err := l.writeHeader(cur); err != nil {
		return err
	}
	if done {
		l.idx.recs[r].state = stateLive
		if err := l.writeIndex(); err != nil {
			return err
		}
		// If the file cannot be removed now, the next sweep removes it.
		l.drop(src.key)
		remove(filepath.Join(l.dir, src.name()))
	}
	return nil
}

// find looks fp up in t by linear probing from its home slot. It returns
// whether fp is there and, if not, the first empty slot on its path.
func (l *Ledger) find(t *table, fp *[fpSize]byte) (found bool, empty uint64, err error) {
	size := t.h.size
	i := home(fp, size)
	for left := size; left > 0; {
		n := min(probeSlots, size-i, left)
		buf := l.pbuf[:n*slotSize]
		if err := readFull(t, buf, slotOffset(i)); err != nil {
			return false, 0, err
		}
		for j := uint64(0); j < n; j++ {
			kind, got := decodeSlot(buf[j*slotSize:], i+j)
			switch {
			case kind == slotEmpty:
				return false, i + j, nil
			case kind == slotBad:
				// It may have held fp: no answer is safe.
				return false, 0, corruptf("table %s: slot %d is damaged", t.name(), i+j)
			case got == *fp:
				return true, 0, nil
			}
		}
		left -= n
		i = (i + n) % size
	}
	return false, 0, corruptf("table %s has no empty slot", t.name())
}

func slotOffset(i uint64) int64 { return headerPage + int64(i)*slotSize }

// readFull reads len(b) bytes of t at off; a file too short is damage.
func readFull(t *table, b []byte, off int64) error {
	n, err := t.f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		return corruptf("table %s is truncated", t.name())
	}
	return fmt.Errorf("hostid: reading ledger table %s: %w", t.name(), err)
}

func (l *Ledger) writeSlot(t *table, i uint64, fp *[fpSize]byte) error {
	if err := hookWrite(); err != nil {
		return err
	}
	encodeSlot(l.sbuf[:], fp, i)
	if _, err := t.f.WriteAt(l.sbuf[:], slotOffset(i)); err != nil {
		return fmt.Errorf("hostid: writing ledger table %s: %w", t.name(), err)
	}
	return nil
}

func (l *Ledger) writeHeader(t *table) error {
	if err := hookWrite(); err != nil {
		return err
	}
	encodeHeader(l.hbuf[:], &t.h)
	if _, err := t.f.WriteAt(l.hbuf[:], 0); err != nil {
		return fmt.Errorf("hostid: writing ledger table %s: %w", t.name(), err)
	}
	return nil
}

func (l *Ledger) writeIndex() error {
	if err := hookWrite(); err != nil {
		return err
	}
	encodeIndex(l.ibuf[:], &l.idx)
	if _, err := l.index.WriteAt(l.ibuf[:], 0); err != nil {
		return fmt.Errorf("hostid: writing the ledger index: %w", err)
	}
	return nil
}

// table opens (or takes from the cache) one generation of an epoch's table
// and reads its header. A table the index refers to must exist: creating
// it afresh would forget its claims.
func (l *Ledger) table(epoch int64, gen uint32) (table, error) {
	key := tableKey{epoch, gen}
	t := table{key: key, f: l.tables[key]}
	if t.f == nil {
		f, err := openTableFile(filepath.Join(l.dir, t.name()), false)
		if errors.Is(err, fs.ErrNotExist) {
			return table{}, corruptf("table %s is missing", t.name())
		}
		if err != nil {
			return table{}, fmt.Errorf("hostid: opening ledger table: %w", err)
		}
		t.f = f
		l.tables[key] = f
	}
	if err := readFull(&t, l.hbuf[:], 0); err != nil {
		return table{}, err
	}
	h, err := decodeHeader(l.hbuf[:])
	if err != nil {
		return table{}, corruptf("table %s: %v", t.name(), err)
	}
	if h.epoch != epoch || h.gen != gen {
		return table{}, corruptf("table %s has the header of epoch %d generation %d", t.name(), h.epoch, h.gen)
	}
	t.h = h
	return t, nil
}

// create writes a new, empty table. A file of the same name can only be
// left over from a process killed while creating it, before the index
// referred to it, so it is overwritten.
func (l *Ledger) create(h header) (table, error) {
	key := tableKey{h.epoch, h.gen}
	l.drop(key)
	t := table{key: key, h: h}
	if err := hookWrite(); err != nil {
		return table{}, err
	}
	f, err := openTableFile(filepath.Join(l.dir, t.name()), true)
	if err != nil {
		return table{}, fmt.Errorf("hostid: creating ledger table: %w", err)
	}
	t.f = f
	err = hookWrite()
	if err == nil {
		err = f.Truncate(slotOffset(h.size))
	}
	if err != nil {
		f.Close()
		return table{}, fmt.Errorf("hostid: creating ledger table %s: %w", t.name(), err)
	}
	if err := l.writeHeader(&t); err != nil {
		f.Close()
		return table{}, err
	}
	l.tables[key] = f
	return t, nil
}

// newEpoch creates the first table of an epoch and records it in the index.
func (l *Ledger) newEpoch(epoch int64) (int, error) {
	r := l.idx.free()
	if r < 0 {
		return -1, fmt.Errorf("hostid: the import ledger already has tables for %d spans of time; the clock has moved too far back and forth", indexRecs)
	}
	if _, err := l.create(header{gen: 1, epoch: epoch, size: initialSlots, floor: l.idx.floor}); err != nil {
		return -1, err
	}
	l.idx.recs[r] = record{epoch: epoch, gen: 1, state: stateLive}
	if err := l.writeIndex(); err != nil {
		return -1, err
	}
	return r, nil
}

// grow starts old's successor, half as large again, and makes it the
// epoch's current table; claims then copy old into it a few slots at a
// time. Until the index refers to it, the new file is nothing.
func (l *Ledger) grow(r int, old *table) (table, error) {
	size := growSize(old.h.size)
	if size > maxSlots {
		return table{}, fmt.Errorf("hostid: ledger table %s is full", old.name())
	}
	t, err := l.create(header{gen: old.h.gen + 1, epoch: old.h.epoch, size: size, floor: l.idx.floor, srcGen: old.h.gen})
	if err != nil {
		return table{}, err
	}
	l.idx.recs[r].gen = t.h.gen
	l.idx.recs[r].state = stateCopying
	if err := l.writeIndex(); err != nil {
		return table{}, err
	}
	return t, nil
}

// prune forgets the epochs below floor, whose claims are all Retention
// old, and removes their files. It runs once per epoch for all processes,
// on the first claim after an epoch ends.
func (l *Ledger) prune(floor int64) error {
	l.idx.floor = floor
	for i, rec := range l.idx.recs {
		if rec.state != stateFree && rec.epoch < floor {
			l.idx.recs[i] = record{}
		}
	}
	if err := l.writeIndex(); err != nil {
		return err
	}
	l.evict()
	l.sweep()
	return nil
}

// sweep removes the files nothing refers to: tables of forgotten epochs,
// copied predecessors, tables a killed process created but never recorded,
// and probe files. A file that cannot be removed now (open in a process
// on Windows) is tried again at the next sweep.
func (l *Ledger) sweep() {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, probePrefix) {
			remove(filepath.Join(l.dir, name))
			continue
		}
		epoch, gen, ok := parseTableName(name)
		if !ok || l.referenced(epoch, gen) {
			continue
		}
		l.drop(tableKey{epoch, gen})
		remove(filepath.Join(l.dir, name))
	}
}

// referenced reports whether the index may still need a table: the
// current generation of a recorded epoch, or the one before it while it is
// being copied (or when the current header cannot tell).
func (l *Ledger) referenced(epoch int64, gen uint32) bool {
	r := l.idx.find(epoch)
	if r < 0 {
		return false
	}
	cur := l.idx.recs[r].gen
	switch gen {
	case cur:
		return true
	case cur - 1:
		t, err := l.table(epoch, cur)
		return err != nil || t.h.srcGen == gen
	}
	return false
}

// poison marks the epoch of record r damaged, so every process refuses its
// claims from now on, and returns the error that says so.
func (l *Ledger) poison(r int, cause error) error {
	l.idx.recs[r].state = statePoisoned
	err := l.poisonedError(l.idx.recs[r].epoch, cause.Error())
	if werr := l.writeIndex(); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

func isCorrupt(err error) bool {
	if err == nil {
		return false
	}
	var ce *corruptError
	return errors.As(err, &ce)
}

func (l *Ledger) poisonedError(epoch int64, cause string) error {
	from := epochStart(epoch)
	to := from.Add(epochLen)
	return fmt.Errorf("%w (%s): %s; contexts exported from %s to %s cannot be imported "+
		"until the table is dropped at %s; others can",
		ErrCorruptLedger, l.dir, cause,
		from.Format(time.RFC3339), to.Format(time.RFC3339), to.Add(Retention).Format(time.RFC3339))
}

// loadIndex reads the index, rebuilding it from the tables if it is new
// or damaged.
func (l *Ledger) loadIndex(now time.Time) error {
	n, err := l.index.ReadAt(l.ibuf[:], 0)
	if err != nil && err != io.EOF {
		return fmt.Errorf("hostid: reading the ledger index: %w", err)
	}
	if n == indexSize {
		x, err := decodeIndex(l.ibuf[:])
		if err == nil {
			l.idx = x
			l.evict()
			return nil
		}
		if errors.Is(err, errNewerFormat) {
			return fmt.Errorf("hostid: the import ledger in %s: %w; this build cannot use it", l.dir, err)
		}
	}
	return l.rebuild(now)
}

// rebuild writes a new index from the tables on disk: for each epoch, its
// newest generation. An epoch whose newest table is damaged, or is being
// filled from a predecessor that is missing or damaged, is poisoned: its
// claims cannot all be read back. The floor is the highest any table
// recorded, so that a clock set back does not revive pruned epochs.
func (l *Ledger) rebuild(now time.Time) error {
	l.dropAll()
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("hostid: rebuilding the ledger index: %w", err)
	}
	newest := make(map[int64]uint32)
	for _, e := range entries {
		if epoch, gen, ok := parseTableName(e.Name()); ok && gen > newest[epoch] {
			newest[epoch] = gen
		}
	}
	epochs := make([]int64, 0, len(newest))
	for e := range newest {
		epochs = append(epochs, e)
	}
	sort.Slice(epochs, func(i, j int) bool { return epochs[i] < epochs[j] })

	x := index{floor: floorFor(now)}
	state := make(map[int64]uint32, len(newest))
	for _, e := range epochs {
		state[e] = statePoisoned
		t, err := l.table(e, newest[e])
		if err != nil {
			// On Windows, a table removed while another process has it
			// open keeps its name, unopenable, until that process lets go;
			// one of an epoch already prunable does not matter.
			if !isCorrupt(err) && e >= x.floor {
				return err
			}
			continue
		}
		x.floor = max(x.floor, t.h.floor)
		if t.h.srcGen == 0 {
			state[e] = stateLive
			continue
		}
		s, err := l.table(e, t.h.srcGen)
		if err != nil && !isCorrupt(err) {
			return err
		}
		if err == nil && t.h.cursor <= s.h.size {
			state[e] = stateCopying
		}
	}
	for _, e := range epochs {
		if e < x.floor {
			continue
		}
		r := x.free()
		if r < 0 {
			return fmt.Errorf("hostid: rebuilding the ledger index: tables for more than %d spans of time", indexRecs)
		}
		x.recs[r] = record{epoch: e, gen: newest[e], state: state[e]}
	}
	l.idx = x
	l.evict()
	return l.writeIndex()
}

// evict closes cached tables the index no longer refers to, so that a
// removed table's disk space is not held by this process.
func (l *Ledger) evict() {
	for key := range l.tables {
		r := l.idx.find(key.epoch)
		if r < 0 || (l.idx.recs[r].gen != key.gen && l.idx.recs[r].gen != key.gen+1) {
			l.drop(key)
		}
	}
}

func (l *Ledger) drop(key tableKey) {
	if f := l.tables[key]; f != nil {
		f.Close()
		delete(l.tables, key)
	}
}

func (l *Ledger) dropAll() {
	for key := range l.tables {
		l.drop(key)
	}
}
