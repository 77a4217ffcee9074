package hostid

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corruptFixture is a ledger with claims in two epochs, A and B, closed.
type corruptFixture struct {
	dir    string // the ledger directory
	parent string // what OpenLedger takes
	c      *testClock
	ids    []string
	at     map[string]time.Time
	a, b   int64 // the epochs
}

func newCorruptFixture(t *testing.T) *corruptFixture {
	withSlots(t, minSlots)
	parent := t.TempDir()
	fx := &corruptFixture{parent: parent, dir: filepath.Join(parent, ledgerDirName), at: map[string]time.Time{}}
	fx.c = newTestClock(t0.Add(time.Hour))
	l := openAt(t, parent, fx.c)
	for i := 0; i < 100; i++ {
		if i == 50 {
			fx.c.Set(t0.Add(epochLen + time.Hour))
		}
		id := fmt.Sprint("x", i)
		fx.ids = append(fx.ids, id)
		fx.at[id] = fx.c.Now()
		require.True(t, claim(t, l, id, fx.c.Now()))
	}
	require.NoError(t, l.Close())
	fx.a, fx.b = epochOf(t0), epochOf(t0)+1
	return fx
}

// current is the file of an epoch's current table.
func (fx *corruptFixture) current(t *testing.T, epoch int64) string {
	b, err := os.ReadFile(filepath.Join(fx.dir, indexName))
	require.NoError(t, err)
	x, err := decodeIndex(b)
	require.NoError(t, err)
	r := x.find(epoch)
	require.GreaterOrEqual(t, r, 0)
	return filepath.Join(fx.dir, tableName(epoch, x.recs[r].gen))
}

// recheck claims every ID of the fixture again: none may be granted, and
// the only error allowed is ErrCorruptLedger. It returns how many failed.
func (fx *corruptFixture) recheck(t *testing.T, l *Ledger) (failed int) {
	t.Helper()
	for _, id := range fx.ids {
		ok, err := l.Claim([]byte(id), fx.at[id])
		require.False(t, ok, "%s granted again", id)
		if err != nil {
			require.ErrorIs(t, err, ErrCorruptLedger, id)
			failed++
		}
	}
	return failed
}

func patchFile(t *testing.T, path string, off int64, b []byte) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func garbage(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(0x5a + 31*i)
	}
	return b
}

// TestLedgerDamagedIndex: an index that is torn, truncated, missing or
// garbled is rebuilt from the tables, and forgets nothing.
func TestLedgerDamagedIndex(t *testing.T) {
	for name, damage := range map[string]func(path string) error{
		"garbage":   func(p string) error { return os.WriteFile(p, garbage(indexSize), 0o600) },
		"empty":     func(p string) error { return os.Truncate(p, 0) },
		"short":     func(p string) error { return os.Truncate(p, 100) },
		"missing":   os.Remove,
		"zeroed":    func(p string) error { return os.WriteFile(p, make([]byte, indexSize), 0o600) },
		"bit flip":  func(p string) error { b, _ := os.ReadFile(p); b[40] ^= 4; return os.WriteFile(p, b, 0o600) },
		"long":      func(p string) error { b, _ := os.ReadFile(p); return os.WriteFile(p, append(b, 1), 0o600) },
		"two lists": func(p string) error { return dupRecord(p) },
	} {
		t.Run(name, func(t *testing.T) {
			fx := newCorruptFixture(t)
			require.NoError(t, damage(filepath.Join(fx.dir, indexName)))
			l := openAt(t, fx.parent, fx.c)
			assert.Zero(t, fx.recheck(t, l))
			assert.True(t, claim(t, l, "fresh", fx.c.Now()))
			st := checkLedger(t, fx.dir, false)
			assert.Equal(t, 101, st.entries)
		})
	}
}

// dupRecord makes the index list one epoch twice, with a good checksum.
func dupRecord(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	copy(b[32+16:32+32], b[32:32+16])
	encodeCRC(b)
	return os.WriteFile(path, b, 0o600)
}

// TestLedgerDamagedTable: a table whose header or slots are damaged, that
// is truncated or missing, or holds another table's header, poisons its
// epoch: every claim of that epoch fails with ErrCorruptLedger, in this
// process and the next, none is granted, and the other epoch carries on.
// Once the epoch is pruned, so is the damage.
func TestLedgerDamagedTable(t *testing.T) {
	for name, damage := range map[string]func(t *testing.T, fx *corruptFixture, path string){
		"header garbage": func(t *testing.T, fx *corruptFixture, p string) { patchFile(t, p, 0, garbage(headerSize)) },
		"header zeroed":  func(t *testing.T, fx *corruptFixture, p string) { patchFile(t, p, 0, make([]byte, headerSize)) },
		"header bit":     func(t *testing.T, fx *corruptFixture, p string) { flipBit(t, p, 30) },
		"slot torn": func(t *testing.T, fx *corruptFixture, p string) {
			i := fullSlot(t, p)
			patchFile(t, p, slotOffset(i)+fpSize/2, garbage(slotSize/2))
		},
		"slot bit": func(t *testing.T, fx *corruptFixture, p string) { flipBit(t, p, slotOffset(fullSlot(t, p))+3) },
		"truncated": func(t *testing.T, fx *corruptFixture, p string) {
			require.NoError(t, os.Truncate(p, headerPage+slotSize))
		},
		"missing": func(t *testing.T, fx *corruptFixture, p string) { require.NoError(t, os.Remove(p)) },
		"another table": func(t *testing.T, fx *corruptFixture, p string) {
			b, err := os.ReadFile(fx.current(t, fx.b))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, b, 0o600))
		},
	} {
		t.Run(name, func(t *testing.T) {
			fx := newCorruptFixture(t)
			damage(t, fx, fx.current(t, fx.a))
			l := openAt(t, fx.parent, fx.c)
			failed := fx.recheck(t, l)
			assert.Positive(t, failed)
			// Once found, the whole epoch is refused, in every Ledger.
			l2 := openAt(t, fx.parent, fx.c)
			for _, l := range []*Ledger{l, l2} {
				for _, id := range []string{"x0", "x49", "fresh-in-A"} {
					at := fx.at["x0"]
					ok, err := l.Claim([]byte(id), at)
					assert.False(t, ok)
					assert.ErrorIs(t, err, ErrCorruptLedger, id)
				}
				assert.True(t, claim(t, l, fmt.Sprint("fresh-in-B-", l == l2), fx.c.Now()))
				assert.False(t, claim(t, l, "x50", fx.at["x50"]))
			}
			_, err := l.Claim([]byte("x0"), fx.at["x0"])
			assert.Contains(t, err.Error(), epochStart(fx.a).Format(time.RFC3339), "the error says which exports are refused")
			assert.Equal(t, 1, checkLedger(t, fx.dir, true).poisoned)

			// The damage goes with its epoch.
			fx.c.Set(epochStart(fx.a + 1).Add(Retention))
			_, err = l.Claim([]byte("x0"), fx.at["x0"])
			assert.ErrorIs(t, err, ErrTooOld)
			assert.False(t, claim(t, l, "x50", fx.at["x50"]))
			st := checkLedger(t, fx.dir, false)
			assert.Zero(t, st.poisoned)
			assert.Zero(t, st.unreferenced)
		})
	}
}

// TestLedgerDamagedIndexAndTable: rebuilding the index from a damaged
// table poisons its epoch rather than trusting or dropping it.
func TestLedgerDamagedIndexAndTable(t *testing.T) {
	fx := newCorruptFixture(t)
	patchFile(t, fx.current(t, fx.a), 0, garbage(headerSize))
	require.NoError(t, os.Remove(filepath.Join(fx.dir, indexName)))
	l := openAt(t, fx.parent, fx.c)
	for _, id := range fx.ids {
		ok, err := l.Claim([]byte(id), fx.at[id])
		assert.False(t, ok, id)
		if epochOf(fx.at[id]) == fx.a {
			assert.ErrorIs(t, err, ErrCorruptLedger, id)
		} else {
			assert.NoError(t, err, id)
		}
	}
}

// TestLedgerLeftovers: files a killed process may leave (a table it never
// recorded, a newer generation it did not finish, a probe file) are ignored
// and removed at the next prune; files that are not the ledger's are left.
func TestLedgerLeftovers(t *testing.T) {
	fx := newCorruptFixture(t)
	leftovers := []string{tableName(fx.a+5, 1), tableName(fx.a, 9), probePrefix + "123"}
	for _, name := range leftovers {
		require.NoError(t, os.WriteFile(filepath.Join(fx.dir, name), garbage(100), 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(fx.dir, "notes.txt"), nil, 0o600))
	l := openAt(t, fx.parent, fx.c)
	assert.Zero(t, fx.recheck(t, l))
	assert.Equal(t, 2, checkLedger(t, fx.dir, false).unreferenced)

	fx.c.Add(epochLen) // the next claim prunes, and sweeps
	assert.True(t, claim(t, l, "fresh", fx.c.Now()))
	for _, name := range leftovers {
		assert.NoFileExists(t, filepath.Join(fx.dir, name))
	}
	assert.FileExists(t, filepath.Join(fx.dir, "notes.txt"))
	assert.Zero(t, fx.recheck(t, l))
}

// TestLedgerRandomDamage damages one file of a ledger at a time, at random
// (bytes overwritten with nonzero junk, truncation, removal), and checks
// that no claim made before is granted again and that the only errors are
// ErrCorruptLedger. Zeroing a slot is not tried: an empty slot is all
// zeros by design, so no format can tell a slot zeroed by a failing disk
// from one never written.
func TestLedgerRandomDamage(t *testing.T) {
	fx := newCorruptFixture(t)
	template := map[string][]byte{}
	for _, name := range entries(t, fx.dir) {
		b, err := os.ReadFile(filepath.Join(fx.dir, name))
		require.NoError(t, err)
		template[name] = b
	}
	var names []string
	for name := range template {
		names = append(names, name)
	}
	rng := rand.New(rand.NewSource(1))
	n := 300
	if testing.Short() {
		n = 30
	}
	for iter := 0; iter < n; iter++ {
		parent := t.TempDir()
		dir := filepath.Join(parent, ledgerDirName)
		require.NoError(t, os.Mkdir(dir, 0o700))
		for name, b := range template {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
		}
		victim := filepath.Join(dir, names[rng.Intn(len(names))])
		size := int64(len(template[filepath.Base(victim)]))
		what := ""
		switch rng.Intn(8) {
		case 0:
			what = "removed"
			require.NoError(t, os.Remove(victim))
		case 1:
			off := rng.Int63n(size)
			what = fmt.Sprint("truncated to ", off)
			require.NoError(t, os.Truncate(victim, off))
		default:
			// Mostly where the data is: the header page, then the slots
			// in use.
			off := rng.Int63n(min(size, headerSize+int64(rng.Intn(2))*(headerPage+64*slotSize)))
			junk := make([]byte, 1+rng.Intn(24))
			for i := range junk {
				junk[i] = byte(1 + rng.Intn(255))
			}
			what = fmt.Sprintf("%d bytes at %d", len(junk), off)
			patchFile(t, victim, off, junk)
		}
		l, err := openLedger(parent, fx.c.Now)
		require.NoError(t, err, "%s %s", filepath.Base(victim), what)
		for _, id := range fx.ids {
			ok, err := l.Claim([]byte(id), fx.at[id])
			require.False(t, ok, "%s granted again after %s %s", id, filepath.Base(victim), what)
			if err != nil {
				require.ErrorIs(t, err, ErrCorruptLedger, "%s %s", filepath.Base(victim), what)
			}
		}
		for i := 0; i < 2; i++ {
			ok, err := l.Claim([]byte("fresh"), fx.c.Now())
			if err != nil {
				require.ErrorIs(t, err, ErrCorruptLedger)
			}
			require.False(t, ok && i == 1, "fresh granted twice")
			if !ok && err == nil {
				require.Equal(t, 1, i, "fresh refused the first time")
			}
		}
		require.NoError(t, l.Close())
	}
}

func flipBit(t *testing.T, path string, off int64) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[off] ^= 0x10
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// fullSlot is the number of a slot in use in the table at path.
func fullSlot(t *testing.T, path string) uint64 {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for i := uint64(0); headerPage+int((i+1)*slotSize) <= len(b); i++ {
		if kind, _ := decodeSlot(b[headerPage+i*slotSize:], i); kind == slotFull {
			return i
		}
	}
	t.Fatal("no slot in use")
	return 0
}
