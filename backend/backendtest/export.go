package backendtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// testExport covers every documented row of ExportSecurityContext and
// ImportSecurityContext: each flag combination with follow-up use of the
// old and the new context, TO_KERNEL, the access token, an unknown
// package and (when the harness can make one) a foreign machine.
func (s *suite) testExport(t *testing.T, p Package) {
	if !need(t, "ExportSecurityContext", p.Caps.Export) {
		s.testExportUnsupported(t, p)
		return
	}
	for _, f := range []flags.Export{0, flags.ResetNew, flags.DeleteOld, flags.ResetNew | flags.DeleteOld} {
		f := f
		t.Run("Flags="+f.String(), func(t *testing.T) { s.testExportFlags(t, p, f) })
	}
	t.Run("ToKernel", func(t *testing.T) {
		st := s.store(t)
		pr := establish(t, st, p)
		_, err := pr.server.Export(flags.ToKernel | flags.DeleteOld)
		requireStatus(t, err, sspictx.StatusUnsupportedFunction)
		exchange(t, &pr.client.Context, &pr.server.Context, "still usable after a refused export")
	})
	t.Run("Token", func(t *testing.T) {
		st := s.store(t)
		pr := establish(t, st, p)
		blob, tok, err := pr.server.ExportWithToken(0)
		require.NoError(t, err)
		require.NotEmpty(t, blob)
		require.NotNil(t, tok, "a server context exports its client's token")
		info, err := tok.Info()
		require.NoError(t, err)
		if strings.Contains(p.ClientName, `\`) {
			assert.True(t, strings.EqualFold(p.ClientName, info.User), "token user %q, want %q", info.User, p.ClientName)
		}
		leaks := st.Leaks()
		require.NotEmpty(t, leaks, "the exported token is tracked until closed")
		require.NoError(t, tok.Close())
		st2 := s.store(t)
		imp, err := st2.Import(p.Name, blob, nil)
		require.NoError(t, err)
		require.NoError(t, imp.Delete())
	})
	t.Run("UnknownPackage", func(t *testing.T) {
		st := s.store(t)
		pr := establish(t, st, p)
		blob, err := pr.server.Export(0)
		require.NoError(t, err)
		_, err = s.store(t).Import("NoSuchPackage", blob, nil)
		requireStatus(t, err, sspictx.StatusSecpkgNotFound)
	})
	t.Run("ForeignMachine", func(t *testing.T) {
		if s.h.NewForeignBackend == nil {
			leftOut(t, "the harness has no second machine")
		}
		st := s.store(t)
		pr := establish(t, st, p)
		blob, err := pr.server.Export(0)
		require.NoError(t, err)
		foreign := sspictx.NewStore(s.h.NewForeignBackend(t))
		_, err = foreign.Import(p.Name, blob, nil)
		requireStatus(t, err, sspictx.StatusInvalidToken)
		require.Empty(t, foreign.Leaks())
		exchange(t, &pr.client.Context, &pr.server.Context, "the exporter is unharmed")
	})
}

// testExportFlags exports the server context of a pair in which one
// message already went from client to server, imports it in a second
// process, and checks both contexts afterwards.
func (s *suite) testExportFlags(t *testing.T, p Package, f flags.Export) {
	st, b := s.storeAndBackend(t)
	pr := establish(t, st, p)
	m1 := []byte("before the hand-off")
	sig1, err := pr.client.Sign(m1)
	require.NoError(t, err)
	require.NoError(t, pr.server.Verify(m1, sig1))

	oldHandle := handleOf(t, &pr.server.Context)
	blob, err := pr.server.Export(f)
	require.NoError(t, err)
	require.NotEmpty(t, blob)

	st2 := s.store(t)
	imp, err := st2.Import(p.Name, blob, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, imp.Delete()) }()

	if f&flags.ResetNew != 0 {
		// Reset to the state right after the handshake: the first message
		// verifies again, as message number zero.
		require.NoError(t, imp.Verify(m1, sig1), "RESET_NEW: the imported context starts at sequence zero")
	} else {
		// Continue where the exporter stood: the next message verifies,
		// the one already seen is a replay.
		m2 := []byte("after the hand-off")
		sig2, err := pr.client.Sign(m2)
		require.NoError(t, err)
		require.NoError(t, imp.Verify(m2, sig2), "the imported context continues the exporter's sequence")
	}

	if f&flags.DeleteOld != 0 {
		_, err := pr.server.Sign([]byte("x"))
		requireStatus(t, err, sspictx.StatusInvalidHandle, "the old context after DELETE_OLD")
		_, err = pr.server.Sizes()
		requireStatus(t, err, sspictx.StatusInvalidHandle, "query on the old context after DELETE_OLD")
		requireStatus(t, pr.server.Delete(), sspictx.StatusInvalidHandle, "deleting the old context after DELETE_OLD")
		if s.h.DoubleDelete {
			// The backend itself, not only the Store, must have let go.
			_, err = b.QueryContextAttributes(oldHandle, backend.AttrSizes)
			requireStatus(t, err, sspictx.StatusInvalidHandle, "backend query of the DELETE_OLD handle")
			requireStatus(t, b.DeleteSecurityContext(oldHandle), sspictx.StatusInvalidHandle, "backend DeleteSecurityContext of the DELETE_OLD handle")
		}
		for _, l := range st.Leaks() {
			assert.NotContains(t, l.What, "server context", "a context moved away by DELETE_OLD is no leak")
		}
		return
	}
	// Without DELETE_OLD the old context stays valid and independent.
	_, err = pr.server.Sizes()
	require.NoError(t, err, "the old context stays valid")
	if p.Caps.ServerSign == Supported && p.Caps.SequenceDetect == Supported && f&flags.ResetNew == 0 {
		// Both copies send with the same sequence number: the client
		// accepts the first and refuses the second.
		a, err := pr.server.Sign([]byte("from the old copy"))
		require.NoError(t, err)
		b, err := imp.Sign([]byte("from the new copy"))
		require.NoError(t, err)
		require.NoError(t, pr.client.Verify([]byte("from the old copy"), a))
		requireStatus(t, pr.client.Verify([]byte("from the new copy"), b), sspictx.StatusOutOfSequence, "both copies sent")
	}
}

// testExportUnsupported checks the exact answer of a backend that declares
// export and import unsupported, and that the context survives it.
func (s *suite) testExportUnsupported(t *testing.T, p Package) {
	st := s.store(t)
	pr := establish(t, st, p)
	for _, f := range []flags.Export{0, flags.ResetNew, flags.DeleteOld, flags.ResetNew | flags.DeleteOld} {
		_, err := pr.server.Export(f)
		requireStatus(t, err, sspictx.StatusUnsupportedFunction, fmt.Sprintf("Export(%v)", f))
		_, err = pr.client.Export(f)
		requireStatus(t, err, sspictx.StatusUnsupportedFunction, fmt.Sprintf("client Export(%v)", f))
	}
	_, err := st.Import(p.Name, []byte("not a packed context"), nil)
	requireStatus(t, err, sspictx.StatusUnsupportedFunction, "Import")
	if p.Caps.ClientSign == Supported {
		exchange(t, &pr.client.Context, &pr.server.Context, "still usable after the refused exports")
	}
}
