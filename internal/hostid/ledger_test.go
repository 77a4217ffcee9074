package hostid

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLedgerClaimOnce(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLedger(dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "imported"), l.Dir())
	exp := time.Now().Add(time.Hour)

	ok, err := l.Claim([]byte("blob-1"), exp)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = l.Claim([]byte("blob-1"), exp)
	require.NoError(t, err)
	assert.False(t, ok, "second claim")

	ok, err = l.Claim([]byte("blob-2"), exp)
	require.NoError(t, err)
	assert.True(t, ok, "another ID is independent")

	// Another Ledger on the same directory (as another process would open)
	// sees the claims.
	l2, err := OpenLedger(dir)
	require.NoError(t, err)
	ok, err = l2.Claim([]byte("blob-1"), exp)
	require.NoError(t, err)
	assert.False(t, ok)

	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(l.Dir(), hex.EncodeToString([]byte("blob-1"))))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}
}

func TestLedgerClaimErrors(t *testing.T) {
	_, err := OpenLedger("")
	assert.Error(t, err)
	l, err := OpenLedger(t.TempDir())
	require.NoError(t, err)
	for _, id := range [][]byte{nil, {}, make([]byte, MaxClaimID+1)} {
		ok, err := l.Claim(id, time.Time{})
		assert.Error(t, err, "id of %d bytes", len(id))
		assert.False(t, ok)
	}
	ok, err := l.Claim(make([]byte, MaxClaimID), time.Time{})
	require.NoError(t, err)
	assert.True(t, ok, "the longest ID")
}

func TestLedgerConcurrentClaims(t *testing.T) {
	l, err := OpenLedger(t.TempDir())
	require.NoError(t, err)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := l.Claim([]byte("contested"), time.Now().Add(time.Hour))
			assert.NoError(t, err)
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, wins.Load())
}

func TestLedgerPrune(t *testing.T) {
	l, err := OpenLedger(t.TempDir())
	require.NoError(t, err)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }

	claim := func(id string, exp time.Time) bool {
		t.Helper()
		ok, err := l.Claim([]byte(id), exp)
		require.NoError(t, err)
		return ok
	}
	require.True(t, claim("short", now.Add(time.Second)))
	require.True(t, claim("long", now.Add(time.Hour)))
	require.True(t, claim("forever", time.Time{}))
	require.True(t, claim("sub-second", now.Add(time.Millisecond)))
	// An entry being written by another process right now.
	require.NoError(t, os.WriteFile(filepath.Join(l.Dir(), hex.EncodeToString([]byte("partial"))), nil, 0o600))
	// Files that are not entries are left alone.
	require.NoError(t, os.WriteFile(filepath.Join(l.Dir(), "README"), []byte("1\n"), 0o600))

	// Expired, but the last prune was too recent to look again.
	now = now.Add(2 * time.Second)
	assert.False(t, claim("short", now.Add(time.Hour)))

	// After pruneEvery, expired entries go and can be claimed again; the
	// others stay.
	now = now.Add(pruneEvery)
	assert.True(t, claim("short", now.Add(time.Hour)))
	assert.True(t, claim("sub-second", now.Add(time.Hour)))
	assert.False(t, claim("long", now.Add(time.Hour)))
	assert.False(t, claim("forever", now.Add(time.Hour)))
	assert.False(t, claim("partial", now.Add(time.Hour)))
	_, err = os.Stat(filepath.Join(l.Dir(), "README"))
	assert.NoError(t, err)
}

func TestFormatExpiry(t *testing.T) {
	assert.Equal(t, "0\n", formatExpiry(time.Time{}))
	assert.Equal(t, "100\n", formatExpiry(time.Unix(100, 0)))
	assert.Equal(t, "101\n", formatExpiry(time.Unix(100, 1)), "rounded up")
	assert.Equal(t, "1\n", formatExpiry(time.Unix(-5, 0)), "past, but not never")
}
