package hostid

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testClock is a ledger clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// t0 is a test epoch boundary, so tests know where epochs start.
var t0 = epochStart(epochOf(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))

// openAt opens a ledger on dir with a test clock and closes it at the end
// of the test.
func openAt(t testing.TB, dir string, c *testClock) *Ledger {
	t.Helper()
	l, err := openLedger(dir, c.Now)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// withSlots makes new tables start at n slots for the rest of the test.
func withSlots(t testing.TB, n uint64) {
	old := initialSlots
	initialSlots = n
	t.Cleanup(func() { initialSlots = old })
}

func claim(t testing.TB, l *Ledger, id string, at time.Time) bool {
	t.Helper()
	ok, err := l.Claim([]byte(id), at)
	require.NoError(t, err, "claim %s at %s", id, at)
	return ok
}

func TestLedgerClaimOnce(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLedger(dir)
	require.NoError(t, err)
	defer l.Close()
	assert.Equal(t, filepath.Join(dir, "ledger"), l.Dir())
	now := time.Now()

	assert.True(t, claim(t, l, "blob-1", now))
	assert.False(t, claim(t, l, "blob-1", now), "second claim")
	assert.True(t, claim(t, l, "blob-2", now), "another ID is independent")

	// Another Ledger on the same directory (as another process would open)
	// sees the claims.
	l2, err := OpenLedger(dir)
	require.NoError(t, err)
	defer l2.Close()
	assert.False(t, claim(t, l2, "blob-1", now))
	assert.False(t, claim(t, l2, "blob-2", now))

	if runtime.GOOS != "windows" {
		for _, e := range entries(t, l.Dir()) {
			fi, err := os.Stat(filepath.Join(l.Dir(), e))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), e)
		}
		di, err := os.Stat(l.Dir())
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	}
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "twice")
	_, err = l.Claim([]byte("blob-3"), now)
	assert.ErrorIs(t, err, errClosed)
}

func TestLedgerClaimErrors(t *testing.T) {
	_, err := OpenLedger("")
	assert.Error(t, err)
	l, err := OpenLedger(t.TempDir())
	require.NoError(t, err)
	defer l.Close()
	now := time.Now()
	for _, id := range [][]byte{nil, {}, make([]byte, MaxClaimID+1)} {
		ok, err := l.Claim(id, now)
		assert.Error(t, err, "id of %d bytes", len(id))
		assert.False(t, ok)
	}
	assert.True(t, claim(t, l, string(make([]byte, MaxClaimID)), now), "the longest ID")
	assert.True(t, claim(t, l, "\x00", now), "a one-byte ID")
}

// TestLedgerExportTimeWindow pins the window of export times a claim
// accepts: less than Retention old, at most an hour ahead.
func TestLedgerExportTimeWindow(t *testing.T) {
	c := newTestClock(t0.Add(5 * time.Hour))
	now := c.Now()
	for name, l := range map[string]interface {
		Claim([]byte, time.Time) (bool, error)
	}{"disk": openAt(t, t.TempDir(), c), "memory": &MemLedger{now: c.Now, epochs: map[int64]*memEpoch{}}} {
		t.Run(name, func(t *testing.T) {
			for i, tc := range []struct {
				at      time.Time
				wantErr error
			}{
				{now, nil},
				{now.Add(-Retention + time.Second), nil},
				{now.Add(-Retention + time.Nanosecond), nil},
				{now.Add(-Retention), ErrTooOld},
				{now.Add(-30 * 24 * time.Hour), ErrTooOld},
				{time.Time{}, ErrTooOld},
				{time.Unix(0, 0), ErrTooOld},
				{now.Add(maxFuture), nil},
				{now.Add(maxFuture + time.Nanosecond), ErrInFuture},
				{now.Add(10 * time.Hour), ErrInFuture},
				{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ErrInFuture},
			} {
				ok, err := l.Claim([]byte(fmt.Sprint("id-", i)), tc.at)
				if tc.wantErr != nil {
					assert.ErrorIs(t, err, tc.wantErr, "case %d: %s", i, tc.at)
					assert.False(t, ok)
					continue
				}
				assert.NoError(t, err, "case %d", i)
				assert.True(t, ok, "case %d", i)
			}
		})
	}
}

// TestLedgerClockSkewReplay is the regression test for the replay found
// under adversarial testing: a fake machine whose clock is 11 hours or 30
// days behind made claims that the next ledger pruned at once. Whatever an
// emulated clock says, the ledger now sees only the real export time; an
// imported blob stays refused by every new Ledger and every process for
// as long as it is importable at all, and then is refused as too old.
func TestLedgerClockSkewReplay(t *testing.T) {
	dir := t.TempDir()
	realNow := time.Now()
	behind := map[string]time.Duration{"11h": 11 * time.Hour, "30d": 30 * 24 * time.Hour}

	l, err := OpenLedger(dir)
	require.NoError(t, err)
	defer l.Close()
	// The blob's export time is the realNow time, not the fake machine's:
	// claims succeed once whatever the machine's clock.
	for name := range behind {
		assert.True(t, claim(t, l, "blob-"+name, realNow), name)
	}
	// Had a fake clock's time reached the ledger, it would be refused
	// outright (30 days), or kept the full window (11 hours): never
	// forgotten early.
	ok, err := l.Claim([]byte("skewed-30d"), realNow.Add(-behind["30d"]))
	assert.ErrorIs(t, err, ErrTooOld)
	assert.False(t, ok)
	assert.True(t, claim(t, l, "skewed-11h", realNow.Add(-behind["11h"])))

	// New Ledgers on the directory, as new HostMachines open, refuse them.
	for i := 0; i < 3; i++ {
		l2, err := OpenLedger(dir)
		require.NoError(t, err)
		for name := range behind {
			assert.False(t, claim(t, l2, "blob-"+name, realNow), "new ledger %d, %s", i, name)
		}
		assert.False(t, claim(t, l2, "skewed-11h", realNow.Add(-behind["11h"])))
		require.NoError(t, l2.Close())
	}

	// So do other OS processes.
	if !testing.Short() {
		outs := runHelpers(t, dir, 2, map[string]string{
			helperModeEnv: "claims",
			"IDS":         "blob-11h,blob-30d",
			"AT":          fmt.Sprint(realNow.UnixNano()),
		})
		for _, out := range outs {
			assert.Contains(t, out, "CLAIMED blob-11h false")
			assert.Contains(t, out, "CLAIMED blob-30d false")
		}
	}

	// As realNow time passes, through every prune, no new ledger ever grants
	// the claim again; past Retention it is refused as too old.
	c := newTestClock(realNow)
	for step := 0; step <= 3*int(Retention/time.Hour); step++ {
		l3 := openAt(t, dir, c)
		ok, err := l3.Claim([]byte("skewed-11h"), realNow.Add(-behind["11h"]))
		require.False(t, ok, "granted again %s later", c.Now().Sub(realNow))
		if err != nil {
			require.ErrorIs(t, err, ErrTooOld)
			require.GreaterOrEqual(t, c.Now().Sub(realNow.Add(-behind["11h"])), Retention)
		}
		ok, err = l3.Claim([]byte("blob-11h"), realNow)
		require.False(t, ok, "granted again %s later", c.Now().Sub(realNow))
		if err != nil {
			require.ErrorIs(t, err, ErrTooOld)
		}
		require.NoError(t, l3.Close())
		c.Add(time.Hour)
	}
}

func TestLedgerConcurrentClaims(t *testing.T) {
	dir := t.TempDir()
	withSlots(t, minSlots) // grow and copy while contested
	now := time.Now()
	const ids, ledgers, perLedger = 300, 3, 4
	var wins [ids]atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < ledgers; i++ {
		l, err := OpenLedger(dir)
		require.NoError(t, err)
		defer l.Close()
		for j := 0; j < perLedger; j++ {
			wg.Add(1)
			go func(seed int) {
				defer wg.Done()
				for k := 0; k < ids; k++ {
					id := (k*7 + seed*31) % ids
					ok, err := l.Claim([]byte(fmt.Sprint("contested-", id)), now)
					assert.NoError(t, err)
					if ok {
						wins[id].Add(1)
					}
				}
			}(i*perLedger + j)
		}
	}
	wg.Wait()
	for id := range wins {
		assert.EqualValues(t, 1, wins[id].Load(), "id %d", id)
	}
	checkLedger(t, filepath.Join(dir, ledgerDirName), false)
}

// TestLedgerProcessesClaimOnce runs several OS processes that claim the
// same IDs, each in its own order, at the same moment: each ID is won by
// exactly one.
func TestLedgerProcessesClaimOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	const n = 400
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("shared-", i)
	}
	outs := runHelpers(t, dir, 4, map[string]string{
		helperModeEnv: "claims",
		"IDS":         strings.Join(ids, ","),
		"AT":          fmt.Sprint(time.Now().UnixNano()),
		"SLOTS":       "32",
		"SHUFFLE":     "1",
	})
	wins := map[string]int{}
	for _, out := range outs {
		for _, line := range strings.Split(out, "\n") {
			var id string
			var won bool
			if _, err := fmt.Sscanf(line, "CLAIMED %s %t", &id, &won); err == nil && won {
				wins[id]++
			}
		}
	}
	for _, id := range ids {
		assert.Equal(t, 1, wins[id], id)
	}
	checkLedger(t, filepath.Join(dir, ledgerDirName), false)
}

// TestLedgerGrowth fills one epoch's table far past its first size: every
// ID is claimed once, through several generations and copies, and at most
// two generations exist at any time.
func TestLedgerGrowth(t *testing.T) {
	withSlots(t, minSlots)
	dir := t.TempDir()
	c := newTestClock(t0.Add(time.Hour))
	l := openAt(t, dir, c)
	at := c.Now()
	const n = 3000
	for i := 0; i < n; i++ {
		require.True(t, claim(t, l, fmt.Sprint("g-", i), at), i)
		if i%97 == 0 {
			// Earlier IDs stay claimed in the middle of a copy.
			require.False(t, claim(t, l, fmt.Sprint("g-", i/2), at), i/2)
			tables := 0
			for _, e := range entries(t, l.Dir()) {
				if strings.HasSuffix(e, tableSuffix) {
					tables++
				}
			}
			require.LessOrEqual(t, tables, 2)
		}
	}
	st := checkLedger(t, l.Dir(), false)
	assert.Equal(t, n, st.entries)
	l2 := openAt(t, dir, c)
	for i := 0; i < n; i++ {
		require.False(t, claim(t, l2, fmt.Sprint("g-", i), at), i)
	}
	// Grown tables keep 20 to 50 bytes per entry (see growSize).
	assert.LessOrEqual(t, st.bytes, int64(n*50+2*headerPage), "%d bytes for %d entries", st.bytes, n)
}

// TestLedgerPrune checks that whole epochs are forgotten, and their files
// removed, once their newest export time is Retention old, and not before.
func TestLedgerPrune(t *testing.T) {
	dir := t.TempDir()
	c := newTestClock(t0)
	l := openAt(t, dir, c)
	// One claim early in each of three epochs.
	at := func(i int) time.Time { return t0.Add(time.Duration(i)*epochLen + 30*time.Minute) }
	for i := 0; i < 3; i++ {
		c.Set(at(i))
		require.True(t, claim(t, l, fmt.Sprint("e", i), at(i)))
	}
	assert.Len(t, tableFiles(t, l.Dir()), 3)

	// Epoch 0 ends at t0+epochLen: at t0+epochLen+Retention its claims are
	// all Retention old.
	c.Set(t0.Add(epochLen + Retention - time.Second))
	assert.False(t, claim(t, l, "e1", at(1)))
	assert.Len(t, tableFiles(t, l.Dir()), 3, "epoch 0 may still hold claims")
	c.Set(t0.Add(epochLen + Retention))
	assert.False(t, claim(t, l, "e1", at(1)))
	assert.Equal(t, []string{tableName(epochOf(t0)+1, 1), tableName(epochOf(t0)+2, 1)}, tableFiles(t, l.Dir()))
	_, err := l.Claim([]byte("e0"), at(0))
	assert.ErrorIs(t, err, ErrTooOld)

	// Files that are not the ledger's are left alone.
	require.NoError(t, os.WriteFile(filepath.Join(l.Dir(), "README"), []byte("x"), 0o600))
	c.Set(t0.Add(10 * Retention))
	assert.True(t, claim(t, l, "late", c.Now()))
	assert.Equal(t, []string{tableName(epochOf(c.Now()), 1)}, tableFiles(t, l.Dir()))
	assert.FileExists(t, filepath.Join(l.Dir(), "README"))
}

// TestLedgerPruneBoundsDisk claims steadily, with export times spread over
// four times Retention: disk use follows the claims of the last Retention
// (plus an epoch), not all claims ever made.
func TestLedgerPruneBoundsDisk(t *testing.T) {
	withSlots(t, minSlots)
	dir := t.TempDir()
	c := newTestClock(t0)
	l := openAt(t, dir, c)
	const perHour = 200
	var times []time.Time // export times of all claims, in order
	maxPerLive := 0.0
	for h := 0; h < 4*int(Retention/time.Hour); h++ {
		for i := 0; i < perHour; i++ {
			c.Add(time.Hour / perHour)
			at := c.Now().Add(-time.Duration(i%60) * time.Second) // a little behind now
			require.True(t, claim(t, l, fmt.Sprint(h, "-", i), at))
			times = append(times, at)
		}
		// Claims the ledger must keep: those exported in the last Retention.
		live := 0
		for _, at := range times {
			if c.Now().Sub(at) < Retention {
				live++
			}
		}
		st := checkLedger(t, l.Dir(), false)
		perLive := float64(st.bytes) / float64(live)
		maxPerLive = max(maxPerLive, perLive)
		if h >= int(Retention/time.Hour) {
			// Beyond fixed costs (a header page per table), at most 64
			// bytes per live claim.
			fixed := int64(st.tables * headerPage)
			require.LessOrEqual(t, st.bytes-fixed, int64(64*live), "hour %d: %d bytes, %d live claims, %d tables", h, st.bytes, live, st.tables)
			require.LessOrEqual(t, st.tables, int(Retention/epochLen)+3, "hour %d", h)
		}
	}
	t.Logf("%d claims; at most %.1f bytes per live claim", len(times), maxPerLive)
}

// TestLedgerClockSetBack: pruning at a clock set forward by days must not
// let claims return when the clock is set back; those export times are
// refused until the clock catches up.
func TestLedgerClockSetBack(t *testing.T) {
	dir := t.TempDir()
	c := newTestClock(t0.Add(time.Hour))
	l := openAt(t, dir, c)
	before := c.Now()
	require.True(t, claim(t, l, "before", before))

	c.Set(before.Add(3 * Retention)) // set forward by mistake
	require.True(t, claim(t, l, "ahead", c.Now()))
	assert.Len(t, tableFiles(t, l.Dir()), 1, "the early epoch is pruned")

	c.Set(before.Add(time.Minute)) // and back
	for _, l := range []*Ledger{l, openAt(t, dir, c)} {
		ok, err := l.Claim([]byte("before"), before)
		assert.ErrorIs(t, err, ErrTooOld, "a pruned claim must not come back")
		assert.False(t, ok)
		_, err = l.Claim([]byte("new"), c.Now())
		assert.ErrorIs(t, err, ErrTooOld, "export times the ledger may have forgotten are refused")
		_, err = l.Claim([]byte("ahead"), before.Add(3*Retention))
		assert.ErrorIs(t, err, ErrInFuture)
	}
	c.Set(before.Add(3 * Retention))
	assert.False(t, claim(t, l, "ahead", c.Now()), "claims made while ahead are kept")
	assert.True(t, claim(t, l, "new", c.Now()))
}

// TestOpenLedgerUnwritable: a directory the process cannot write fails
// OpenLedger, so HostMachine fails up front instead of every import.
func TestOpenLedgerUnwritable(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := t.TempDir()
	l, err := OpenLedger(dir)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	ld := filepath.Join(dir, ledgerDirName)
	if os.Geteuid() == 0 {
		// Permission bits do not stop root; the immutable attribute does.
		if out, err := exec.Command("chattr", "+i", ld).CombinedOutput(); err != nil {
			t.Skipf("root, and chattr +i failed: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", ld).Run() })
	} else {
		require.NoError(t, os.Chmod(ld, 0o500))
		t.Cleanup(func() { os.Chmod(ld, 0o700) })
	}
	_, err = OpenLedger(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not writable")
}

func TestLedgerRefusesNewerFormat(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLedger(dir)
	require.NoError(t, err)
	require.True(t, claim(t, l, "x", time.Now()))
	require.NoError(t, l.Close())

	path := filepath.Join(dir, ledgerDirName, indexName)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[8] = 2 // version 2, checksum fixed up
	encodeCRC(b)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, err = OpenLedger(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer version")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, b, after, "left as it was")
}

// encodeCRC fixes up the checksum at the end of an index or header.
func encodeCRC(b []byte) {
	n := len(b)
	x := crc32c(b[:n-4])
	b[n-4], b[n-3], b[n-2], b[n-1] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
}

func tableFiles(t testing.TB, dir string) []string {
	t.Helper()
	var names []string
	for _, e := range entries(t, dir) {
		if _, _, ok := parseTableName(e); ok {
			names = append(names, e)
		}
	}
	sort.Strings(names)
	return names
}
