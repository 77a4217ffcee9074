package hostid

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxClaimID bounds the length of an ID given to Ledger.Claim.
const MaxClaimID = 64

// pruneEvery is how often, at most, a Ledger looks for expired entries.
const pruneEvery = time.Minute

// Ledger records, for all processes of the host, which packed contexts have
// been imported, so that each is imported only once. Each claimed ID is a
// file in the ledger directory, created exclusively; the file holds the
// entry's expiry. A Ledger is safe for concurrent use.
//
// Entries are pruned once their expiry has passed, after which the same ID
// can be claimed again: a caller must itself refuse a packed context whose
// expiry has passed, and must claim with that same expiry.
type Ledger struct {
	dir string
	now func() time.Time // the clock; tests replace it

	mu        sync.Mutex
	nextPrune time.Time
}

// OpenLedger opens (creating it, 0700, if needed) the ledger in
// dir/imported/.
func OpenLedger(dir string) (*Ledger, error) {
	if dir == "" {
		return nil, errors.New("hostid: empty ledger directory")
	}
	d := filepath.Join(dir, "imported")
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, fmt.Errorf("hostid: creating the ledger: %w", err)
	}
	if err := checkDir(d); err != nil {
		return nil, err
	}
	return &Ledger{dir: d, now: time.Now}, nil
}

// Dir returns the directory holding the ledger's entries.
func (l *Ledger) Dir() string { return l.dir }

// Claim records id (1..MaxClaimID bytes, such as a packed context's nonce)
// as used until expires; the zero time means forever. It reports true if
// this call made the claim, false if the id was claimed before, by any
// process. On error the id may or may not be claimed; the caller must treat
// it as used.
func (l *Ledger) Claim(id []byte, expires time.Time) (bool, error) {
	if len(id) == 0 || len(id) > MaxClaimID {
		return false, fmt.Errorf("hostid: claim ID of %d bytes, want 1..%d", len(id), MaxClaimID)
	}
	l.maybePrune()
	path := filepath.Join(l.dir, hex.EncodeToString(id))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("hostid: claiming %x: %w", id, err)
	}
	_, err = f.WriteString(formatExpiry(expires))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The file stays: a half-written entry still blocks a second import,
		// which is the safe side.
		return false, fmt.Errorf("hostid: recording the claim of %x: %w", id, err)
	}
	return true, nil
}

// formatExpiry writes Unix seconds, rounded up so an entry never expires
// before its context; "0" means never.
func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return "0\n"
	}
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	if sec <= 0 {
		sec = 1 // already expired, but distinct from "never"
	}
	return strconv.FormatInt(sec, 10) + "\n"
}

// maybePrune runs prune if it has not run for pruneEvery.
func (l *Ledger) maybePrune() {
	now := l.now()
	l.mu.Lock()
	due := !now.Before(l.nextPrune)
	if due {
		l.nextPrune = now.Add(pruneEvery)
	}
	l.mu.Unlock()
	if due {
		l.prune(now)
	}
}

// prune removes entries whose expiry has passed. It is best effort: an
// entry it cannot read or parse (another process may be writing it right
// now) is kept.
func (l *Ledger) prune(now time.Time) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !isHex(name) {
			continue
		}
		path := filepath.Join(l.dir, name)
		exp, ok := readExpiry(path)
		if ok && exp != 0 && exp < now.Unix() {
			_ = os.Remove(path) // another process may have removed it already
		}
	}
}

func readExpiry(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil || !strings.HasSuffix(string(b), "\n") {
		return 0, false // incomplete: being written
	}
	sec, err := strconv.ParseInt(strings.TrimSuffix(string(b), "\n"), 10, 64)
	return sec, err == nil && sec >= 0
}
