package fake

import (
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
		m := keyedMachine()
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
			c2, s2, cleanup2 := goldenPair(t, keyedMachine(), gc.pkg)
			sig, err = c2.Sign(msg)
			require.NoError(t, err)
			_ = s2
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
