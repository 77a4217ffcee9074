package hostid

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errCrash = errors.New("simulated death of the process")

// crashStep is one claim of crashScript: an ID with its export time,
// claimed when the clock reads now.
type crashStep struct {
	id      string
	at, now time.Time
}

// crashScript is a run of claims that makes tables grow and copy several
// times, starts epochs, and prunes: every kind of change the ledger makes.
// Some steps repeat an earlier claim, as a replayed blob would.
func crashScript() []crashStep {
	var s []crashStep
	exported := map[string]time.Time{}
	now := t0.Add(time.Hour)
	add := func(id string) {
		if _, ok := exported[id]; !ok {
			exported[id] = now
		}
		s = append(s, crashStep{id, exported[id], now})
	}
	// One epoch's table grows from 32 slots four times.
	for i := 0; i < 100; i++ {
		now = now.Add(10 * time.Second)
		add(fmt.Sprint("a", i))
		if i%5 == 4 {
			add(fmt.Sprint("a", i/2))
		}
	}
	// The next epoch, with late imports of the first.
	now = epochStart(epochOf(now) + 1).Add(time.Minute)
	for i := 0; i < 40; i++ {
		now = now.Add(10 * time.Second)
		add(fmt.Sprint("b", i))
		if i%4 == 0 {
			add(fmt.Sprint("a", i))
		}
	}
	// Past Retention for the first epoch: it is pruned.
	now = now.Add(Retention - 30*time.Minute)
	for i := 0; i < 20; i++ {
		now = now.Add(10 * time.Second)
		add(fmt.Sprint("c", i))
		add(fmt.Sprint("a", i)) // too old
		add(fmt.Sprint("b", i)) // still kept
	}
	return s
}

// TestLedgerCrashAtEveryWrite stops the process, in effect, at each change
// the ledger makes to its files in turn: the files are left as they are at
// that point, the lock is dropped, and a new Ledger carries on. No claim
// may ever be granted twice, no claim may fail for damage, and the
// directory must stay consistent.
func TestLedgerCrashAtEveryWrite(t *testing.T) {
	withSlots(t, minSlots)
	script := crashScript()
	parent := t.TempDir()
	total := runCrashScript(t, parent, script, 0)
	require.Greater(t, total, len(script))
	t.Logf("%d claims, %d writes", len(script), total)
	stride := 1
	if testing.Short() || raceEnabled {
		stride = 7
	}
	for at := 1; at <= total; at += stride {
		runCrashScript(t, parent, script, at)
		if t.Failed() {
			t.Fatalf("crash at write %d", at)
		}
	}
}

// runCrashScript runs script in a new directory under parent, "killing"
// the process at write number crashAt (never if 0), and returns how many
// writes the run made.
func runCrashScript(t *testing.T, parent string, script []crashStep, crashAt int) int {
	dir, err := os.MkdirTemp(parent, "run")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	writes, dead := 0, false
	testHookWrite = func() error {
		if dead {
			return errCrash
		}
		writes++
		if writes == crashAt {
			dead = true
			return errCrash
		}
		return nil
	}
	defer func() { testHookWrite = nil }()

	c := newTestClock(script[0].now)
	open := func() *Ledger {
		for {
			l, err := openLedger(dir, c.Now)
			if err == nil {
				return l
			}
			require.True(t, dead, "open: %v", err)
			dead = false // the next process
		}
	}
	l := open()
	defer func() { l.Close() }()
	wins := map[string]int{}
	for i := 0; i < len(script); i++ {
		st := script[i]
		c.Set(st.now)
		ok, err := l.Claim([]byte(st.id), st.at)
		if ok {
			wins[st.id]++
			require.Equal(t, 1, wins[st.id], "%s granted twice (step %d, crash at %d)", st.id, i, crashAt)
		}
		if dead {
			// The process died in this claim; the next one retries it.
			l.Close()
			dead = false
			l = open()
			i--
			continue
		}
		if err != nil {
			require.ErrorIs(t, err, ErrTooOld, "step %d (%s), crash at %d", i, st.id, crashAt)
			require.False(t, ok)
		}
	}
	checkLedger(t, filepath.Join(dir, ledgerDirName), false)
	for id := range wins {
		ok, err := l.Claim([]byte(id), exportTimeOf(script, id))
		require.False(t, ok, "%s granted again at the end (crash at %d)", id, crashAt)
		if err != nil {
			require.ErrorIs(t, err, ErrTooOld)
		}
	}
	return writes
}

func exportTimeOf(script []crashStep, id string) time.Time {
	for _, s := range script {
		if s.id == id {
			return s.at
		}
	}
	panic("no " + id)
}

// Parameters of the churn helpers of TestLedgerKilledMidClaim: ID k is
// exported at origin+k*churnStep, and the helpers' clock runs churnSpeed
// times real time, so tables grow, epochs pass and are pruned within
// seconds.
const (
	churnStep  = 10 * time.Second
	churnSpeed = 60000
)

// churnClock is the helpers' clock: fake time base at real time start.
func churnClock(base, start time.Time) func() time.Time {
	return func() time.Time { return base.Add(time.Since(start) * churnSpeed) }
}

func churnID(origin time.Time, k int64) ([]byte, time.Time) {
	return []byte("churn-" + strconv.FormatInt(k, 10)), origin.Add(time.Duration(k) * churnStep)
}

// helperChurn claims IDs exported up to a little more than Retention
// before its fast clock, until it is killed, and prints "WON k" for each
// claim it makes and "ERR" for any error other than a refused export time.
func helperChurn(dir string) error {
	base, err := helperTime("BASE")
	if err != nil {
		return err
	}
	start, err := helperTime("START")
	if err != nil {
		return err
	}
	clock := churnClock(base, start)
	origin := base.Add(-Retention)
	l, err := openLedger(dir, clock)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano() + int64(os.Getpid())))
	window := int64(Retention/churnStep) * 11 / 10
	for {
		k := int64(clock().Sub(origin)/churnStep) - rng.Int63n(window)
		if k < 0 {
			continue
		}
		id, at := churnID(origin, k)
		ok, err := l.Claim(id, at)
		switch {
		case ok:
			fmt.Printf("WON %d\n", k)
		case errors.Is(err, ErrTooOld), errors.Is(err, ErrInFuture), err == nil:
		default:
			fmt.Printf("ERR %d %v\n", k, err)
		}
	}
}

// TestLedgerKilledMidClaim starts processes that claim as fast as they can
// from one pool of IDs, on a clock fast enough that tables grow and epochs
// are pruned under them, and kills them with SIGKILL (TerminateProcess on
// Windows) at random moments, round after round. Afterwards no ID may
// have been won twice, every won ID must still be refused, the files must
// be consistent, and the ledger must carry on: nothing left by a killed
// process may block it or stay behind.
func TestLedgerKilledMidClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	dir := t.TempDir()
	start := time.Now()
	base := start // fake time at start; IDs are exported from base-Retention on
	origin := base.Add(-Retention)
	env := map[string]string{
		helperModeEnv: "churn",
		"BASE":        fmt.Sprint(base.UnixNano()),
		"START":       fmt.Sprint(start.UnixNano()),
		"SLOTS":       "32",
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	wins := map[int64]int{}
	const rounds, procs = 30, 3
	for round := 0; round < rounds; round++ {
		cmds := make([]*exec.Cmd, procs)
		outs := make([]*bytes.Buffer, procs)
		for i := range cmds {
			cmds[i] = helperCmd(dir, env)
			outs[i] = new(bytes.Buffer)
			cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
			require.NoError(t, cmds[i].Start())
		}
		for i, cmd := range cmds {
			time.Sleep(time.Duration(rng.Int63n(int64(60 * time.Millisecond))))
			require.NoError(t, cmd.Process.Kill())
			err := cmd.Wait()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "process %d of round %d ended by itself: %v\n%s", i, round, err, outs[i])
			for _, line := range strings.Split(outs[i].String(), "\n") {
				var k int64
				if _, err := fmt.Sscanf(line, "WON %d", &k); err == nil {
					wins[k]++
					assert.Equal(t, 1, wins[k], "churn-%d won twice", k)
				}
				assert.NotContains(t, line, "ERR", "round %d", round)
				assert.NotContains(t, line, "panic", "round %d", round)
			}
		}
	}
	require.NotEmpty(t, wins)
	clock := churnClock(base, start)
	t.Logf("%d IDs won in %d rounds; the helpers' clock moved %s", len(wins), rounds, clock().Sub(base).Round(time.Hour))

	done := make(chan struct{})
	go func() {
		defer close(done)
		l := openAt(t, dir, newTestClock(clock()))
		l.now = clock
		st := checkLedger(t, l.Dir(), false)
		t.Logf("%d entries in %d tables (%d unreferenced), %d bytes", st.entries, st.tables, st.unreferenced, st.bytes)
		for k := range wins {
			id, at := churnID(origin, k)
			ok, err := l.Claim(id, at)
			assert.False(t, ok, "churn-%d granted again", k)
			if err != nil {
				assert.ErrorIs(t, err, ErrTooOld, "churn-%d", k)
			}
		}
		// A fresh claim works, and past every epoch the killed processes
		// touched, pruning leaves nothing of theirs. (Closing l first: on
		// Windows a removed file's name stays while a handle is open.)
		assert.True(t, claim(t, l, "fresh", clock()))
		require.NoError(t, l.Close())
		later := newTestClock(clock().Add(Retention + 2*epochLen))
		l2 := openAt(t, dir, later)
		assert.True(t, claim(t, l2, "later", later.Now()))
		assert.Equal(t, []string{tableName(epochOf(later.Now()), 1)}, tableFiles(t, l2.Dir()))
		assert.ElementsMatch(t, []string{indexName, tableName(epochOf(later.Now()), 1)}, entries(t, l2.Dir()))
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the ledger is stuck after the kills")
	}
}
