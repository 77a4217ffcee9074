package fake

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/rc4"
	"github.com/gosspi/gosspi/serialize"
)

// Run `go test ./backend/fake -run Golden -update` to write golden packed
// contexts for new cases. Existing files are never rewritten: they are what
// earlier builds exported, and the point is that those still import.
var update = flag.Bool("update", false, "rewrite testdata golden files")

// goldenDir holds whole exported NTLM contexts, with a message each one's
// peer protected after the export.
var goldenDir = filepath.Join("..", "..", "testdata", "fake")

var goldenEpoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// keyedMachine is a machine with a fixed identity, key, clock and
// randomness, so its blobs and tokens are reproducible.
func keyedMachine() *Machine {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	m := newMachine(MachineConfig{
		Name: "GOLDEN", Domain: "CONTOSO",
		Clock:           func() time.Time { return goldenEpoch },
		Rand:            &counterReader{},
		ContextLifetime: 100 * 365 * 24 * time.Hour,
	})
	// Real time is pinned too, so blobs stamped when the goldens were
	// written are still inside the import window when they are replayed.
	m.realNow = func() time.Time { return goldenEpoch }
	m.withKey("golden-machine", key)
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	return m
}

// counterReader is a deterministic byte stream.
type counterReader struct{ n byte }

func (r *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		r.n++
		p[i] = r.n
	}
	return len(p), nil
}

type goldenCase struct {
	name   string
	pkg    string
	flags  flags.Export
	server bool
	// format and state are the blob's format version and its package
	// state's layout version.
	format uint16
	state  uint8
}

var goldenCases = []goldenCase{
	// The first release: NTLM state without the post-handshake position.
	{"ntlm-server-v1", "NTLM", 0, true, 1, 0},
	{"ntlm-server-reset-v1", "NTLM", flags.ResetNew, true, 1, 0},
	{"ntlm-client-v1", "NTLM", flags.DeleteOld, false, 1, 0},
	// With the post-handshake position, which Negotiate needs, and still
	// told apart from the first release's by its length.
	{"negotiate-server-v1b", "Negotiate", 0, true, 1, 0},
	{"negotiate-server-reset-v1b", "Negotiate", flags.ResetNew, true, 1, 0},
	// Format 2: every package state says its layout version; Negotiate's
	// names the mechanism inside.
	{"ntlm-server-v2", "NTLM", 0, true, 2, 1},
	{"ntlm-server-reset-v2", "NTLM", flags.ResetNew, true, 2, 1},
	{"ntlm-client-v2", "NTLM", flags.DeleteOld, false, 2, 1},
	{"negotiate-server-v2", "Negotiate", 0, true, 2, 1},
	{"negotiate-server-reset-v2", "Negotiate", flags.ResetNew, true, 2, 1},
	{"negotiate-client-v2", "Negotiate", 0, false, 2, 1},
	// Format 3: the blob carries the real time of its export.
	{"ntlm-server-v3", "NTLM", 0, true, 3, 1},
	{"ntlm-client-v3", "NTLM", flags.DeleteOld, false, 3, 1},
	{"negotiate-server-reset-v3", "Negotiate", flags.ResetNew, true, 3, 1},
	// The same layout after Negotiate began restarting NTLM's RC4 streams
	// once the mechListMICs are exchanged (MS-SPNG 3.2.5.1): the position
	// is sequence number 1 in a fresh stream, which RESET_NEW returns to.
	// The blobs above keep the stream their peers went on with.
	{"negotiate-server-v3b", "Negotiate", 0, true, 3, 1},
	{"negotiate-server-reset-v3b", "Negotiate", flags.ResetNew, true, 3, 1},
	// NTLM state version 3: the RC4 states themselves instead of
	// keystream positions to replay. (Negotiate's own layout stays 1; it
	// names the NTLM version inside.)
	{"ntlm-server-v3-rc4", "NTLM", 0, true, 3, 3},
	{"ntlm-server-reset-v3-rc4", "NTLM", flags.ResetNew, true, 3, 3},
	{"ntlm-client-v3-rc4", "NTLM", flags.DeleteOld, false, 3, 3},
	{"negotiate-server-v3-rc4", "Negotiate", 0, true, 3, 1},
	{"negotiate-client-v3-rc4", "Negotiate", 0, false, 3, 1},
	{"negotiate-server-reset-v3-rc4", "Negotiate", flags.ResetNew, true, 3, 1},
	// Kerberos, state layout 1: an AES256 key, the sequence numbers and
	// the post-handshake ones (kerberosDomainMachine makes the handshake).
	{"kerberos-server-v3", "Kerberos", 0, true, 3, 1},
	{"kerberos-server-reset-v3", "Kerberos", flags.ResetNew, true, 3, 1},
	{"kerberos-client-v3", "Kerberos", flags.DeleteOld, false, 3, 1},
	// Negotiate over Kerberos: Negotiate's layout 1 naming Kerberos, and
	// Kerberos' layout 1 inside.
	{"negotiate-kerberos-server-v3", "Negotiate", 0, true, 3, 1},
	{"negotiate-kerberos-server-reset-v3", "Negotiate", flags.ResetNew, true, 3, 1},
	{"negotiate-kerberos-client-v3", "Negotiate", flags.DeleteOld, false, 3, 1},
	{"negotiate-kerberos-client-reset-v3", "Negotiate", flags.ResetNew, false, 3, 1},
}

// goldenMachine is the keyed machine a golden case's handshake runs on:
// Kerberos needs one joined to a domain, whose KDC is as deterministic.
// Negotiate runs Kerberos there; its NTLM cases were written on
// keyedMachine, and existing files are never rewritten.
func goldenMachine(pkg string) *Machine {
	if pkg == "Kerberos" || pkg == "Negotiate" {
		return keyedDomainMachine()
	}
	return keyedMachine()
}

// TestGoldenPackedContexts imports blobs exported by an earlier build and
// checks that each continues its session: a format change that breaks them
// must come with a new format version.
func TestGoldenPackedContexts(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			blob, err := os.ReadFile(filepath.Join(goldenDir, gc.name+".blob"))
			require.NoError(t, err)
			msgs, err := os.ReadFile(filepath.Join(goldenDir, gc.name+".msg"))
			require.NoError(t, err)
			parts := strings.Fields(string(msgs))
			require.Len(t, parts, 2)
			msg, err := hex.DecodeString(parts[0])
			require.NoError(t, err)
			sig, err := hex.DecodeString(parts[1])
			require.NoError(t, err)

			m := keyedMachine()
			packed, hdr, err := m.sealer.Open(blob)
			require.NoError(t, err)
			assert.Equal(t, gc.format, hdr.Version, "format version")
			assert.Equal(t, gc.state, packed.PackageVersion, "package state version")
			if ntlmState := packed.PackageState; strings.HasSuffix(gc.name, "-rc4") {
				if gc.pkg == "Negotiate" {
					require.Equal(t, "\x04NTLM\x03", string(ntlmState[:6]))
					ntlmState = ntlmState[6:]
				}
				// The messages before the export moved the streams (the
				// checksums are encrypted), so the RC4 states are there;
				// RESET_NEW returns to streams not yet started.
				want := ntlmStateLenV1 + 2 + 2*rc4.StateSize
				if gc.flags&flags.ResetNew != 0 {
					want = ntlmStateLenV1 + 2
				}
				assert.Len(t, ntlmState, want)
			}
			st := sspictx.NewStore(m.NewProcess())
			ctx, err := st.Import(gc.pkg, blob, nil)
			require.NoError(t, err)
			defer func() { require.NoError(t, ctx.Delete()) }()
			require.NoError(t, ctx.Verify(msg, sig), "the peer's message after the export verifies")
			if gc.server {
				name, err := ctx.UserName()
				require.NoError(t, err)
				assert.Equal(t, `CONTOSO\alice`, name)
			}
		})
	}
}

// writeGolden makes the golden files that do not exist yet: a handshake on
// the keyed machine, one message each way, the export, and the peer's next
// message.
func writeGolden(t *testing.T) {
	require.NoError(t, os.MkdirAll(goldenDir, 0o755))
	for _, gc := range goldenCases {
		blobPath := filepath.Join(goldenDir, gc.name+".blob")
		if _, err := os.Stat(blobPath); err == nil {
			continue
		}
		m := goldenMachine(gc.pkg)
		c, s, cleanup := goldenPair(t, m, gc.pkg)
		sig, err := c.Sign([]byte("hello"))
		require.NoError(t, err)
		require.NoError(t, s.Verify([]byte("hello"), sig))
		sig, err = s.Sign([]byte("hello back"))
		require.NoError(t, err)
		require.NoError(t, c.Verify([]byte("hello back"), sig))

		exporter, peer := &s.Context, &c.Context
		if !gc.server {
			exporter, peer = peer, exporter
		}
		blob, err := exporter.Export(gc.flags)
		require.NoError(t, err)
		var msg []byte
		if gc.flags&flags.ResetNew != 0 {
			// After a reset the importer expects the first message after
			// the handshake: what a fresh session's client sends first.
			msg = []byte("hello")
			c2, s2, cleanup2 := goldenPair(t, goldenMachine(gc.pkg), gc.pkg)
			if gc.server {
				sig, err = c2.Sign(msg)
			} else {
				sig, err = s2.Sign(msg)
			}
			require.NoError(t, err)
			cleanup2()
		} else {
			msg = []byte("after the hand-off")
			sig, err = peer.Sign(msg)
			require.NoError(t, err)
		}
		require.NoError(t, os.WriteFile(blobPath, blob, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(goldenDir, gc.name+".msg"),
			[]byte(hex.EncodeToString(msg)+" "+hex.EncodeToString(sig)+"\n"), 0o644))
		cleanup()
	}
}

// goldenPair runs the golden handshake of pkg on m (deterministic
// randomness, so the same session key every time).
func goldenPair(t *testing.T, m *Machine, pkg string) (*sspictx.ClientContext, *sspictx.ServerContext, func()) {
	st := sspictx.NewStore(m.NewProcess())
	sc, err := st.AcquireCredentials(pkg, flags.Inbound, nil)
	require.NoError(t, err)
	cc, err := st.AcquireCredentials(pkg, flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	require.NoError(t, err)
	c := cc.NewClientContext("HOST/golden.contoso.test", flags.ClientReqIntegrity)
	s := sc.NewServerContext(flags.ServerReqIntegrity)
	var toS, toC []byte
	for done := false; !done; {
		toS, done, err = c.Step(toC)
		require.NoError(t, err)
		if len(toS) > 0 {
			toC, _, err = s.Step(toS)
			require.NoError(t, err)
		}
	}
	return c, s, func() {
		_ = c.Delete()
		_ = s.Delete()
		_ = cc.Release()
		_ = sc.Release()
	}
}

// FuzzImport feeds arbitrary bytes to ImportSecurityContext: every input
// is refused with a status (or, for a valid blob, imported), never a
// panic, and an established context in the same process keeps working.
func FuzzImport(f *testing.F) {
	for _, gc := range goldenCases {
		if b, err := os.ReadFile(filepath.Join(goldenDir, gc.name+".blob")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("GOSSPIPK"))
	m := keyedMachine()
	p := m.NewProcess()
	f.Fuzz(func(t *testing.T, blob []byte) {
		h, err := p.ImportSecurityContext("NTLM", blob, 0)
		if err != nil {
			st := sspictx.StatusOf(err)
			switch st {
			case sspictx.StatusInvalidToken, sspictx.StatusContextExpired:
			default:
				t.Fatalf("import answered %v: %v", st, err)
			}
			return
		}
		_, err = p.QueryContextAttributes(h, backend.AttrSizes)
		require.NoError(t, err)
		require.NoError(t, p.DeleteSecurityContext(h))
	})
}

// A context exports its package's newest state layout, versioned: NTLM's
// 69 bytes, and Negotiate's naming the mechanism around them.
func TestPackedStateLayouts(t *testing.T) {
	for _, pkg := range []string{"NTLM", "Negotiate"} {
		t.Run(pkg, func(t *testing.T) {
			m := keyedMachine()
			c, s, cleanup := goldenPair(t, m, pkg)
			defer cleanup()
			for _, ctx := range []*sspictx.Context{&c.Context, &s.Context} {
				blob, err := ctx.Export(0)
				require.NoError(t, err)
				st, hdr, err := m.sealer.Open(blob)
				require.NoError(t, err)
				assert.Equal(t, uint16(serialize.Version3), hdr.Version)
				assert.Equal(t, goldenEpoch, st.ExportedAt, "stamped with the machine's real time")
				state := st.PackageState
				if pkg == "Negotiate" {
					assert.Equal(t, uint8(1), st.PackageVersion)
					require.Greater(t, len(state), 6)
					assert.Equal(t, "\x04NTLM\x03", string(state[:6]), "mechanism name and its state's version")
					state = state[6:]
				} else {
					assert.Equal(t, uint8(ntlmStateV3), st.PackageVersion)
				}
				// Neither stream has moved: both are keyed on first use.
				assert.Len(t, state, ntlmStateLenV1+2)
			}
		})
	}
}

// Every package state that does not decode, or contradicts its blob, is
// refused with SEC_E_INVALID_TOKEN and a detail, whatever the version.
func TestRestoreRefusesBadStates(t *testing.T) {
	m := keyedMachine()
	_, s, cleanup := goldenPair(t, m, "Negotiate")
	defer cleanup()
	blob, err := s.Export(0)
	require.NoError(t, err)
	st, _, err := m.sealer.Open(blob)
	require.NoError(t, err)
	neg := bytes.Clone(st.PackageState) // server side, version 1 around NTLM's version 3
	ntlmV2 := neg[6:]
	ntlmState := ntlmV2[:ntlmStateLenV1] // version 1: the positions alone
	negV1 := append([]byte("\x04NTLM\x01"), ntlmState...)

	// Version 2 with a stream that has moved: a position and its RC4
	// state.
	moved := bytes.Clone(ntlmState)
	binary.LittleEndian.PutUint64(moved[37:], 24) // receive stream 24 bytes on
	perm := make([]byte, 258)
	for i := range perm[:256] {
		perm[i] = byte(255 - i)
	}
	withCipher := append(append(bytes.Clone(moved), 0, 1), perm...)
	noCipher := append(bytes.Clone(moved), 0, 0)
	farBase := bytes.Clone(withCipher)
	binary.LittleEndian.PutUint64(farBase[37:], 1<<20)
	binary.LittleEndian.PutUint64(farBase[61:], 65) // post-handshake receive stream 65 bytes on

	behind := bytes.Clone(ntlmState)
	behind[45] = 0xff // post-handshake send sequence ahead of the current one
	side := bytes.Clone(ntlmState)
	side[20] = 2
	unknown := append([]byte("\x0cNegoExtender\x01"), ntlmState...)
	unversioned := append([]byte("\x04NTLM\x00"), ntlmState...)
	for _, tc := range []struct {
		name    string
		d       *pkgDesc
		version uint8
		state   []byte
		server  bool
		detail  string
	}{
		{"ntlm newer", ntlmPkg, 4, ntlmState, true, "version 4 is newer"},
		{"ntlm v3 without markers", ntlmPkg, 3, ntlmState, true, "69 bytes, want at least 71"},
		{"ntlm v3 moved without its cipher", ntlmPkg, 3, noCipher, true, "at keystream byte 24 without its RC4 state"},
		{"ntlm v3 cipher cut off", ntlmPkg, 3, withCipher[:len(withCipher)-1], true, "RC4 state cut off"},
		{"ntlm v3 trailing bytes", ntlmPkg, 3, append(bytes.Clone(withCipher), 0), true, "1 bytes after its RC4 states"},
		{"ntlm v3 bad marker", ntlmPkg, 3, append(bytes.Clone(moved), 2, 0), true, "RC4 state marker 2"},
		{"ntlm v3 post-handshake position far on", ntlmPkg, 3, farBase, true, "more than a handshake spends"},
		{"ntlm v1 short", ntlmPkg, 1, ntlmState[:ntlmStateLenV0], true, "45 bytes, want 69"},
		{"ntlm v0 odd length", ntlmPkg, 0, ntlmState[:50], true, "50 bytes, want 69"},
		{"ntlm empty", ntlmPkg, 1, nil, true, "0 bytes"},
		{"ntlm side byte", ntlmPkg, 1, side, true, "side byte 2"},
		{"ntlm behind", ntlmPkg, 1, behind, true, "behind its post-handshake position"},
		{"ntlm other side", ntlmPkg, 1, ntlmState, false, "contradicts the context's side"},
		{"negotiate newer", negotiatePkg, 2, neg, true, "version 2 is newer"},
		{"negotiate empty", negotiatePkg, 1, nil, true, "cut off"},
		{"negotiate cut in the name", negotiatePkg, 1, neg[:4], true, "cut off"},
		{"negotiate unknown mechanism", negotiatePkg, 1, unknown, true, `"NegoExtender"`},
		{"negotiate unversioned inside", negotiatePkg, 1, unversioned, true, "unversioned"},
		{"negotiate inner refused", negotiatePkg, 1, negV1[:len(negV1)-1], true, "68 bytes, want 69"},
		{"negotiate v0 not NTLM's", negotiatePkg, 0, negV1, true, "75 bytes, want 69"},
		{"negotiate other side", negotiatePkg, 1, neg, false, "contradicts the context's side"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, _, err := tc.d.mech.restore(tc.version, bytes.Clone(tc.state), tc.server)
			require.Error(t, err)
			require.Nil(t, sess)
			err = mechFailure(backend.OpImportSecurityContext, tc.d.info.Name, "", err)
			require.ErrorIs(t, err, backend.StatusInvalidToken)
			assert.Contains(t, err.Error(), tc.detail)
		})
	}
	sess, runs, err := negotiatePkg.mech.restore(1, neg, true)
	require.NoError(t, err, "the unaltered state restores")
	assert.Equal(t, ntlmPkg, runs)
	sess.destroy()
	sess, _, err = ntlmPkg.mech.restore(ntlmStateV3, withCipher, true)
	require.NoError(t, err, "a moved stream with its RC4 state restores")
	sess.destroy()
}

// FuzzRestore feeds arbitrary package states to every mechanism: each is
// refused with SEC_E_INVALID_TOKEN (or restored), never a panic. States
// whose NTLM keystream positions would take long to replay are skipped.
func FuzzRestore(f *testing.F) {
	m := keyedMachine()
	for _, gc := range goldenCases {
		b, err := os.ReadFile(filepath.Join(goldenDir, gc.name+".blob"))
		if err != nil {
			continue
		}
		st, _, err := m.sealer.Open(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(gc.pkg == "Negotiate", st.PackageVersion, gc.server, st.PackageState)
	}
	f.Add(false, uint8(1), true, []byte{})
	f.Add(true, uint8(1), true, []byte("\x04NTLM"))
	f.Fuzz(func(t *testing.T, negotiate bool, version uint8, server bool, state []byte) {
		d, inner := ntlmPkg, state
		if negotiate {
			d = negotiatePkg
			if version != 0 && len(state) > 0 && len(state) >= 2+int(state[0]) {
				inner = state[2+int(state[0]):]
			}
		}
		if len(inner) >= ntlmStateLenV0 && (binary.LittleEndian.Uint64(inner[29:]) > 1<<20 || binary.LittleEndian.Uint64(inner[37:]) > 1<<20) {
			return
		}
		sess, _, err := d.mech.restore(version, state, server)
		if err != nil {
			if st := backend.StatusOf(mechFailure(backend.OpImportSecurityContext, d.info.Name, "", err)); st != backend.StatusInvalidToken {
				t.Fatalf("restore answered %v: %v", st, err)
			}
			return
		}
		sess.destroy()
	})
}
