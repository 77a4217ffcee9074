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
		if s.observeStatus(t, p, CheckToKernel, err, backend.OpExportSecurityContext, sspictx.StatusUnsupportedFunction, "Export(ToKernel|DeleteOld)") == sspictx.StatusOK {
			// The package ignored ToKernel: DeleteOld took the context.
			_, err := pr.server.Sizes()
			t.Logf("backendtest: observed %s %s on %s: after the export, the old context answers SECPKG_ATTR_SIZES with %s", CheckToKernel, t.Name(), s.h.Name, sspictx.StatusOf(err).String())
			return
		}
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
		if s.h.Importer == nil {
			s.leftOutCheck(t, "WithToken", "a token handle means nothing in another process, and the harness has no Importer to carry it there")
		} else {
			s.importWithToken(t, p, pr, tok)
		}
		s.noError(t, tok.Close(), "CloseHandle of the exported token")
		if r := s.runImport(t, ImportJob{Packages: s.importNames(t, p, &pr.server.Context), Blob: blob}); s.imported(t, p, r) {
			s.noError(t, r.Delete.Err(), "DeleteSecurityContext of the import")
		}
	})
	t.Run("UnknownPackage", func(t *testing.T) {
		st := s.store(t)
		pr := s.establish(t, st, p)
		blob, err := pr.server.Export(0)
		s.noError(t, err, "ExportSecurityContext")
		r := s.runImport(t, ImportJob{Packages: []string{"NoSuchPackage"}, Blob: blob})
		s.requireStatus(t, r.ImportErr(), backend.OpImportSecurityContext, sspictx.StatusSecpkgNotFound, "Import into an unknown package")
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

	// Both copies send with the same sequence number: the client accepts
	// the first and refuses the second.
	copies := messages && f&flags.DeleteOld == 0 && f&flags.ResetNew == 0 &&
		p.Caps.ServerSign == Supported && p.Caps.SequenceDetect == Supported
	job := ImportJob{Packages: s.importNames(t, p, &pr.server.Context)}
	switch {
	case !messages:
	case f&flags.ResetNew != 0:
		// Reset to the state right after the handshake: the first message
		// verifies again, as message number zero.
		job.Verify = []Signed{{m1, sig1}}
	default:
		// Continue where the exporter stood: the next message verifies,
		// the one already seen is a replay.
		m2 := []byte("after the hand-off")
		sig2, err := pr.client.Sign(m2)
		s.noError(t, err, "MakeSignature")
		job.Verify = []Signed{{m2, sig2}}
	}
	fromNew := []byte("from the new copy")
	if copies {
		job.Sign = [][]byte{fromNew}
	}

	oldHandle := s.handleOf(t, &pr.server.Context)
	blob, err := pr.server.Export(f)
	s.noError(t, err, "ExportSecurityContext("+f.String()+")")
	s.isTrue(t, len(blob) > 0, "ExportSecurityContext(%v) returned an empty blob", f)
	job.Blob = blob

	if r := s.runImport(t, job); s.imported(t, p, r) {
		for i, o := range r.Verify {
			if f&flags.ResetNew != 0 {
				s.noError(t, o.Err(), "RESET_NEW: the imported context starts at sequence zero; VerifySignature of the first message")
			} else {
				s.noError(t, o.Err(), fmt.Sprintf("the imported context continues the exporter's sequence; VerifySignature of message %d after the hand-off", i+1))
			}
		}
		s.noError(t, r.Sizes.Err(), "SECPKG_ATTR_SIZES of the import")
		s.noError(t, r.Delete.Err(), "DeleteSecurityContext of the import")
		if copies {
			s.noError(t, r.SignErrors[0].Err(), "MakeSignature on the new copy")
			a, err := pr.server.Sign([]byte("from the old copy"))
			s.noError(t, err, "MakeSignature on the old copy")
			s.noError(t, pr.client.Verify([]byte("from the old copy"), a), "VerifySignature of the old copy's message")
			s.observeStatus(t, p, CheckExportCopies, pr.client.Verify(fromNew, r.Signatures[0]), backend.OpVerifySignature, sspictx.StatusOutOfSequence, "Verify of the second copy's message with the same sequence number")
		}
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
}

// importWithToken exports the server context of pr again and imports the
// blob, through the harness's Importer, with tok, the client's access token
// an earlier export returned.
func (s *suite) importWithToken(t *testing.T, p Package, pr pair, tok *sspictx.Token) {
	t.Helper()
	blob, err := pr.server.Export(0)
	s.noError(t, err, "ExportSecurityContext for the import with the token")
	var th backend.TokenHandle
	s.noError(t, tok.Raw(func(h backend.TokenHandle) error { th = h; return nil }), "the exported token's handle")
	r := s.runImport(t, ImportJob{Packages: s.importNames(t, p, &pr.server.Context), Blob: blob, Token: th})
	if s.observeStatus(t, p, CheckImportToken, r.ImportErr(), backend.OpImportSecurityContext, sspictx.StatusOK, "ImportSecurityContext with the exported token") != sspictx.StatusOK {
		return
	}
	s.noError(t, r.Sizes.Err(), "SECPKG_ATTR_SIZES of the import with the token")
	s.noError(t, r.Delete.Err(), "DeleteSecurityContext of the import with the token")
}

// importNames returns the names to import c's blob under: the package's
// own, after the negotiated one if the package declares ImportNegotiated
// and the context names one.
func (s *suite) importNames(t *testing.T, p Package, c *sspictx.Context) []string {
	t.Helper()
	if !p.Caps.ImportNegotiated {
		return []string{p.Name}
	}
	var neg string
	err := c.Raw(func(b backend.Backend, h backend.Handle) error {
		v, err := b.QueryContextAttributes(h, backend.AttrNegotiationInfo)
		if ni, ok := v.(backend.NegotiationInfo); ok && err == nil {
			neg = ni.Package.Name
		}
		return err
	})
	if err != nil || neg == "" || strings.EqualFold(neg, p.Name) {
		t.Logf("backendtest: observed ImportName %s on %s: SECPKG_ATTR_NEGOTIATION_INFO names %q (%v); importing under %q", t.Name(), s.h.Name, neg, err, p.Name)
		return []string{p.Name}
	}
	return []string{neg, p.Name}
}

// imported checks the import of r (Caps.Observed may accept a failure, as
// CheckImport) and reports whether the calls on the import ran. It logs
// which name took the blob when there was more than one to try.
func (s *suite) imported(t *testing.T, p Package, r ImportResult) bool {
	t.Helper()
	if p.Caps.ImportNegotiated && len(r.Attempts) > 0 {
		tried := make([]string, len(r.Attempts))
		for i, o := range r.Attempts {
			tried[i] = o.Status.String()
		}
		t.Logf("backendtest: observed ImportName %s on %s: the blob of a %s context imported under %q; the attempts answered %s", t.Name(), s.h.Name, p.Name, r.Package, strings.Join(tried, ", "))
	}
	if s.observeStatus(t, p, CheckImport, r.ImportErr(), backend.OpImportSecurityContext, sspictx.StatusOK, "ImportSecurityContext with no token") != sspictx.StatusOK {
		s.leftOutCheck(t, "AfterImport", "the import failed with a status the harness accepts as observed")
		return false
	}
	return true
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
