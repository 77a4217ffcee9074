package fake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/hostid"
	"github.com/gosspi/gosspi/serialize"
)

// ErrAlreadyImported is matched (with errors.Is) by the error of a second
// import of one blob: a packed context can be imported only once.
var ErrAlreadyImported = errors.New("fake: this packed context was already imported on this machine")

// ExportSecurityContext seals an established context with the machine key.
//
// It checks everything that can fail before it changes anything, so a
// failed export (bad flags, injected fault, sealing error) leaves the old
// context fully usable even with DeleteOld.
func (p *Process) ExportSecurityContext(h backend.Handle, f flags.Export, wantToken bool) ([]byte, backend.TokenHandle, error) {
	const op = backend.OpExportSecurityContext
	if err := f.Validate(); err != nil {
		return nil, 0, backend.NewError(op, "", backend.StatusInvalidParameter, "export flags beyond ResetNew|DeleteOld|ToKernel", err)
	}
	c, err := p.lookupCtx(op, h)
	if err != nil {
		return nil, 0, err
	}
	defer c.mu.Unlock()
	name := c.pkg.info.Name
	if f&flags.ToKernel != 0 {
		return nil, 0, errf(op, name, backend.StatusUnsupportedFunction, "SECPKG_CONTEXT_EXPORT_TO_KERNEL is not supported")
	}
	if c.phase != established {
		return nil, 0, errf(op, name, backend.StatusInvalidHandle, "a context can be exported only after its handshake")
	}
	now := p.now()
	if !now.Before(c.expiry) {
		// Exporting it would hand out a token and, with DeleteOld, lose
		// the context for a blob no process can import.
		return nil, 0, errf(op, name, backend.StatusContextExpired, "the context expired at %s", c.expiry.Format(time.RFC3339))
	}
	if err := p.faults.check(op, name); err != nil {
		return nil, 0, err
	}
	buf := stateBufs.Get().(*[]byte)
	version, pkgState := c.sess.appendState((*buf)[:0], f&flags.ResetNew != 0)
	defer func() {
		// The state holds the session key: zero it, and the pooled
		// buffer too if the state outgrew it and left part of it there.
		clear(pkgState)
		if cap(pkgState) > cap(*buf) {
			clear((*buf)[:cap(*buf)])
		}
		stateBufs.Put(buf)
	}()
	st := serialize.State{
		Package:        name,
		Server:         c.server,
		Established:    true,
		ClientName:     c.domain + `\` + c.user,
		ServerName:     c.serverName,
		Authority:      c.target, // the SPN; serialize.State has no field of its own for it
		Flags:          c.retFlags,
		Expiry:         c.expiry,
		User:           c.user,
		Domain:         c.domain,
		SID:            c.sid,
		Groups:         c.groups,
		PackageState:   pkgState,
		PackageVersion: version,
		Reset:          f&flags.ResetNew != 0,
		ExportedAt:     p.realNow(now),
	}
	// The nonce never comes from MachineConfig.Rand: a repeated nonce
	// under the machine key would break AES-GCM. An in-memory machine
	// counts its exports; a host-bound one, whose key other processes
	// share, draws nonces from crypto/rand.
	var nonces io.Reader // nil: crypto/rand
	if l, ok := p.m.ledger.(*memLedger); ok {
		nonces = &l.nonces
	}
	blob, err := p.m.sealer.Seal(&st, nonces)
	if err != nil {
		return nil, 0, backend.NewError(op, name, backend.StatusInternalError, "sealing the context", err)
	}
	var tok backend.TokenHandle
	if wantToken && c.server {
		tok = backend.TokenHandle(p.newToken(c.identity(), false))
	}
	// Nothing can fail past this point.
	if f&flags.DeleteOld != 0 {
		p.removeCtx(h, c)
	}
	return blob, tok, nil
}

// stateBufs holds the buffers sessions append their export state to, so
// that an export allocates only its blob.
var stateBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 128)
	return &b
}}

// plainBufs holds the buffers imports decrypt their blob into. Fresh
// memory is cold in cache, and writing a kilobyte of it cost an import
// about as much as decrypting it; a pooled buffer is warm. A blob too
// large for one (many groups) is decrypted into an allocation of its own.
var plainBufs = sync.Pool{New: func() any { return &importBuf{b: make([]byte, 0, 2048)} }}

// importBuf is an import's decryption buffer. A restored NTLM session may
// keep its RC4 states where the import decrypted them instead of copying
// them (ntlm.Holder); the buffer then goes back to plainBufs when the
// session releases it, not when the import ends.
type importBuf struct {
	b []byte
	// keepTail is how many bytes at the end of the import's PackageState
	// a session keeps: the NTLM layout puts its cipher states last.
	keepTail int
	// importing is set while the import runs, which then puts the buffer
	// back itself; released says the session released it meanwhile.
	importing, released bool
}

// Release is the session's: it has zeroed what it kept.
func (ib *importBuf) Release() {
	ib.keepTail = 0
	if ib.importing {
		ib.released = true
		return
	}
	plainBufs.Put(ib)
}

// holds reports whether a blob of blobLen bytes decrypts into the
// buffer (its plaintext is shorter than the blob); a larger one gets an
// allocation of its own, which a session cannot keep as the buffer.
func (ib *importBuf) holds(blobLen int) bool { return blobLen <= cap(ib.b) }

// done ends the import's use of the buffer: it zeroes the state but what
// a session keeps, and puts the buffer back unless the session still
// keeps part of it.
func (ib *importBuf) done(st *serialize.State) {
	ib.importing = false
	if ib.keepTail > 0 && !ib.released {
		clear(st.PackageState[:len(st.PackageState)-ib.keepTail])
		st.PackageState = nil
		return
	}
	// OpenIntoBuffer leaves nothing in the buffer but PackageState,
	// whatever the outcome, so Wipe zeroes all the blob put there.
	st.Wipe()
	ib.keepTail, ib.released = 0, false
	plainBufs.Put(ib)
}

// holdingRestorer is a mechanism whose restore can leave what it keeps
// of the state in the import's buffer (importBuf).
type holdingRestorer interface {
	restoreHolding(version uint8, state []byte, server bool, ib *importBuf) (session, *pkgDesc, error)
}

// ImportSecurityContext opens a blob exported on this machine. Every
// malformed, foreign or replayed blob is refused with SEC_E_INVALID_TOKEN
// and a detail saying which; nothing else in the process changes.
func (p *Process) ImportSecurityContext(pkg string, packed []byte, token backend.TokenHandle) (backend.Handle, error) {
	const op = backend.OpImportSecurityContext
	d, err := findPackage(op, pkg)
	if err != nil {
		return backend.Handle{}, err
	}
	name := d.info.Name
	if token != 0 {
		p.mu.RLock()
		_, ok := p.tokens[uintptr(token)]
		p.mu.RUnlock()
		if !ok {
			return backend.Handle{}, errf(op, name, backend.StatusInvalidHandle, "token handle %#x is not valid in this process", uintptr(token))
		}
	}
	if err := p.faults.check(op, name); err != nil {
		return backend.Handle{}, err
	}
	var state serialize.State // on the stack: the context keeps only its parts
	st := &state
	ib := plainBufs.Get().(*importBuf)
	ib.importing = true
	// The state holds the session key: it is zeroed before the buffer
	// goes back for the next import, but for the RC4 states a session
	// keeps in it. A successful import does so before the context is
	// published, so that nothing else can use the session (and release
	// the buffer) while the import still has it.
	defer func() {
		if ib.importing {
			ib.done(st)
		}
	}()
	hdr, err := p.m.sealer.OpenIntoBuffer(st, packed, ib.b)
	if err != nil {
		return backend.Handle{}, backend.NewError(op, name, backend.StatusInvalidToken, importDetail(err), err)
	}
	if hdr.Package != name || st.Package != name {
		return backend.Handle{}, errf(op, name, backend.StatusInvalidToken, "the blob holds a %q context, not %q", hdr.Package, name)
	}
	if st.ExportedAt.IsZero() && p.m.hostBound {
		// Without an export time the import-once record could not be kept
		// for long enough across processes; only in-memory machines, whose
		// record lives as long as they do, still take such blobs.
		return backend.Handle{}, errf(op, name, backend.StatusInvalidToken,
			"the blob is format version %d, which has no export time; a host-bound machine imports only blobs of version %d or later: export it again", hdr.Version, serialize.Version3)
	}
	// Expiry is checked before the state is restored, which may replay
	// cipher streams.
	now := p.now()
	if !now.Before(st.Expiry) {
		return backend.Handle{}, errf(op, name, backend.StatusContextExpired, "the exported context expired at %s", st.Expiry.Format(time.RFC3339))
	}
	var sess session
	var runs *pkgDesc
	if hr, ok := d.mech.(holdingRestorer); ok && ib.holds(len(packed)) {
		sess, runs, err = hr.restoreHolding(st.PackageVersion, st.PackageState, st.Server, ib)
	} else {
		sess, runs, err = d.mech.restore(st.PackageVersion, st.PackageState, st.Server)
	}
	if err != nil {
		return backend.Handle{}, mechFailure(op, name, "the package state does not restore", err)
	}
	if runs == nil {
		runs = d
	}
	// Claim the blob last, so a refused blob does not use up its one import.
	var first bool
	if l, ok := p.m.ledger.(*memLedger); ok {
		// Called directly, the nonce stays on the stack; through the
		// interface it would move hdr to the heap on every import.
		var real time.Time // zero: the ledger reads its clock
		if hostid.IsTimeNow(p.m.clock) {
			real = now // which the ledger takes if its clock is time.Now too
		}
		if n, ok := l.nonces.sequence(hdr.Nonce[:]); ok && !st.ExportedAt.IsZero() {
			first, err = l.live.ClaimSequenceAt(n, st.ExportedAt, real)
		} else {
			first, err = l.claimAt(hdr.Nonce[:], st.ExportedAt, real)
		}
	} else {
		first, err = p.m.ledger.Claim(bytes.Clone(hdr.Nonce[:]), st.ExportedAt)
	}
	if err != nil {
		sess.destroy()
		return backend.Handle{}, claimFailure(op, name, err)
	}
	if !first {
		sess.destroy()
		return backend.Handle{}, backend.NewError(op, name, backend.StatusInvalidToken, "the blob was already imported", ErrAlreadyImported)
	}
	c := &ctxEntry{
		pkg: d, runs: runs, server: st.Server, phase: established, retFlags: st.Flags,
		target: st.Authority, sess: sess, start: now, expiry: st.Expiry,
		user: st.User, domain: st.Domain, sid: st.SID, groups: st.Groups,
		serverName: st.ServerName,
	}
	ib.done(st)
	return p.addCtx(c), nil
}

// realNow returns the real time, given now, a reading of the machine's
// clock just made: now itself when both clocks are time.Now (every
// machine but the tests' that pin them), so that an export reads the
// clock once. Reading it costs about 50 ns, a fortieth of an export and
// import.
func (p *Process) realNow(now time.Time) time.Time {
	if hostid.IsTimeNow(p.m.clock) && hostid.IsTimeNow(p.m.realNow) {
		return now
	}
	return p.m.realNow()
}

// claimAt is Claim with now, a reading of time.Now the importer has
// made, or zero; see hostid.MemLedger.ClaimAt.
func (l *memLedger) claimAt(id []byte, exportedAt, now time.Time) (bool, error) {
	if exportedAt.IsZero() {
		return l.Claim(id, exportedAt)
	}
	return l.live.ClaimAt(id, exportedAt, now)
}

// claimFailure maps a refusal of the import ledger onto its status.
func claimFailure(op backend.Op, name string, err error) error {
	switch {
	case errors.Is(err, hostid.ErrTooOld):
		return backend.NewError(op, name, backend.StatusContextExpired,
			fmt.Sprintf("a packed context must be imported within %v (real time) of its export", hostid.Retention), err)
	case errors.Is(err, hostid.ErrInFuture):
		return backend.NewError(op, name, backend.StatusInvalidToken, "the blob's export time is ahead of this host's clock", err)
	}
	return backend.NewError(op, name, backend.StatusInternalError, "recording the import", err)
}

// importDetail says in words which check a blob failed.
func importDetail(err error) string {
	switch {
	case errors.Is(err, serialize.ErrForeignMachine):
		return "the blob was exported on another machine"
	case errors.Is(err, serialize.ErrVersion):
		return "the blob's format is newer than this build reads"
	case errors.Is(err, serialize.ErrNotPacked):
		return "the blob is not a gosspi packed context"
	case errors.Is(err, serialize.ErrTruncated):
		return "the blob is truncated"
	case errors.Is(err, serialize.ErrTampered):
		return "the blob was altered or is corrupt"
	case errors.Is(err, serialize.ErrTooLarge):
		return "the blob is too large"
	}
	return "the blob is not valid"
}
