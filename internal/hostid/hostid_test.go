package hostid

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validID = "0123456789abcdef0123456789abcdef"

func TestReadMachineID(t *testing.T) {
	const etc, dbus = "etc/machine-id", "var/lib/dbus/machine-id"
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for name, tc := range map[string]struct {
		files fstest.MapFS
		want  string // "" means ErrNoIdentity
	}{
		"valid":                  {fstest.MapFS{etc: file(validID + "\n")}, validID},
		"no newline":             {fstest.MapFS{etc: file(validID)}, validID},
		"spaces around":          {fstest.MapFS{etc: file("  " + validID + " \n\n")}, validID},
		"uppercase":              {fstest.MapFS{etc: file(strings.ToUpper(validID))}, validID},
		"etc wins over dbus":     {fstest.MapFS{etc: file(validID), dbus: file("ffffffffffffffffffffffffffffffff")}, validID},
		"dbus fallback":          {fstest.MapFS{dbus: file(validID + "\n")}, validID},
		"empty etc, dbus":        {fstest.MapFS{etc: file(""), dbus: file(validID)}, validID},
		"uninitialized, dbus":    {fstest.MapFS{etc: file("uninitialized\n"), dbus: file(validID)}, validID},
		"none":                   {fstest.MapFS{}, ""},
		"empty":                  {fstest.MapFS{etc: file("")}, ""},
		"whitespace":             {fstest.MapFS{etc: file(" \n")}, ""},
		"uninitialized":          {fstest.MapFS{etc: file("uninitialized\n")}, ""},
		"all zeros":              {fstest.MapFS{etc: file(strings.Repeat("0", 32) + "\n")}, ""},
		"all zeros both":         {fstest.MapFS{etc: file(strings.Repeat("0", 32)), dbus: file(strings.Repeat("0", 32))}, ""},
		"31 chars":               {fstest.MapFS{etc: file(validID[:31])}, ""},
		"33 chars":               {fstest.MapFS{etc: file(validID + "0")}, ""},
		"not hex":                {fstest.MapFS{etc: file(validID[:31] + "g")}, ""},
		"GUID form":              {fstest.MapFS{etc: file("01234567-89ab-cdef-0123-456789abcdef")}, ""},
		"two IDs":                {fstest.MapFS{etc: file(validID + "\n" + validID + "\n")}, ""},
		"huge":                   {fstest.MapFS{etc: file(strings.Repeat("a", 1<<20))}, ""},
		"embedded NUL":           {fstest.MapFS{etc: file(validID[:16] + "\x00" + validID[17:])}, ""},
		"directory, not a file":  {fstest.MapFS{etc + "/x": file(validID)}, ""},
		"huge etc, valid dbus":   {fstest.MapFS{etc: file(strings.Repeat("a", 1<<20)), dbus: file(validID)}, validID},
		"malformed both, detail": {fstest.MapFS{etc: file("x"), dbus: file("y")}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := readMachineID(tc.files, etc, dbus)
			if tc.want == "" {
				require.ErrorIs(t, err, ErrNoIdentity)
				assert.Empty(t, got)
				assert.Contains(t, err.Error(), etc, "the error should say what was tried")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseGUID(t *testing.T) {
	for in, want := range map[string]string{
		"8B7E2D58-3A4B-5C6D-9E0F-112233445566":      "8b7e2d58-3a4b-5c6d-9e0f-112233445566",
		" 8b7e2d58-3a4b-5c6d-9e0f-112233445566\r\n": "8b7e2d58-3a4b-5c6d-9e0f-112233445566",
		"":                                       "",
		"00000000-0000-0000-0000-000000000000":   "",
		"8B7E2D58-3A4B-5C6D-9E0F-11223344556":    "",
		"8B7E2D58-3A4B-5C6D-9E0F-1122334455667":  "",
		"8B7E2D583A4B-5C6D-9E0F-1122334455667":   "",
		"{8B7E2D58-3A4B-5C6D-9E0F-112233445566}": "",
		"8B7E2D58-3A4B-5C6D-9E0F-11223344556Z":   "",
		"8B7E2D58_3A4B_5C6D_9E0F_112233445566":   "",
	} {
		got, err := parseGUID(in)
		if want == "" {
			assert.Error(t, err, "%q", in)
			continue
		}
		if assert.NoError(t, err, "%q", in) {
			assert.Equal(t, want, got)
		}
	}
}

func TestParseIOReg(t *testing.T) {
	const sample = `+-o MacBookPro18,3  <class IOPlatformExpertDevice, id 0x100000110, registered, matched, active, busy 0 (40 ms), retain 38>
    {
      "IOPolledInterface" = "AppleARMWatchdogTimerHibernateHandler is not serializable"
      "IOPlatformSerialNumber" = "C02XXXXXXXXX"
      "IOPlatformUUID" = "8B7E2D58-3A4B-5C6D-9E0F-112233445566"
      "model" = <"MacBookPro18,3">
    }
`
	got, err := parseIOReg([]byte(sample))
	require.NoError(t, err)
	assert.Equal(t, "8b7e2d58-3a4b-5c6d-9e0f-112233445566", got)

	for name, out := range map[string]string{
		"empty":     "",
		"no UUID":   `"IOPlatformSerialNumber" = "C02XXXXXXXXX"`,
		"unquoted":  `"IOPlatformUUID" = 8B7E2D58-3A4B-5C6D-9E0F-112233445566`,
		"zero UUID": `"IOPlatformUUID" = "00000000-0000-0000-0000-000000000000"`,
		"bad UUID":  `"IOPlatformUUID" = "not-a-uuid"`,
		"one quote": `"IOPlatformUUID" = "`,
	} {
		_, err := parseIOReg([]byte(out))
		assert.ErrorIs(t, err, ErrNoIdentity, name)
	}
}

func TestDeriveID(t *testing.T) {
	a := deriveID(validID)
	assert.Len(t, a, 32)
	assert.True(t, isHex(a))
	assert.Equal(t, a, deriveID(validID), "deterministic")
	assert.NotEqual(t, a, deriveID("1"+validID[1:]))
	assert.NotContains(t, a, validID[:8], "the raw identity must not show")
	// Pinned (computed with Python's hmac): a change would give every host a
	// new identity, and so a new key file.
	assert.Equal(t, "22f3d5b9b93f749fe347d884448a8370", a)
}

func TestMachineIDOnThisHost(t *testing.T) {
	id, err := MachineID()
	if err != nil {
		require.ErrorIs(t, err, ErrNoIdentity)
		if os.Getenv("GOSSPI_REQUIRE_TIERS") == "1" {
			t.Fatalf("GOSSPI_REQUIRE_TIERS=1 and the host has no identity (.ci/run gives it one): %v", err)
		}
		t.Skipf("this host has no identity: %v", err)
	}
	assert.Len(t, id, 32)
	assert.True(t, isHex(id), id)
	again, err := MachineID()
	require.NoError(t, err)
	assert.Equal(t, id, again)
	if raw, err := os.ReadFile("/etc/machine-id"); err == nil {
		assert.NotEqual(t, strings.TrimSpace(string(raw)), id, "the raw machine-id must not be exposed")
	}
}

func TestKeyDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(KeyDirEnv, dir+string(filepath.Separator))
	got, err := KeyDir()
	require.NoError(t, err)
	assert.Equal(t, dir, got)

	t.Setenv(KeyDirEnv, "relative/keys")
	_, err = KeyDir()
	assert.ErrorContains(t, err, KeyDirEnv)

	t.Setenv(KeyDirEnv, "")
	if runtime.GOOS == "linux" {
		t.Setenv("XDG_CONFIG_HOME", dir)
		got, err = KeyDir()
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "gosspi"), got)
	}
}

func TestKeyFileName(t *testing.T) {
	a := KeyFileName("machine-a")
	assert.Regexp(t, `^host-[0-9a-f]{16}\.key$`, a)
	assert.NotEqual(t, a, KeyFileName("machine-b"))
}

// entries lists dir, to see that no temporary file is left behind.
func entries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "keys")
	key, err := LoadOrCreateKey(dir, "machine-a")
	require.NoError(t, err)
	require.Len(t, key, KeySize)
	assert.NotEqual(t, make([]byte, KeySize), key)

	again, err := LoadOrCreateKey(dir, "machine-a")
	require.NoError(t, err)
	assert.Equal(t, key, again)

	other, err := LoadOrCreateKey(dir, "machine-b")
	require.NoError(t, err)
	assert.NotEqual(t, key, other)

	assert.ElementsMatch(t, []string{KeyFileName("machine-a"), KeyFileName("machine-b")}, entries(t, dir))
	onDisk, err := os.ReadFile(filepath.Join(dir, KeyFileName("machine-a")))
	require.NoError(t, err)
	assert.Equal(t, key, onDisk)

	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(dir, KeyFileName("machine-a")))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		di, err := os.Stat(dir)
		require.NoError(t, err)
		assert.Zero(t, di.Mode().Perm()&0o077, "key directory mode %#o", di.Mode().Perm())
	}

	_, err = LoadOrCreateKey(dir, "")
	assert.Error(t, err)
	_, err = LoadOrCreateKey("", "machine-a")
	assert.Error(t, err)
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 32
	keys := make([][]byte, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			keys[i], errs[i] = LoadOrCreateKey(dir, "machine-a")
		}(i)
	}
	close(start)
	wg.Wait()
	for i := range keys {
		require.NoError(t, errs[i])
		require.Equal(t, keys[0], keys[i], "goroutine %d got another key", i)
	}
	assert.Equal(t, []string{KeyFileName("machine-a")}, entries(t, dir), "one key file, no temporary left")
}

func TestLoadOrCreateKeyRefusesBadFiles(t *testing.T) {
	const id = "machine-a"
	write := func(t *testing.T, data []byte, mode os.FileMode) string {
		dir := t.TempDir()
		path := filepath.Join(dir, KeyFileName(id))
		require.NoError(t, os.WriteFile(path, data, mode))
		require.NoError(t, os.Chmod(path, mode)) // past the umask
		return dir
	}
	good := bytes.Repeat([]byte{7}, KeySize)

	t.Run("good file is used", func(t *testing.T) {
		key, err := LoadOrCreateKey(write(t, good, 0o600), id)
		require.NoError(t, err)
		assert.Equal(t, good, key)
	})
	for name, size := range map[string]int{"empty": 0, "short": KeySize - 1, "long": KeySize + 1, "huge": 1 << 20} {
		t.Run(name, func(t *testing.T) {
			dir := write(t, make([]byte, size), 0o600)
			_, err := LoadOrCreateKey(dir, id)
			require.ErrorIs(t, err, ErrBadKeyFile)
			assert.Contains(t, err.Error(), fmt.Sprintf("%d bytes, want 32", size))
			// Refused, not replaced.
			fi, err := os.Stat(filepath.Join(dir, KeyFileName(id)))
			require.NoError(t, err)
			assert.EqualValues(t, size, fi.Size())
		})
	}
	t.Run("all zeros", func(t *testing.T) {
		_, err := LoadOrCreateKey(write(t, make([]byte, KeySize), 0o600), id)
		require.ErrorIs(t, err, ErrBadKeyFile)
		assert.Contains(t, err.Error(), "only zero bytes")
	})
	t.Run("directory in its place", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, KeyFileName(id)), 0o700))
		_, err := LoadOrCreateKey(dir, id)
		require.ErrorIs(t, err, ErrBadKeyFile)
	})

	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o666, 0o601, 0o610} {
		t.Run(fmt.Sprintf("mode %#o", mode), func(t *testing.T) {
			_, err := LoadOrCreateKey(write(t, good, mode), id)
			require.ErrorIs(t, err, ErrBadKeyFile)
			assert.Contains(t, err.Error(), "chmod 600")
		})
	}
	t.Run("symlink", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(t.TempDir(), "elsewhere.key")
		require.NoError(t, os.WriteFile(target, good, 0o600))
		require.NoError(t, os.Symlink(target, filepath.Join(dir, KeyFileName(id))))
		_, err := LoadOrCreateKey(dir, id)
		require.ErrorIs(t, err, ErrBadKeyFile)
	})
	t.Run("group-writable directory", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o770))
		_, err := LoadOrCreateKey(dir, id)
		require.ErrorIs(t, err, ErrBadKeyFile)
		assert.Empty(t, entries(t, dir), "nothing written to an unsafe directory")
	})
	t.Run("world-readable directory is fine", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o755))
		_, err := LoadOrCreateKey(dir, id)
		require.NoError(t, err)
	})
}

// TestAcrossProcesses runs several real OS processes (this test binary,
// re-executed) that create the host key and claim one ledger ID at the
// same moment: all must get the same key, and exactly one the claim.
func TestAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	const n = 6
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	at := fmt.Sprint(time.Now().UnixNano())
	for i := range cmds {
		cmd := helperCmd(dir, map[string]string{"AT": at})
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		require.NoError(t, cmd.Start())
		cmds[i] = cmd
	}
	// Release them together.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go"), nil, 0o600))

	var keys []string
	claimed := 0
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "process %d:\n%s", i, outs[i])
		var key string
		var won bool
		found := false
		for _, line := range strings.Split(outs[i].String(), "\n") {
			if _, err := fmt.Sscanf(line, "RESULT key=%s claimed=%t", &key, &won); err == nil {
				found = true
				break
			}
		}
		require.True(t, found, "process %d printed no result:\n%s", i, outs[i])
		keys = append(keys, key)
		if won {
			claimed++
		}
	}
	for i := range keys {
		assert.Equal(t, keys[0], keys[i], "process %d", i)
	}
	assert.Len(t, keys[0], 2*KeySize)
	assert.Equal(t, 1, claimed, "exactly one process claims the ID")

	// And this process reads the same key from disk.
	key, err := LoadOrCreateKey(filepath.Join(dir, "keys"), "shared-machine")
	require.NoError(t, err)
	assert.Equal(t, keys[0], hex.EncodeToString(key))
}

// TestMain lets the test binary play one of the processes of a
// cross-process test when helperEnv is set, instead of running the tests.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		if err := runHelper(os.Getenv(helperModeEnv), dir); err != nil {
			fmt.Fprintln(os.Stderr, "helper process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	removeTemplates()
	os.Exit(code)
}

// helperProcess waits for the release file, then creates or reads the
// shared key and claims one ledger ID exported at $AT, and prints what it
// got.
func helperProcess(dir string) error {
	at, err := helperTime("AT")
	if err != nil {
		return err
	}
	if err := waitRelease(dir); err != nil {
		return err
	}
	key, err := LoadOrCreateKey(filepath.Join(dir, "keys"), "shared-machine")
	if err != nil {
		return err
	}
	l, err := OpenLedger(dir)
	if err != nil {
		return err
	}
	defer l.Close()
	won, err := l.Claim([]byte("the-one-blob"), at)
	if err != nil {
		return err
	}
	fmt.Printf("RESULT key=%x claimed=%t\n", key, won)
	return nil
}
