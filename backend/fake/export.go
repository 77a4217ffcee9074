package fake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/ntlm"
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
	if !c.established {
		return nil, 0, errf(op, name, backend.StatusInvalidHandle, "a context can be exported only after its handshake")
	}
	if err := p.faults.check(op, name); err != nil {
		return nil, 0, err
	}
	ss := c.sess.State()
	defer clear(ss.SessionKey[:])
	if f&flags.ResetNew != 0 {
		ss.SendSeq, ss.RecvSeq, ss.SendStream, ss.RecvStream = c.base.sendSeq, c.base.recvSeq, c.base.sendStream, c.base.recvStream
	}
	var pkgState [ntlmStateLen]byte
	encodeNTLMState(pkgState[:], &ss, c.base)
	defer clear(pkgState[:])
	st := serialize.State{
		Package:      name,
		Server:       c.server,
		Established:  true,
		ClientName:   c.domain + `\` + c.user,
		ServerName:   c.serverName,
		Authority:    c.target, // the SPN; serialize.State has no field of its own for it
		Flags:        c.retFlags,
		Expiry:       c.expiry,
		User:         c.user,
		Domain:       c.domain,
		SID:          c.sid,
		Groups:       c.groups,
		PackageState: pkgState[:],
		Reset:        f&flags.ResetNew != 0,
	}
	// The nonce always comes from crypto/rand, never from MachineConfig.Rand:
	// a repeated nonce under the machine key would break AES-GCM.
	blob, err := p.m.sealer.Seal(&st, nil)
	if err != nil {
		return nil, 0, backend.NewError(op, name, backend.StatusInternalError, "sealing the context", err)
	}
	var tok backend.TokenHandle
	if wantToken && c.server {
		tok = backend.TokenHandle(p.newToken(c.identity()))
	}
	// Nothing can fail past this point.
	if f&flags.DeleteOld != 0 {
		p.removeCtx(h, c)
	}
	return blob, tok, nil
}

// ntlmStateLen is the size of the NTLM package state in a packed context:
// key 16, flags 4, client 1, two sequence numbers 4+4, two stream
// positions 8+8, then the post-handshake position (4+4+8+8) that RESET_NEW
// returns to. Blobs of the first release end before that position
// (ntlmStateLenV1) and mean position zero, which was right for the NTLM
// contexts they could hold.
const (
	ntlmStateLenV1 = 16 + 4 + 1 + 4 + 4 + 8 + 8
	ntlmStateLen   = ntlmStateLenV1 + 4 + 4 + 8 + 8
)

func encodeNTLMState(b []byte, s *ntlm.SessionState, base counters) {
	copy(b[0:16], s.SessionKey[:])
	binary.LittleEndian.PutUint32(b[16:], s.Flags)
	if s.Client {
		b[20] = 1
	}
	binary.LittleEndian.PutUint32(b[21:], s.SendSeq)
	binary.LittleEndian.PutUint32(b[25:], s.RecvSeq)
	binary.LittleEndian.PutUint64(b[29:], s.SendStream)
	binary.LittleEndian.PutUint64(b[37:], s.RecvStream)
	binary.LittleEndian.PutUint32(b[45:], base.sendSeq)
	binary.LittleEndian.PutUint32(b[49:], base.recvSeq)
	binary.LittleEndian.PutUint64(b[53:], base.sendStream)
	binary.LittleEndian.PutUint64(b[61:], base.recvStream)
}

func decodeNTLMState(b []byte) (ntlm.SessionState, counters, error) {
	if (len(b) != ntlmStateLen && len(b) != ntlmStateLenV1) || b[20] > 1 {
		return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state is %d bytes, want %d", len(b), ntlmStateLen)
	}
	st := ntlm.SessionState{
		Flags:      binary.LittleEndian.Uint32(b[16:]),
		Client:     b[20] == 1,
		SendSeq:    binary.LittleEndian.Uint32(b[21:]),
		RecvSeq:    binary.LittleEndian.Uint32(b[25:]),
		SendStream: binary.LittleEndian.Uint64(b[29:]),
		RecvStream: binary.LittleEndian.Uint64(b[37:]),
	}
	copy(st.SessionKey[:], b[0:16])
	var base counters
	if len(b) == ntlmStateLen {
		base = counters{
			sendSeq:    binary.LittleEndian.Uint32(b[45:]),
			recvSeq:    binary.LittleEndian.Uint32(b[49:]),
			sendStream: binary.LittleEndian.Uint64(b[53:]),
			recvStream: binary.LittleEndian.Uint64(b[61:]),
		}
	}
	if base.sendSeq > st.SendSeq || base.recvSeq > st.RecvSeq || base.sendStream > st.SendStream || base.recvStream > st.RecvStream {
		return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state is behind its post-handshake position")
	}
	return st, base, nil
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
	st, hdr, err := p.m.sealer.Open(packed)
	if err != nil {
		return backend.Handle{}, backend.NewError(op, name, backend.StatusInvalidToken, importDetail(err), err)
	}
	defer st.Wipe()
	if hdr.Package != name || st.Package != name {
		return backend.Handle{}, errf(op, name, backend.StatusInvalidToken, "the blob holds a %q context, not %q", hdr.Package, name)
	}
	ss, base, err := decodeNTLMState(st.PackageState)
	if err != nil {
		return backend.Handle{}, backend.NewError(op, name, backend.StatusInvalidToken, "the package state does not decode", err)
	}
	if ss.Client == st.Server {
		return backend.Handle{}, errf(op, name, backend.StatusInvalidToken, "the package state contradicts the context's side")
	}
	now := p.now()
	if !now.Before(st.Expiry) {
		return backend.Handle{}, errf(op, name, backend.StatusContextExpired, "the exported context expired at %s", st.Expiry.Format(time.RFC3339))
	}
	sess, err := ntlm.RestoreSession(ss)
	clear(ss.SessionKey[:])
	if err != nil {
		return backend.Handle{}, backend.NewError(op, name, backend.StatusInvalidToken, "the session state does not restore", err)
	}
	// Claim the blob last, so a refused blob does not use up its one import.
	first, err := p.m.ledger.Claim(hdr.Nonce[:], st.Expiry)
	if err != nil {
		sess.Destroy()
		return backend.Handle{}, backend.NewError(op, name, backend.StatusInternalError, "recording the import", err)
	}
	if !first {
		sess.Destroy()
		return backend.Handle{}, backend.NewError(op, name, backend.StatusInvalidToken, "the blob was already imported", ErrAlreadyImported)
	}
	c := &ctxEntry{
		pkg: d, server: st.Server, established: true, retFlags: st.Flags,
		target: st.Authority, sess: sess, start: now, expiry: st.Expiry,
		user: st.User, domain: st.Domain, sid: st.SID, groups: st.Groups,
		serverName: st.ServerName, base: base,
	}
	return p.addCtx(c), nil
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
