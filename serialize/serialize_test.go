package serialize

// The golden blobs in ../testdata/serialize/v*-*.blob and the fuzz seeds in
// testdata/fuzz/ are written by
//
//	go test ./serialize -run TestGolden -update
//
// Regenerate them only for a deliberate change. A change to the layout of a
// released format version must not be made at all: it needs a new format
// version, with the old goldens kept (and still opened) next to new ones.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden blobs and fuzz seed corpus")

const (
	goldenDir     = "../testdata/serialize"
	goldenMachine = "gosspi-golden-machine"
)

// goldenKey is the fixed key of the golden blobs: bytes 0..31.
func goldenKey() []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

func goldenSealer(t testing.TB) *Sealer {
	t.Helper()
	s, err := NewSealer(goldenMachine, goldenKey())
	require.NoError(t, err)
	return s
}

// fixedNonce returns a reader that yields a nonce of NonceSize bytes b.
func fixedNonce(b byte) *bytes.Reader {
	return bytes.NewReader(bytes.Repeat([]byte{b}, NonceSize))
}

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

type golden struct {
	name  string
	nonce byte
	state State
}

// version is the format version Seal writes for the golden's state.
func (g golden) version() uint16 {
	switch {
	case !g.state.ExportedAt.IsZero():
		return Version3
	case g.state.PackageVersion == 0:
		return Version1
	}
	return Version2
}

func goldens() []golden {
	return []golden{
		{
			name:  "v1-client-ntlm.blob",
			nonce: 0x11,
			state: State{
				Package:      "NTLM",
				Established:  true,
				ClientName:   `EXAMPLE\alice`,
				ServerName:   "HTTP/web.example.com",
				Authority:    "EXAMPLE",
				Flags:        0x0001_011c,
				Expiry:       time.Date(2030, 1, 2, 3, 4, 5, 600_000_007, time.UTC),
				PackageState: seq(96, 0x40),
			},
		},
		{
			name:  "v1-server-ntlm.blob",
			nonce: 0x22,
			state: State{
				Package:     "NTLM",
				Server:      true,
				Established: true,
				ClientName:  `EXAMPLE\alice`,
				ServerName:  `WEB01$`,
				Authority:   "EXAMPLE",
				Flags:       0x0002_011c,
				Expiry:      time.Date(2030, 1, 2, 11, 4, 5, 0, time.UTC),
				User:        "alice",
				Domain:      "EXAMPLE",
				SID:         "S-1-5-21-1004336348-1177238915-682003330-1001",
				Groups: []string{
					"S-1-5-21-1004336348-1177238915-682003330-513",
					"S-1-1-0",
					"S-1-5-11",
				},
				PackageState: seq(128, 0x80),
			},
		},
		{
			name:  "v1-server-reset-noexpiry.blob",
			nonce: 0x33,
			state: State{
				Package:     "Negotiate",
				Server:      true,
				Established: true,
				ClientName:  "bob@EXAMPLE.COM",
				User:        "bob",
				Domain:      "EXAMPLE",
				SID:         "S-1-5-21-1-2-3-1105",
				Reset:       true,
			},
		},
		{
			name:  "v2-server-ntlm.blob",
			nonce: 0x24,
			state: State{
				Package:     "NTLM",
				Server:      true,
				Established: true,
				ClientName:  `EXAMPLE\alice`,
				ServerName:  `WEB01$`,
				Authority:   "HTTP/web.example.com",
				Flags:       0x0002_011c,
				Expiry:      time.Date(2030, 1, 2, 11, 4, 5, 0, time.UTC),
				User:        "alice",
				Domain:      "EXAMPLE",
				SID:         "S-1-5-21-1004336348-1177238915-682003330-1001",
				Groups: []string{
					"S-1-5-21-1004336348-1177238915-682003330-513",
					"S-1-1-0",
				},
				PackageState:   seq(69, 0x10),
				PackageVersion: 1,
			},
		},
		{
			name:  "v2-client-negotiate-reset.blob",
			nonce: 0x25,
			state: State{
				Package:        "Negotiate",
				Established:    true,
				ClientName:     `EXAMPLE\alice`,
				ServerName:     "HTTP/web.example.com",
				Authority:      "HTTP/web.example.com",
				Flags:          0x0001_011c,
				Expiry:         time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC),
				User:           "alice",
				Domain:         "EXAMPLE",
				PackageState:   seq(76, 0x60),
				PackageVersion: 255,
				Reset:          true,
			},
		},
		{
			name:  "v3-server-ntlm.blob",
			nonce: 0x26,
			state: State{
				Package:        "NTLM",
				Server:         true,
				Established:    true,
				ClientName:     `EXAMPLE\alice`,
				ServerName:     `WEB01$`,
				Authority:      "HTTP/web.example.com",
				Flags:          0x0002_011c,
				Expiry:         time.Date(2030, 1, 2, 11, 4, 5, 0, time.UTC),
				User:           "alice",
				Domain:         "EXAMPLE",
				SID:            "S-1-5-21-1004336348-1177238915-682003330-1001",
				Groups:         []string{"S-1-1-0"},
				PackageState:   seq(69, 0x30),
				PackageVersion: 1,
				ExportedAt:     time.Date(2029, 12, 31, 23, 59, 58, 123_456_789, time.UTC),
			},
		},
	}
}

// seeds are the fuzz seeds besides the goldens: edge cases of the header.
func seeds(t testing.TB) map[string][]byte {
	valid, err := goldenSealer(t).Seal(&goldens()[0].state, fixedNonce(0x44))
	require.NoError(t, err)
	// A version 1 blob that claims version 2: the checksum refuses it.
	v2 := bytes.Clone(valid)
	v2[versionOff] = 2
	v3 := bytes.Clone(valid)
	v3[versionOff] = 3
	v4 := bytes.Clone(valid)
	v4[versionOff] = 4
	return map[string][]byte{
		"empty":          {},
		"magic-only":     []byte(Magic),
		"magic-prefix":   []byte(Magic[:5]),
		"wrong-magic":    append([]byte("GOSSPIPX"), valid[8:]...),
		"version-2":      v2,
		"version-3":      v3,
		"version-4":      v4,
		"header-only":    valid[:len(valid)-20],
		"cut-in-names":   valid[:14],
		"trailing-byte":  append(bytes.Clone(valid), 0),
		"zero-pkg-len":   append([]byte(Magic), 1, 0, 0),
		"max-pkg-len":    append(append([]byte(Magic), 1, 0, MaxNameLen), bytes.Repeat([]byte{'A'}, MaxNameLen)...),
		"garbage":        []byte("NTLMSSP\x00\x01\x00\x00\x00"),
		"other-machine":  mustSeal(t, "some-other-machine", goldenKey(), &goldens()[1].state, 0x55),
		"other-key":      mustSeal(t, goldenMachine, seq(KeySize, 0xa0), &goldens()[2].state, 0x66),
		"tampered-tag":   flipBit(valid, len(valid)-1, 0),
		"tampered-nonce": flipBit(valid, 40, 3),
	}
}

func mustSeal(t testing.TB, machine string, key []byte, st *State, nonce byte) []byte {
	s, err := NewSealer(machine, key)
	require.NoError(t, err)
	b, err := s.Seal(st, fixedNonce(nonce))
	require.NoError(t, err)
	return b
}

func flipBit(b []byte, i int, bit uint) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1 << bit
	return c
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	require.NoError(t, err, "missing golden; regenerate with: go test ./serialize -run TestGolden -update")
	return b
}

// writeCorpus writes b as a seed file in Go's fuzz corpus format.
func writeCorpus(t *testing.T, fuzzName, name string, b []byte) {
	dir := filepath.Join("testdata", "fuzz", fuzzName)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
}

func TestGolden(t *testing.T) {
	s := goldenSealer(t)
	require.Equal(t, goldenMachine, s.MachineID())
	if *update {
		require.NoError(t, os.MkdirAll(goldenDir, 0o755))
		for _, g := range goldens() {
			b, err := s.Seal(&g.state, fixedNonce(g.nonce))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(goldenDir, g.name), b, 0o644))
			for _, fz := range []string{"FuzzOpen", "FuzzParseHeader"} {
				writeCorpus(t, fz, "golden-"+strings.TrimSuffix(g.name, ".blob"), b)
			}
		}
		for name, b := range seeds(t) {
			for _, fz := range []string{"FuzzOpen", "FuzzParseHeader"} {
				writeCorpus(t, fz, name, b)
			}
		}
		t.Log("rewrote the golden blobs and fuzz seeds")
	}

	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			blob := readGolden(t, g.name)
			st, h, err := s.Open(blob)
			require.NoError(t, err)
			if diff := cmp.Diff(&g.state, st); diff != "" {
				t.Errorf("decoded state differs from the expected one (-want +got):\n%s", diff)
			}
			assert.Equal(t, Header{
				Version:   g.version(),
				Package:   g.state.Package,
				MachineID: goldenMachine,
				Nonce:     [NonceSize]byte(bytes.Repeat([]byte{g.nonce}, NonceSize)),
			}, h)

			// The encoder must still write the same bytes; otherwise the
			// format changed and needs a new version.
			again, err := s.Seal(&g.state, fixedNonce(g.nonce))
			require.NoError(t, err)
			assert.Equal(t, blob, again, "Seal no longer reproduces %s", g.name)
		})
	}
}

// Seal writes format version 1 for an unversioned package state, byte for
// byte as before version 2 existed, and version 2 for a versioned one; a
// version 2 blob must not claim an unversioned state.
func TestFormatVersionFollowsPackageVersion(t *testing.T) {
	s := goldenSealer(t)
	st := State{Package: "NTLM", Established: true, PackageState: seq(45, 0)}
	v1, err := s.Seal(&st, fixedNonce(1))
	require.NoError(t, err)
	st.PackageVersion = 7
	v2, err := s.Seal(&st, fixedNonce(1))
	require.NoError(t, err)
	require.Equal(t, len(v1)+1, len(v2), "version 2 adds one byte")
	st.ExportedAt = time.Unix(1_900_000_000, 5)
	v3, err := s.Seal(&st, fixedNonce(1))
	require.NoError(t, err)
	require.Equal(t, len(v2)+8, len(v3), "version 3 adds eight bytes")
	st.PackageVersion = 0
	_, err = s.Seal(&st, fixedNonce(1))
	require.Error(t, err, "an export time needs a versioned package state")
	st.PackageVersion = 7
	st.ExportedAt = time.Time{}
	for _, tc := range []struct {
		blob    []byte
		format  uint16
		version uint8
	}{{v1, Version1, 0}, {v2, Version2, 7}, {v3, Version3, 7}} {
		got, h, err := s.Open(tc.blob)
		require.NoError(t, err)
		assert.Equal(t, tc.format, h.Version)
		assert.Equal(t, tc.version, got.PackageVersion)
		assert.Equal(t, st.PackageState, got.PackageState)
	}

	// Forge a version 2 body with PackageVersion 0: the AEAD accepts it,
	// the decoder does not.
	st.PackageVersion = 0
	n, err := st.encodedLen(Version2)
	require.NoError(t, err)
	plain := make([]byte, n)
	st.encode(plain, Version2)
	var got State
	err = got.decode(plain, Version2, []byte("NTLM"))
	require.ErrorContains(t, err, "PackageVersion 0")
}

func TestRoundTrip(t *testing.T) {
	s := goldenSealer(t)
	now := time.Now() // carries a monotonic reading and a location; only the instant must survive
	big := strings.Repeat("x", MaxStringLen)
	many := make([]string, MaxGroups)
	for i := range many {
		many[i] = fmt.Sprintf("S-1-5-21-%d", i)
	}
	cases := map[string]State{
		"minimal":      {Package: "N"},
		"now":          {Package: "Kerberos", Expiry: now, ClientName: "ünïcødé\x00name", Flags: 0xffffffff},
		"epoch":        {Package: "NTLM", Expiry: time.Unix(0, 0)},
		"before-1970":  {Package: "NTLM", Expiry: time.Date(1601, 1, 1, 0, 0, 0, 1, time.UTC)},
		"far-future":   {Package: "NTLM", Expiry: time.Date(30828, 9, 14, 2, 48, 5, 477_580_700, time.UTC)},
		"all-bits":     {Package: strings.Repeat("P", MaxNameLen), Server: true, Established: true, Reset: true},
		"empty-group":  {Package: "NTLM", Groups: []string{"", "S-1-1-0", ""}},
		"long-strings": {Package: "NTLM", ClientName: big, ServerName: big, Authority: big, User: big, Domain: big, SID: big},
		"many-groups":  {Package: "NTLM", Groups: many},
		"big-state":    {Package: "NTLM", PackageState: seq(40_000, 0)},
		"versioned":    {Package: "NTLM", PackageState: seq(69, 1), PackageVersion: 1},
		"version-255":  {Package: "Negotiate", PackageVersion: 255},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			blob, err := s.Seal(&want, nil)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(blob), MaxBlobSize)
			orig := bytes.Clone(blob)

			got, h, err := s.Open(blob)
			require.NoError(t, err)
			assert.Equal(t, orig, blob, "Open must not modify the blob")
			assert.Equal(t, want.Package, h.Package)
			assert.Equal(t, goldenMachine, h.MachineID)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !want.Expiry.IsZero() {
				assert.Equal(t, time.UTC, got.Expiry.Location())
			}

			ph, err := ParseHeader(blob)
			require.NoError(t, err)
			assert.Equal(t, h, ph)

			// The decoded state shares no memory with the blob.
			clear(blob)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("state changed with the blob (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSealNonceIsRandom(t *testing.T) {
	s := goldenSealer(t)
	st := goldens()[0].state
	a, err := s.Seal(&st, nil)
	require.NoError(t, err)
	b, err := s.Seal(&st, nil)
	require.NoError(t, err)
	ha, err := ParseHeader(a)
	require.NoError(t, err)
	hb, err := ParseHeader(b)
	require.NoError(t, err)
	assert.NotEqual(t, ha.Nonce, hb.Nonce)
}

func TestWipe(t *testing.T) {
	s := goldenSealer(t)
	blob := readGolden(t, "v1-client-ntlm.blob")
	st, _, err := s.Open(blob)
	require.NoError(t, err)
	alias := st.PackageState[:cap(st.PackageState)]
	require.NotEmpty(t, alias)
	st.Wipe()
	assert.Nil(t, st.PackageState)
	assert.Equal(t, make([]byte, len(alias)), alias)
	st.Wipe()            // twice is fine
	(*State)(nil).Wipe() // so is nil
}

// OpenIntoBuffer decrypts into the caller's buffer when it is large
// enough, so PackageState aliases it, and allocates otherwise; a refused
// blob leaves no plaintext in the buffer.
func TestOpenIntoBuffer(t *testing.T) {
	s := goldenSealer(t)
	blob := readGolden(t, "v1-client-ntlm.blob")
	want, _, err := s.Open(blob)
	require.NoError(t, err)

	buf := make([]byte, 0, 4096)
	var st State
	_, err = s.OpenIntoBuffer(&st, blob, buf)
	require.NoError(t, err)
	if diff := cmp.Diff(want, &st); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	require.NotEmpty(t, st.PackageState)
	st.PackageState[0] = 0xa5
	assert.Equal(t, 1, bytes.Count(buf[:cap(buf)], []byte{0xa5}), "PackageState aliases buf")
	st.Wipe()
	assert.Equal(t, make([]byte, cap(buf)), buf[:cap(buf)], "nothing but PackageState was left in buf")

	small := make([]byte, 0, 8)
	_, err = s.OpenIntoBuffer(&st, blob, small)
	require.NoError(t, err)
	if diff := cmp.Diff(want, &st); diff != "" {
		t.Errorf("small buffer (-want +got):\n%s", diff)
	}
	assert.Equal(t, make([]byte, 8), small[:8], "a buffer too small is not used")

	tampered := bytes.Clone(blob)
	tampered[len(tampered)-1] ^= 1
	_, err = s.OpenIntoBuffer(&st, tampered, buf)
	require.ErrorIs(t, err, ErrTampered)
	assert.Equal(t, make([]byte, cap(buf)), buf[:cap(buf)], "a refused blob leaves no plaintext")
}

// AppendSeal appends to a buffer's contents, leaving them as they were,
// a blob that opens as Seal's does.
func TestAppendSeal(t *testing.T) {
	s := goldenSealer(t)
	st := goldens()[1].state
	want, err := s.Seal(&st, fixedNonce(7))
	require.NoError(t, err)
	prefix := []byte("prefix")
	buf := append(make([]byte, 0, 8), prefix...)
	got, err := s.AppendSeal(buf, &st, fixedNonce(7))
	require.NoError(t, err)
	assert.Equal(t, prefix, got[:len(prefix)])
	assert.Equal(t, want, got[len(prefix):])
	// Room enough: no new array.
	buf = make([]byte, 0, 2*len(want))
	got, err = s.AppendSeal(buf, &st, fixedNonce(7))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Same(t, &buf[:1][0], &got[0])

	_, err = s.AppendSeal(buf, &State{}, nil)
	assert.Error(t, err, "no package name")
}

func TestNewSealerErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		machine string
		key     []byte
	}{
		"empty machine":    {"", goldenKey()},
		"long machine":     {strings.Repeat("m", MaxNameLen+1), goldenKey()},
		"short key":        {"m", goldenKey()[:16]},
		"long key":         {"m", append(goldenKey(), 0)},
		"nil key":          {"m", nil},
		"AES-128-size key": {"m", make([]byte, 16)},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := NewSealer(tc.machine, tc.key)
			assert.Error(t, err)
			assert.Nil(t, s)
		})
	}
}

func TestSealErrors(t *testing.T) {
	s := goldenSealer(t)
	tooMany := make([]string, MaxGroups+1)
	for name, tc := range map[string]struct {
		st     *State
		rand   *bytes.Reader
		target error
	}{
		"nil state":         {st: nil},
		"no package":        {st: &State{}},
		"long package":      {st: &State{Package: strings.Repeat("p", MaxNameLen+1)}},
		"long client name":  {st: &State{Package: "NTLM", ClientName: strings.Repeat("c", MaxStringLen+1)}},
		"long SID":          {st: &State{Package: "NTLM", SID: strings.Repeat("s", MaxStringLen+1)}},
		"long group":        {st: &State{Package: "NTLM", Groups: []string{strings.Repeat("g", MaxStringLen+1)}}},
		"too many groups":   {st: &State{Package: "NTLM", Groups: tooMany}},
		"state too large":   {st: &State{Package: "NTLM", PackageState: make([]byte, MaxBlobSize-80)}, target: ErrTooLarge},
		"huge PackageState": {st: &State{Package: "NTLM", PackageState: make([]byte, 1<<20)}, target: ErrTooLarge},
		"short nonce":       {st: &State{Package: "NTLM"}, rand: bytes.NewReader([]byte{1, 2, 3})},
	} {
		t.Run(name, func(t *testing.T) {
			var r = fixedNonce(1)
			if tc.rand != nil {
				r = tc.rand
			}
			blob, err := s.Seal(tc.st, r)
			require.Error(t, err)
			assert.Nil(t, blob)
			if tc.target != nil {
				assert.ErrorIs(t, err, tc.target)
			}
		})
	}
}

var sentinels = []error{ErrTruncated, ErrNotPacked, ErrVersion, ErrForeignMachine, ErrTampered, ErrTooLarge}

// requireOnly checks that err is target and no other sentinel.
func requireOnly(t *testing.T, err, target error, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, target, msgAndArgs...)
	for _, e := range sentinels {
		if e != target {
			require.NotErrorIs(t, err, e, msgAndArgs...)
		}
	}
	require.NotEqual(t, target.Error(), err.Error(), "the error should carry a detail")
}

func TestOpenErrors(t *testing.T) {
	s := goldenSealer(t)
	valid := readGolden(t, "v1-server-ntlm.blob")

	withVersion := func(v uint16) []byte {
		b := bytes.Clone(valid)
		b[versionOff], b[versionOff+1] = byte(v), byte(v>>8)
		return b
	}
	otherKey, err := NewSealer(goldenMachine, seq(KeySize, 0xa0))
	require.NoError(t, err)
	fromOtherKey, err := otherKey.Seal(&goldens()[1].state, nil)
	require.NoError(t, err)
	elsewhere, err := NewSealer("another-machine", goldenKey())
	require.NoError(t, err)
	fromElsewhere, err := elsewhere.Seal(&goldens()[1].state, nil)
	require.NoError(t, err)
	// Same state, another nonce: a valid header that belongs to another body.
	sameLength, err := s.Seal(&goldens()[1].state, fixedNonce(0x99))
	require.NoError(t, err)
	h, err := parseHeader(valid)
	require.NoError(t, err)
	hdrLen := h.size

	for name, tc := range map[string]struct {
		blob   []byte
		target error
	}{
		"nil":                {nil, ErrTruncated},
		"empty":              {[]byte{}, ErrTruncated},
		"magic prefix":       {[]byte("GOSS"), ErrTruncated},
		"short garbage":      {[]byte("hello"), ErrNotPacked},
		"NTLM token":         {[]byte("NTLMSSP\x00\x03\x00\x00\x00 more bytes here"), ErrNotPacked},
		"wrong magic":        {append([]byte("GOSSPIPX"), valid[8:]...), ErrNotPacked},
		"version 0":          {withVersion(0), ErrVersion},
		"version 1 as 2":     {withVersion(2), ErrTampered}, // the header checksum covers the version
		"version 1 as 3":     {withVersion(3), ErrTampered},
		"version 4":          {withVersion(4), ErrVersion},
		"version 0xffff":     {withVersion(0xffff), ErrVersion},
		"foreign machine":    {fromElsewhere, ErrForeignMachine},
		"other key":          {fromOtherKey, ErrTampered},
		"trailing byte":      {append(bytes.Clone(valid), 0), ErrTampered},
		"too large":          {append(bytes.Clone(valid), make([]byte, MaxBlobSize)...), ErrTooLarge},
		"too large garbage":  {make([]byte, MaxBlobSize+1), ErrTooLarge},
		"zero package len":   {append([]byte(Magic), 1, 0, 0, 5), ErrTampered},
		"package len 65":     {append(append([]byte(Magic), 1, 0, 65), make([]byte, 200)...), ErrTampered},
		"zero machine len":   {append(append([]byte(Magic), 1, 0, 1, 'N', 0), make([]byte, 200)...), ErrTampered},
		"body byte removed":  {append(bytes.Clone(valid[:len(valid)-16-1]), valid[len(valid)-16:]...), ErrTruncated},
		"header of another":  {append(bytes.Clone(sameLength[:hdrLen]), valid[hdrLen:]...), ErrTampered},
		"body of another":    {append(bytes.Clone(valid[:len(valid)-16]), fromOtherKey[len(fromOtherKey)-16:]...), ErrTampered},
		"all zero, same len": {make([]byte, len(valid)), ErrNotPacked},
	} {
		t.Run(name, func(t *testing.T) {
			st, h, err := s.Open(tc.blob)
			requireOnly(t, err, tc.target)
			assert.Nil(t, st)
			assert.Zero(t, h)
			if tc.target != ErrForeignMachine && tc.target != ErrTampered {
				// Errors found in the header alone are ParseHeader's too.
				_, perr := ParseHeader(tc.blob)
				requireOnly(t, perr, tc.target)
			}
		})
	}
}

func TestOpenErrorDetails(t *testing.T) {
	b := readGolden(t, "v1-client-ntlm.blob")
	b[versionOff] = 7
	_, err := ParseHeader(b)
	assert.EqualError(t, err, "serialize: unsupported packed context version: version 7, this build reads up to 3")

	other, err := NewSealer("another-machine", goldenKey())
	require.NoError(t, err)
	_, _, err = other.Open(readGolden(t, "v1-client-ntlm.blob"))
	assert.EqualError(t, err, `serialize: packed context from another machine: sealed on "gosspi-golden-machine", this is "another-machine"`)
}

// TestTruncatedEverywhere cuts a valid blob at every length.
func TestTruncatedEverywhere(t *testing.T) {
	s := goldenSealer(t)
	for _, g := range goldens() {
		valid := readGolden(t, g.name)
		for n := 0; n < len(valid); n++ {
			cut := valid[:n:n]
			_, _, err := s.Open(cut)
			requireOnly(t, err, ErrTruncated, "%s cut to %d bytes", g.name, n)
			_, err = ParseHeader(cut)
			requireOnly(t, err, ErrTruncated, "%s cut to %d bytes", g.name, n)
		}
	}
}

// TestBitFlips flips every bit of valid blobs: a flip in the magic makes a
// foreign blob, in the version an unknown version, anywhere else a tampered
// blob (a corrupted machine identity must not pass for another machine).
func TestBitFlips(t *testing.T) {
	s := goldenSealer(t)
	for _, g := range goldens() {
		valid := readGolden(t, g.name)
		for i := range valid {
			want := ErrTampered
			switch {
			case i < versionOff:
				want = ErrNotPacked
			case i < pkgLenOff:
				want = ErrVersion
			}
			for bit := uint(0); bit < 8; bit++ {
				b := flipBit(valid, i, bit)
				if v := binary.LittleEndian.Uint16(b[versionOff:]); i >= versionOff && i < pkgLenOff && v >= Version1 && v <= CurrentVersion {
					want = ErrTampered // another known version: the header checksum refuses it
				} else if i >= versionOff && i < pkgLenOff {
					want = ErrVersion
				}
				st, _, err := s.Open(b)
				requireOnly(t, err, want, "%s: byte %d bit %d", g.name, i, bit)
				require.Nil(t, st)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := goldenSealer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			want := goldens()[i%3].state
			for j := 0; j < 200; j++ {
				blob, err := s.Seal(&want, nil)
				if err != nil {
					errs <- err
					return
				}
				got, _, err := s.Open(blob)
				if err != nil {
					errs <- err
					return
				}
				if diff := cmp.Diff(&want, got); diff != "" {
					errs <- errors.New(diff)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestOpenAllocations(t *testing.T) {
	s := goldenSealer(t)
	blob := readGolden(t, "v1-server-ntlm.blob")
	// The plaintext buffer, the State, the header's package name, all
	// strings, the Groups slice.
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := s.Open(blob); err != nil {
			panic(err)
		}
	})
	assert.LessOrEqual(t, allocs, 5.0)
	st := goldens()[1].state
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := s.Seal(&st, fixedNonce(1)); err != nil {
			panic(err)
		}
	})
	// The blob, and the fixed reader made by fixedNonce.
	assert.LessOrEqual(t, allocs, 3.0)
}

func BenchmarkSealOpen(b *testing.B) {
	s := goldenSealer(b)
	st := goldens()[1].state // server state with groups: the typical case
	blob, err := s.Seal(&st, nil)
	require.NoError(b, err)
	b.Logf("blob size %d bytes", len(blob))

	b.Run("Seal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := s.Seal(&st, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Open", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := s.Open(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SealOpen", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			blob, err := s.Seal(&st, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := s.Open(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
}
