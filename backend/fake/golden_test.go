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

	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// Run `go test ./backend/fake -run Golden -update` to rewrite the golden
// packed contexts. Only do so with a new format version: the point of the
// files is that blobs exported by earlier builds still import.
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
	flags  flags.Export
	server bool
}

var goldenCases = []goldenCase{
	{"ntlm-server-v1", 0, true},
	{"ntlm-server-reset-v1", flags.ResetNew, true},
	{"ntlm-client-v1", flags.DeleteOld, false},
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
			st := sspictx.NewStore(m.NewProcess())
			ctx, err := st.Import("NTLM", blob, nil)
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

// writeGolden makes the golden files: a handshake on the keyed machine,
// one message each way, the export, and the peer's next message.
func writeGolden(t *testing.T) {
	require.NoError(t, os.MkdirAll(goldenDir, 0o755))
	for _, gc := range goldenCases {
		m := keyedMachine()
		st := sspictx.NewStore(m.NewProcess())
		sc, err := st.AcquireCredentials("NTLM", flags.Inbound, nil)
		require.NoError(t, err)
		cc, err := st.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
		require.NoError(t, err)
		c := cc.NewClientContext("HOST/golden.contoso.test", flags.ClientReqIntegrity)
		s := sc.NewServerContext(flags.ServerReqIntegrity)
		neg, _, err := c.Step(nil)
		require.NoError(t, err)
		chal, _, err := s.Step(neg)
		require.NoError(t, err)
		auth, _, err := c.Step(chal)
		require.NoError(t, err)
		_, _, err = s.Step(auth)
		require.NoError(t, err)
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
			// After a reset the importer expects message number zero: a
			// fresh session's first signature is what the peer would send.
			msg = []byte("hello")
			sig, err = signFirst("hello")
			require.NoError(t, err)
		} else {
			msg = []byte("after the hand-off")
			sig, err = peer.Sign(msg)
			require.NoError(t, err)
		}
		require.NoError(t, os.WriteFile(filepath.Join(goldenDir, gc.name+".blob"), blob, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(goldenDir, gc.name+".msg"),
			[]byte(hex.EncodeToString(msg)+" "+hex.EncodeToString(sig)+"\n"), 0o644))
		for _, x := range []*sspictx.Context{&c.Context, &s.Context} {
			_ = x.Delete()
		}
		require.NoError(t, cc.Release())
		require.NoError(t, sc.Release())
	}
}

// signFirst repeats the golden handshake on a fresh keyed machine (same
// deterministic randomness, so the same session key) and returns the
// client's first signature of msg.
func signFirst(msg string) ([]byte, error) {
	m := keyedMachine()
	p := m.NewProcess()
	st := sspictx.NewStore(p)
	sc, _ := st.AcquireCredentials("NTLM", flags.Inbound, nil)
	cc, _ := st.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	c := cc.NewClientContext("HOST/golden.contoso.test", flags.ClientReqIntegrity)
	s := sc.NewServerContext(flags.ServerReqIntegrity)
	neg, _, _ := c.Step(nil)
	chal, _, _ := s.Step(neg)
	auth, _, _ := c.Step(chal)
	_, _, _ = s.Step(auth)
	sig, err := c.Sign([]byte(msg))
	_ = c.Delete()
	_ = s.Delete()
	_ = cc.Release()
	_ = sc.Release()
	return sig, err
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
		_, err = p.QueryContextAttributes(h, sspictx.AttrSizes)
		require.NoError(t, err)
		require.NoError(t, p.DeleteSecurityContext(h))
	})
}
