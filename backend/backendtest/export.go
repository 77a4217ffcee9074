package backendtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// testExport covers every documented row of ExportSecurityContext and
// ImportSecurityContext: each flag combination with follow-up use of the
// old and the new context, TO_KERNEL, the access token, an unknown
// package and (when the harness can make one) a foreign machine.
func (s *suite) testExport(t *testing.T, p Package) {
	if !s.need(t, "ExportSecurityContext", p.Caps.Export) {
		s.testExportUnsupported(t, p)
		return
	}
	for _, f := range []flags.Export{0, flags.ResetNew, flags.DeleteOld, flags.ResetNew | flags.DeleteOld} {
		t.Run("Flags="+f.String(), func(t *testing.T) { s.testExportFlags(t, p, f) })
	}
	t.Run("ToKernel", func(t *testing.T) {
		st := s.store(t)
		pr := s.establish(t, st, p)
		_, err := pr.server.Export(flags.ToKernel | flags.DeleteOld)
		s.requireStatus(t, err, backend.OpExportSecurityContext, sspictx.StatusUnsupportedFunction, "Export(ToKernel|DeleteOld)")
		s.exchangeIfSupported(t, p, pr)
	})
	t.Run("Token", func(t *testing.T) {
		st := s.store(t)
		pr := s.establish(t, st, p)
		blob, tok, err := pr.server.ExportWithToken(0)
		s.noError(t, err, "ExportSecurityContext with the token")
		s.isTrue(t, len(blob) > 0, "ExportSecurityContext returned an empty blob")
		s.isTrue(t, tok != nil, "a server context exports its client's token, but none came back")
		info, err := tok.Info()
		s.noError(t, err, "GetTokenInformation of the exported token")
		if strings.Contains(p.ClientName, `\`) && !strings.EqualFold(p.ClientName, info.User) {
			s.errorf(t, "the exported token's user is %q, want %q", info.User, p.ClientName)
		}
		tracked := false
		for _, l := range st.Leaks() {
			tracked = tracked || l.Kind == "token"
		}
		s.isTrue(t, tracked, "the exported token is not tracked until closed")
		s.noError(t, tok.Close(), "CloseHandle of the exported token")
		imp, err := s.store(t).Import(p.Name, blob, nil)
		s.noError(t, err, "ImportSecurityContext")
		s.noError(t, imp.Delete(), "DeleteSecurityContext of the import")
	})
	t.Run("UnknownPackage", func(t *testing.T) {
		st := s.store(t)
		pr := s.establish(t, st, p)
		blob, err := pr.server.Export(0)
		s.noError(t, err, "ExportSecurityContext")
		_, err = s.store(t).Import("NoSuchPackage", blob, nil)
		s.requireStatus(t, err, backend.OpImportSecurityContext, sspictx.StatusSecpkgNotFound, "Import into an unknown package")
	})
	t.Run("ForeignMachine", func(t *testing.T) {
		if s.h.NewForeignBackend == nil {
			s.leftOut(t, "the harness has no second machine")
		}
		st := s.store(t)
		pr := s.establish(t, st, p)
		blob, err := pr.server.Export(0)
		s.noError(t, err, "ExportSecurityContext")
		foreign := sspictx.NewStore(s.h.NewForeignBackend(t))
		_, err = foreign.Import(p.Name, blob, nil)
		s.requireStatus(t, err, backend.OpImportSecurityContext, sspictx.StatusInvalidToken, "Import on another machine")
		if leaks := foreign.Leaks(); len(leaks) > 0 {
			s.errorf(t, "the refused import left %v behind", leaks)
		}
		s.exchangeIfSupported(t, p, pr)
	})
}

// testExportFlags exports the server context of a pair in which one
// message already went from client to server, imports it in a second
// process, and checks both contexts afterwards.
func (s *suite) testExportFlags(t *testing.T, p Package, f flags.Export) {
	st, b := s.storeAndBackend(t)
	pr := s.establish(t, st, p)
	// Without signatures no message shows where the import stands.
	messages := p.Caps.ClientSign == Supported
	if !messages {
		s.leftOutCheck(t, "Messages", "the messages around the hand-off need ClientSign, declared "+p.Caps.ClientSign.String())
	}
	m1 := []byte("before the hand-off")
	var sig1 []byte
	var err error
	if messages {
		sig1, err = pr.client.Sign(m1)
		s.noError(t, err, "MakeSignature")
		s.noError(t, pr.server.Verify(m1, sig1), "VerifySignature")
	}

	oldHandle := s.handleOf(t, &pr.server.Context)
	blob, err := pr.server.Export(f)
	s.noError(t, err, "ExportSecurityContext("+f.String()+")")
	s.isTrue(t, len(blob) > 0, "ExportSecurityContext(%v) returned an empty blob", f)

	imp, err := s.store(t).Import(p.Name, blob, nil)
	s.noError(t, err, "ImportSecurityContext")
	defer func() { s.noError(t, imp.Delete(), "DeleteSecurityContext of the import") }()

	switch {
	case !messages:
		s.usable(t, imp, "after the import")
	case f&flags.ResetNew != 0:
		// Reset to the state right after the handshake: the first message
		// verifies again, as message number zero.
		s.noError(t, imp.Verify(m1, sig1), "RESET_NEW: the imported context starts at sequence zero; VerifySignature of the first message")
	default:
		// Continue where the exporter stood: the next message verifies,
		// the one already seen is a replay.
		m2 := []byte("after the hand-off")
		sig2, err := pr.client.Sign(m2)
		s.noError(t, err, "MakeSignature")
		s.noError(t, imp.Verify(m2, sig2), "the imported context continues the exporter's sequence; VerifySignature of the next message")
	}

	if f&flags.DeleteOld != 0 {
		_, err := pr.server.Sign([]byte("x"))
		s.requireStatus(t, err, backend.OpMakeSignature, sspictx.StatusInvalidHandle, "Sign on the old context after DELETE_OLD")
		_, err = pr.server.Sizes()
		s.requireStatus(t, err, backend.OpQueryContextAttributes, sspictx.StatusInvalidHandle, "query on the old context after DELETE_OLD")
		s.requireStatus(t, pr.server.Delete(), backend.OpDeleteSecurityContext, sspictx.StatusInvalidHandle, "deleting the old context after DELETE_OLD")
		if s.h.DoubleDelete {
			// The backend itself, not only the Store, must have let go.
			_, err = b.QueryContextAttributes(oldHandle, backend.AttrSizes)
			s.requireStatus(t, err, backend.OpQueryContextAttributes, sspictx.StatusInvalidHandle, "backend query of the DELETE_OLD handle")
			s.requireStatus(t, b.DeleteSecurityContext(oldHandle), backend.OpDeleteSecurityContext, sspictx.StatusInvalidHandle, "backend DeleteSecurityContext of the DELETE_OLD handle")
		} else {
			s.leftOutCheck(t, "StaleHandle", "stale handles are unsafe on this backend")
		}
		for _, l := range st.Leaks() {
			if strings.Contains(l.What, "server context") {
				s.errorf(t, "a context moved away by DELETE_OLD is no leak, but the Store reports %s", l)
			}
		}
		return
	}
	// Without DELETE_OLD the old context stays valid and independent.
	_, err = pr.server.Sizes()
	s.noError(t, err, "the old context stays valid; SECPKG_ATTR_SIZES")
	if p.Caps.ServerSign == Supported && p.Caps.SequenceDetect == Supported && f&flags.ResetNew == 0 {
		// Both copies send with the same sequence number: the client
		// accepts the first and refuses the second.
		a, err := pr.server.Sign([]byte("from the old copy"))
		s.noError(t, err, "MakeSignature on the old copy")
		b, err := imp.Sign([]byte("from the new copy"))
		s.noError(t, err, "MakeSignature on the new copy")
		s.noError(t, pr.client.Verify([]byte("from the old copy"), a), "VerifySignature of the old copy's message")
		s.requireStatus(t, pr.client.Verify([]byte("from the new copy"), b), backend.OpVerifySignature, sspictx.StatusOutOfSequence, "Verify of the second copy's message with the same sequence number")
	}
}

// testExportUnsupported checks the exact answer of a backend that declares
// export and import unsupported, and that the context survives it.
func (s *suite) testExportUnsupported(t *testing.T, p Package) {
	st := s.store(t)
	pr := s.establish(t, st, p)
	for _, f := range []flags.Export{0, flags.ResetNew, flags.DeleteOld, flags.ResetNew | flags.DeleteOld} {
		_, err := pr.server.Export(f)
		s.requireStatus(t, err, backend.OpExportSecurityContext, sspictx.StatusUnsupportedFunction, fmt.Sprintf("server Export(%v)", f))
		_, err = pr.client.Export(f)
		s.requireStatus(t, err, backend.OpExportSecurityContext, sspictx.StatusUnsupportedFunction, fmt.Sprintf("client Export(%v)", f))
	}
	_, err := st.Import(p.Name, []byte("not a packed context"), nil)
	s.requireStatus(t, err, backend.OpImportSecurityContext, sspictx.StatusUnsupportedFunction, "Import")
	s.exchangeIfSupported(t, p, pr)
}
