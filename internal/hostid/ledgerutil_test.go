package hostid

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// ledgerStats is what checkLedger found.
type ledgerStats struct {
	entries      int   // distinct claims in the tables the index refers to
	bytes        int64 // apparent size of every file in the directory
	tables       int   // table files in the directory
	unreferenced int   // table files the index does not refer to
	poisoned     int   // poisoned epochs
}

// checkLedger reads a ledger directory from scratch and fails the test
// unless it is consistent: a valid index; for each epoch it lists, a
// current table (and predecessor while copying) with valid headers and
// slots, a count no lower than the entries, and every entry reachable from
// its home slot. Poisoned epochs fail it unless allowPoison.
func checkLedger(t testing.TB, dir string, allowPoison bool) ledgerStats {
	t.Helper()
	var st ledgerStats
	b, err := os.ReadFile(filepath.Join(dir, indexName))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(b), indexSize)
	x, err := decodeIndex(b[:indexSize]) // the ledger reads no further
	require.NoError(t, err, "index")
	files := map[string]bool{}
	for _, e := range entries(t, dir) {
		fi, err := os.Stat(filepath.Join(dir, e))
		require.NoError(t, err)
		st.bytes += fi.Size()
		if _, _, ok := parseTableName(e); ok {
			st.tables++
			files[e] = false
		}
	}
	for _, r := range x.recs {
		if r.state == stateFree {
			continue
		}
		if r.state == statePoisoned {
			require.True(t, allowPoison, "epoch %d is poisoned", r.epoch)
			st.poisoned++
			continue
		}
		seen := map[[fpSize]byte]bool{}
		h := checkTable(t, dir, r.epoch, r.gen, seen)
		files[tableName(r.epoch, r.gen)] = true
		if h.srcGen != 0 {
			checkTable(t, dir, r.epoch, h.srcGen, seen)
			files[tableName(r.epoch, h.srcGen)] = true
		}
		st.entries += len(seen)
	}
	for _, ref := range files {
		if !ref {
			st.unreferenced++
		}
	}
	return st
}

func checkTable(t testing.TB, dir string, epoch int64, gen uint32, seen map[[fpSize]byte]bool) header {
	t.Helper()
	name := tableName(epoch, gen)
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err, "table %s", name)
	require.GreaterOrEqual(t, len(b), headerPage, name)
	h, err := decodeHeader(b[:headerSize])
	require.NoError(t, err, name)
	require.Equal(t, epoch, h.epoch, name)
	require.Equal(t, gen, h.gen, name)
	require.Equal(t, int(slotOffset(h.size)), len(b), "%s size", name)
	slots := b[headerPage:]
	n := uint64(0)
	for i := uint64(0); i < h.size; i++ {
		kind, fp := decodeSlot(slots[i*slotSize:], i)
		require.NotEqual(t, slotBad, kind, "%s slot %d", name, i)
		if kind == slotEmpty {
			continue
		}
		n++
		seen[fp] = true
		// Linear probing finds fp only if no slot between its home and
		// i is empty.
		for j := home(&fp, h.size); j != i; j = (j + 1) % h.size {
			kind, _ := decodeSlot(slots[j*slotSize:], j)
			require.Equal(t, slotFull, kind, "%s: slot %d of an entry at %d is empty", name, j, i)
		}
	}
	if h.srcGen == 0 {
		// Copied-in entries are counted when written; an entry copied twice
		// after a crash can only raise the count.
		require.GreaterOrEqual(t, h.count, n, "%s count", name)
	}
	return h
}

// Helper processes: the test binary, re-run with helperEnv naming a shared
// directory, plays one of the processes of a cross-process test (see
// TestMain). Its parameters are environment variables helperPrefix+NAME.
const (
	helperEnv     = "GOSSPI_HOSTID_TEST_HELPER_DIR"
	helperPrefix  = "GOSSPI_HOSTID_TEST_"
	helperModeEnv = helperPrefix + "MODE"
)

func helperCmd(dir string, env map[string]string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	for k, v := range env {
		if !strings.HasPrefix(k, helperPrefix) {
			k = helperPrefix + k
		}
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// runHelpers runs n helper processes, releases them together, and returns
// what each printed. All must succeed.
func runHelpers(t *testing.T, dir string, n int, env map[string]string) []string {
	t.Helper()
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = helperCmd(dir, env)
		outs[i] = new(bytes.Buffer)
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		require.NoError(t, cmds[i].Start())
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go"), nil, 0o600))
	res := make([]string, n)
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "process %d:\n%s", i, outs[i])
		res[i] = outs[i].String()
	}
	require.NoError(t, os.Remove(filepath.Join(dir, "go")))
	return res
}

func helperArg(name string) string { return os.Getenv(helperPrefix + name) }

func helperTime(name string) (time.Time, error) {
	n, err := strconv.ParseInt(helperArg(name), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	return time.Unix(0, n), nil
}

// runHelper is the body of a helper process.
func runHelper(mode, dir string) error {
	if s := helperArg("SLOTS"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return err
		}
		initialSlots = n
	}
	switch mode {
	case "":
		return helperProcess(dir)
	case "claims":
		return helperClaims(dir)
	case "churn":
		return helperChurn(dir)
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// waitRelease waits for the parent to create dir/go, so helpers start
// their work together.
func waitRelease(dir string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("never released")
		}
		time.Sleep(time.Millisecond)
	}
}

// helperClaims claims the IDs in $IDS (comma-separated), exported at $AT,
// in order or (with $SHUFFLE) in a random order, and prints each result.
func helperClaims(dir string) error {
	at, err := helperTime("AT")
	if err != nil {
		return err
	}
	ids := strings.Split(helperArg("IDS"), ",")
	if helperArg("SHUFFLE") != "" {
		rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	}
	if err := waitRelease(dir); err != nil {
		return err
	}
	l, err := OpenLedger(dir)
	if err != nil {
		return err
	}
	defer l.Close()
	var out bytes.Buffer
	for _, id := range ids {
		ok, err := l.Claim([]byte(id), at)
		if err != nil {
			return fmt.Errorf("claim %s: %w", id, err)
		}
		fmt.Fprintf(&out, "CLAIMED %s %t\n", id, ok)
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}
