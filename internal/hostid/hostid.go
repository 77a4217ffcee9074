// Package hostid gives the fake backend's host-bound machine the real host's
// identity and a sealing key, so that two real OS processes on one host can
// hand a packed security context over and no other host can import it.
//
//   - MachineID reads the host's identity: /etc/machine-id on Linux,
//     MachineGuid on Windows, IOPlatformUUID on macOS. Where there is none it
//     fails with ErrNoIdentity; it never falls back to a made-up or shared one.
//   - LoadOrCreateKey keeps one 32-byte key per machine identity in a 0600
//     file, created atomically, so every process of the user on the host
//     gets the same key.
//   - Ledger records which packed contexts were imported, across processes,
//     so that each is imported only once. It keeps each claim for
//     Retention of real time after the context's export, and refuses
//     contexts exported longer ago, so that no clock, real or emulated, can
//     make an imported context importable again. MemLedger does the same
//     for one process.
//
// Hosts cloned from one image (containers built with a baked-in
// /etc/machine-id, VMs cloned without sysprep) share an identity; the key
// file, which lives in the user's config directory, is what still keeps them
// apart unless it was cloned too.
package hostid

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoIdentity means the host has no readable machine identity.
var ErrNoIdentity = errors.New("hostid: the host has no readable machine identity")

// ErrBadKeyFile means an existing key file cannot be trusted: wrong size,
// not a regular file, or (on Unix) readable or writable by others or owned
// by another user. It is never replaced silently; remove it to start over.
var ErrBadKeyFile = errors.New("hostid: unusable key file")

// KeySize is the size of the host key: an AES-256 key.
const KeySize = 32

// KeyDirEnv names the environment variable that overrides KeyDir. It must
// hold an absolute path. Tests and CI set it to keep keys out of the user's
// config directory.
const KeyDirEnv = "GOSSPI_KEY_DIR"

// appID keys the hash that turns the raw host identity into the one this
// module uses. systemd asks that the raw machine-id never leave the host
// ("confidential"); packed contexts carry the identity in clear, so only a
// keyed, application-specific hash of it is ever exposed.
const appID = "github.com/gosspi/gosspi hostid v1"

// MachineID returns this host's identity: 32 lowercase hex characters,
// derived by a keyed hash from the host's own identifier (see the package
// doc), stable across reboots and the same for every process and user.
// Without a readable identifier it returns an error wrapping ErrNoIdentity.
func MachineID() (string, error) {
	raw, err := rawMachineID()
	if err != nil {
		return "", err
	}
	return deriveID(raw), nil
}

func deriveID(raw string) string {
	mac := hmac.New(sha256.New, []byte(appID))
	mac.Write([]byte(raw))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// maxIDFile bounds what is read of an identity file; a valid one is 33 bytes.
const maxIDFile = 256

// readMachineID returns the first valid machine-id among paths in fsys
// (Linux: /etc/machine-id, then the older D-Bus copy). A missing, empty
// ("uninitialized" at first boot), malformed or all-zero file is skipped.
func readMachineID(fsys fs.FS, paths ...string) (string, error) {
	var problems []string
	for _, p := range paths {
		id, err := readIDFile(fsys, p)
		if err == nil {
			return id, nil
		}
		problems = append(problems, err.Error())
	}
	return "", fmt.Errorf("%w: %s", ErrNoIdentity, strings.Join(problems, "; "))
}

func readIDFile(fsys fs.FS, p string) (string, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIDFile+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if len(b) > maxIDFile {
		return "", fmt.Errorf("%s: longer than %d bytes", p, maxIDFile)
	}
	id, err := parseHexID(string(b))
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return id, nil
}

// parseHexID checks a machine-id(5): 32 hex characters, not all zeros.
func parseHexID(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", errors.New("empty")
	case len(s) != 32 || !isHex(s):
		return "", fmt.Errorf("%q is not 32 hex characters", truncate(s))
	case strings.Trim(s, "0") == "":
		return "", errors.New("all zeros")
	}
	return s, nil
}

// parseGUID checks a GUID such as Windows' MachineGuid or macOS's
// IOPlatformUUID, and returns it in lowercase.
func parseGUID(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' ||
		!isHex(s[:8]+s[9:13]+s[14:18]+s[19:23]+s[24:]) {
		return "", fmt.Errorf("%q is not a GUID", truncate(s))
	}
	if strings.Trim(s, "0-") == "" {
		return "", errors.New("all-zero GUID")
	}
	return s, nil
}

// parseIOReg finds IOPlatformUUID in the output of
// `ioreg -rd1 -c IOPlatformExpertDevice`, a line like
//
//	"IOPlatformUUID" = "8B7E2D58-3A4B-5C6D-9E0F-112233445566"
func parseIOReg(out []byte) (string, error) {
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != `"IOPlatformUUID"` {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return "", fmt.Errorf("%w: IOPlatformUUID value %q is not a quoted string", ErrNoIdentity, truncate(v))
		}
		id, err := parseGUID(v[1 : len(v)-1])
		if err != nil {
			return "", fmt.Errorf("%w: IOPlatformUUID: %v", ErrNoIdentity, err)
		}
		return id, nil
	}
	return "", fmt.Errorf("%w: no IOPlatformUUID in the ioreg output", ErrNoIdentity)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// truncate keeps error messages short when a file holds junk.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// KeyDir returns the directory of host keys: $GOSSPI_KEY_DIR if set (it
// must be absolute), otherwise the "gosspi" directory in os.UserConfigDir.
func KeyDir() (string, error) {
	if d := os.Getenv(KeyDirEnv); d != "" {
		if !filepath.IsAbs(d) {
			return "", fmt.Errorf("hostid: %s=%q is not an absolute path", KeyDirEnv, d)
		}
		return filepath.Clean(d), nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("hostid: no directory for the host key (set %s): %w", KeyDirEnv, err)
	}
	return filepath.Join(base, "gosspi"), nil
}

// KeyFileName returns the name of the key file for machineID in the key
// directory: "host-" and a short hash of the identity, ".key".
func KeyFileName(machineID string) string {
	sum := sha256.Sum256([]byte("gosspi key file\x00" + machineID))
	return "host-" + hex.EncodeToString(sum[:8]) + ".key"
}

// LoadOrCreateKey returns the 32-byte key for machineID kept in dir,
// creating dir (0700) and the key file (0600) if needed.
//
// Creation is atomic and race-free between processes: the key is written to
// a temporary file in dir, synced, and hard-linked to the final name; the
// link fails if another process got there first, and then its key is read
// instead. So the key file is never seen half-written, and all callers get
// the same key.
//
// An existing key file of the wrong size, or (on Unix) with group or other
// permission bits, owned by another user, or in a directory others can
// write, is refused with ErrBadKeyFile rather than replaced.
func LoadOrCreateKey(dir, machineID string) ([]byte, error) {
	if dir == "" {
		return nil, errors.New("hostid: empty key directory")
	}
	if machineID == "" {
		return nil, errors.New("hostid: empty machine identity")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("hostid: creating the key directory: %w", err)
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, KeyFileName(machineID))
	// Two rounds: a lost creation race is followed by reading the winner's key.
	for round := 0; ; round++ {
		key, err := readKey(path)
		if !errors.Is(err, fs.ErrNotExist) || round == 1 {
			return key, err
		}
		key, err = createKey(dir, path)
		if !errors.Is(err, fs.ErrExist) {
			return key, err
		}
	}
}

func readKey(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file (%s)", ErrBadKeyFile, path, fi.Mode().Type())
	}
	if err := checkKeyFile(path, fi); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hostid: %w", err)
	}
	defer f.Close()
	// The file opened must be the one checked, not a replacement.
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return nil, fmt.Errorf("%w: %s changed while it was being read", ErrBadKeyFile, path)
	}
	key, err := io.ReadAll(io.LimitReader(f, KeySize+1))
	if err != nil {
		return nil, fmt.Errorf("hostid: reading %s: %w", path, err)
	}
	if len(key) != KeySize {
		clear(key)
		return nil, fmt.Errorf("%w: %s is %d bytes, want %d (remove it to make a new key)", ErrBadKeyFile, path, fi.Size(), KeySize)
	}
	var acc byte
	for _, b := range key {
		acc |= b
	}
	if acc == 0 {
		// No key this package writes is all zeros (crypto/rand), but a
		// file truncated and re-extended, or zeroed by a tool, would be a
		// key every such host shares.
		return nil, fmt.Errorf("%w: %s holds only zero bytes (remove it to make a new key)", ErrBadKeyFile, path)
	}
	return key, nil
}

// createKey writes a new key to a temporary file and links it to path. An
// error wrapping fs.ErrExist means another process created path first.
func createKey(dir, path string) ([]byte, error) {
	tmp, err := os.CreateTemp(dir, ".host-*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("hostid: %w", err)
	}
	defer os.Remove(tmp.Name())
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("hostid: %w", err)
	}
	_, err = tmp.Write(key)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		clear(key)
		return nil, fmt.Errorf("hostid: writing the key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		clear(key)
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("hostid: publishing the key file (the key directory must support hard links): %w", err)
	}
	syncDir(dir)
	return key, nil
}
