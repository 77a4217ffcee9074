//go:build windows

package winsspi

import (
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
	"golang.org/x/sys/windows"
)

// Backend calls secur32.dll. It is safe for concurrent use: the only state
// it keeps is which package each live handle belongs to (for error messages
// and output buffer sizes), guarded by a mutex.
type Backend struct {
	wine     bool // secur32 is Wine's: see readOnlyQuirk
	mu       sync.Mutex
	handles  map[backend.Handle]string // credential and context handles -> package name
	maxToken map[string]uint32         // package name -> cbMaxToken
}

// New returns a Backend for the real SSPI of this machine. It fails only if
// secur32.dll cannot be loaded.
func New() (*Backend, error) {
	if err := procInitializeSecurityContextW.Find(); err != nil {
		return nil, backend.NewError(backend.OpInitSecurityInterface, "", backend.StatusUnsupportedFunction, "cannot load secur32.dll", err)
	}
	return &Backend{
		wine:     isWine(),
		handles:  make(map[backend.Handle]string),
		maxToken: make(map[string]uint32),
	}, nil
}

// isWine reports whether this process runs under Wine, whose ntdll.dll
// exports wine_get_version.
func isWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// Buffer attribute bits that may be or-ed into a SecBuffer's type.
const (
	secbufferReadOnly             = 0x80000000 // SECBUFFER_READONLY
	secbufferReadOnlyWithChecksum = 0x10000000 // SECBUFFER_READONLY_WITH_CHECKSUM
)

// readOnlyQuirk clears the read-only attribute bits of the buffers of a
// MakeSignature or VerifySignature call under Wine. Windows signs and checks
// SECBUFFER_DATA|SECBUFFER_READONLY buffers like plain DATA buffers (the two
// calls never write to DATA), but Wine 8 matches buffer types exactly, finds
// no DATA buffer and answers SEC_E_INVALID_TOKEN. On Windows it does nothing.
func (b *Backend) readOnlyQuirk(d *bufferDesc) {
	if !b.wine {
		return
	}
	for i := range d.bufs {
		d.bufs[i].bufferType &^= secbufferReadOnly | secbufferReadOnlyWithChecksum
	}
}

// defaultMaxToken is the output buffer size for handles of an unknown
// package: Negotiate's cbMaxToken on current Windows, the largest of the
// usual packages.
const defaultMaxToken = 48256

// pkgOf returns the package of a live handle, or "" if the backend did not
// hand it out.
func (b *Backend) pkgOf(h backend.Handle) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.handles[h]
}

func (b *Backend) remember(h backend.Handle, pkg string) {
	if h.IsZero() {
		return
	}
	b.mu.Lock()
	b.handles[h] = pkg
	b.mu.Unlock()
}

func (b *Backend) forget(h backend.Handle) {
	b.mu.Lock()
	delete(b.handles, h)
	b.mu.Unlock()
}

// tokenSize returns the output token buffer size for pkg: its cbMaxToken.
func (b *Backend) tokenSize(pkg string) uint32 {
	if pkg == "" {
		return defaultMaxToken
	}
	b.mu.Lock()
	n, ok := b.maxToken[pkg]
	b.mu.Unlock()
	if ok {
		return n
	}
	n = defaultMaxToken
	if info, err := b.QuerySecurityPackageInfo(pkg); err == nil && info.MaxToken > 0 {
		n = info.MaxToken
	}
	b.mu.Lock()
	b.maxToken[pkg] = n
	b.mu.Unlock()
	return n
}

// statusError maps a SECURITY_STATUS to nil (success codes) or to an
// *backend.Error for op in package pkg.
func statusError(op backend.Op, pkg string, st uint32, detail string) error {
	s := backend.Status(st)
	if !s.Failed() {
		return nil
	}
	return backend.NewError(op, pkg, s, detail, nil)
}

// utf16Ptr converts s to a NUL-terminated UTF-16 string; nil for "".
func utf16Ptr(op backend.Op, pkg, what, s string) (*uint16, error) {
	if s == "" {
		return nil, nil
	}
	p, err := windows.UTF16PtrFromString(s)
	if err != nil {
		return nil, backend.NewError(op, pkg, backend.StatusInvalidParameter, what+" contains a NUL character", err)
	}
	return p, nil
}

// free releases memory the security package allocated.
func free(p unsafe.Pointer) {
	if p != nil {
		freeContextBuffer(p)
	}
}

// filetime converts an SSPI TimeStamp (100 ns intervals since 1601) to a
// time.Time. "Never expires" values, such as 0x7FFFFFFFFFFFFFFF, come out in
// year 30828. SSPI documents some of these stamps as local time; they are
// converted as they are, without applying a zone.
func filetime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	const epochDiff = 11644473600 // seconds from 1601-01-01 to 1970-01-01
	sec := v / 10_000_000
	nsec := (v % 10_000_000) * 100
	return time.Unix(sec-epochDiff, nsec).UTC()
}

func pkgInfo(p *secPkgInfo) backend.PackageInfo {
	return backend.PackageInfo{
		Name:         windows.UTF16PtrToString(p.name),
		Comment:      windows.UTF16PtrToString(p.comment),
		Capabilities: p.fCapabilities,
		Version:      p.wVersion,
		RPCID:        p.wRPCID,
		MaxToken:     p.cbMaxToken,
	}
}

// EnumerateSecurityPackages calls EnumerateSecurityPackagesW.
func (b *Backend) EnumerateSecurityPackages() ([]backend.PackageInfo, error) {
	var n uint32
	var p *secPkgInfo
	st := enumerateSecurityPackages(&n, &p)
	defer free(unsafe.Pointer(p))
	if err := statusError(backend.OpEnumerateSecurityPackages, "", st, ""); err != nil {
		return nil, err
	}
	if p == nil || n == 0 {
		return nil, nil
	}
	out := make([]backend.PackageInfo, 0, n)
	for _, info := range unsafe.Slice(p, n) {
		out = append(out, pkgInfo(&info))
	}
	return out, nil
}

// QuerySecurityPackageInfo calls QuerySecurityPackageInfoW.
func (b *Backend) QuerySecurityPackageInfo(name string) (backend.PackageInfo, error) {
	const op = backend.OpQuerySecurityPackageInfo
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return backend.PackageInfo{}, backend.NewError(op, name, backend.StatusInvalidParameter, "package name contains a NUL character", err)
	}
	var p *secPkgInfo
	st := querySecurityPackageInfo(n, &p)
	defer free(unsafe.Pointer(p))
	if err := statusError(op, name, st, ""); err != nil {
		return backend.PackageInfo{}, err
	}
	if p == nil {
		return backend.PackageInfo{}, backend.NewError(op, name, backend.StatusInternalError, "secur32 returned no package information", nil)
	}
	return pkgInfo(p), nil
}

// AcquireCredentialsHandle calls AcquireCredentialsHandleW. A nil identity
// means the current user's credentials; otherwise the user, domain and
// password go in a SEC_WINNT_AUTH_IDENTITY_W with
// SEC_WINNT_AUTH_IDENTITY_UNICODE.
func (b *Backend) AcquireCredentialsHandle(principal, pkg string, use flags.CredentialUse, identity *backend.AuthIdentity) (backend.Handle, time.Time, error) {
	const op = backend.OpAcquireCredentialsHandle
	pPrincipal, err := utf16Ptr(op, pkg, "principal", principal)
	if err != nil {
		return backend.Handle{}, time.Time{}, err
	}
	pPkg, err := windows.UTF16PtrFromString(pkg)
	if err != nil {
		return backend.Handle{}, time.Time{}, backend.NewError(op, pkg, backend.StatusInvalidParameter, "package name contains a NUL character", err)
	}

	var pin runtime.Pinner
	defer pin.Unpin()

	var auth *secWinNTAuthIdentity
	var password []uint16
	if identity != nil {
		user, err1 := windows.UTF16FromString(identity.User)
		domain, err2 := windows.UTF16FromString(identity.Domain)
		pw, err3 := windows.UTF16FromString(identity.Password)
		if err1 != nil || err2 != nil || err3 != nil {
			return backend.Handle{}, time.Time{}, backend.NewError(op, pkg, backend.StatusInvalidParameter, "identity contains a NUL character", nil)
		}
		password = pw
		auth = &secWinNTAuthIdentity{
			user:           &user[0],
			userLength:     uint32(len(user) - 1),
			domain:         &domain[0],
			domainLength:   uint32(len(domain) - 1),
			password:       &pw[0],
			passwordLength: uint32(len(pw) - 1),
			flags:          secWinNTAuthIdentityUnicode,
		}
		pin.Pin(auth)
		pin.Pin(&user[0])
		pin.Pin(&domain[0])
		pin.Pin(&pw[0])
	}

	var h secHandle
	var expiry int64
	st := acquireCredentialsHandle(pPrincipal, pPkg, uint32(use), nil, auth, 0, 0, &h, &expiry)
	clear(password)
	if err := statusError(op, pkg, st, ""); err != nil {
		return backend.Handle{}, time.Time{}, err
	}
	handle := backend.Handle(h)
	b.remember(handle, pkg)
	return handle, filetime(expiry), nil
}

// FreeCredentialsHandle calls FreeCredentialsHandle.
func (b *Backend) FreeCredentialsHandle(cred backend.Handle) error {
	pkg := b.pkgOf(cred)
	h := secHandle(cred)
	if err := statusError(backend.OpFreeCredentialsHandle, pkg, freeCredentialsHandle(&h), ""); err != nil {
		return err
	}
	b.forget(cred)
	return nil
}

// bufferDesc is a SecBufferDesc built over Go buffers. The SecBuffers point
// straight at the Go slices, so in-place operations (EncryptMessage,
// DecryptMessage) land in the caller's memory; everything is pinned until
// release.
type bufferDesc struct {
	desc secBufferDesc
	bufs []secBuffer
	orig []backend.Buffer
	pin  runtime.Pinner
}

func newBufferDesc(in []backend.Buffer) *bufferDesc {
	d := &bufferDesc{orig: in}
	if len(in) == 0 {
		return d
	}
	d.bufs = make([]secBuffer, len(in))
	for i, b := range in {
		d.bufs[i] = secBuffer{cbBuffer: uint32(len(b.Data)), bufferType: uint32(b.Type)}
		if len(b.Data) > 0 {
			d.bufs[i].pvBuffer = &b.Data[0]
			d.pin.Pin(&b.Data[0])
		}
	}
	d.desc = secBufferDesc{ulVersion: secbufferVersion, cBuffers: uint32(len(d.bufs)), pBuffers: &d.bufs[0]}
	d.pin.Pin(&d.bufs[0])
	d.pin.Pin(&d.desc)
	return d
}

// ptr returns the SecBufferDesc to pass, nil for no buffers.
func (d *bufferDesc) ptr() *secBufferDesc {
	if d == nil || len(d.bufs) == 0 {
		return nil
	}
	return &d.desc
}

// update copies what the call changed back into the caller's buffers: the
// type and the length, and, where the package moved a buffer within the
// caller's slice (stream decryption), its new position.
func (d *bufferDesc) update(out []backend.Buffer) {
	for i := range d.bufs {
		sb := &d.bufs[i]
		out[i].Type = backend.BufferType(sb.bufferType)
		orig := d.orig[i].Data
		if len(orig) == 0 || sb.pvBuffer == nil {
			if sb.cbBuffer == 0 {
				out[i].Data = orig[:0]
			}
			continue
		}
		base := uintptr(unsafe.Pointer(&orig[0]))
		at := uintptr(unsafe.Pointer(sb.pvBuffer))
		if at < base || at-base > uintptr(len(orig)) {
			continue // not within the caller's memory: leave it alone
		}
		off := int(at - base)
		end := off + int(sb.cbBuffer)
		if end > len(orig) {
			end = len(orig)
		}
		out[i].Data = orig[off:end]
	}
}

func (d *bufferDesc) release() { d.pin.Unpin() }

// outToken is a single SECBUFFER_TOKEN output buffer of n bytes in Go memory.
type outToken struct {
	data []byte
	buf  secBuffer
	desc secBufferDesc
	pin  runtime.Pinner
}

func newOutToken(n uint32) *outToken {
	o := &outToken{data: make([]byte, n)}
	o.buf = secBuffer{cbBuffer: n, bufferType: secbufferToken, pvBuffer: &o.data[0]}
	o.desc = secBufferDesc{ulVersion: secbufferVersion, cBuffers: 1, pBuffers: &o.buf}
	o.pin.Pin(o)
	o.pin.Pin(&o.data[0])
	return o
}

// bytes returns a copy of the token the call wrote (Wine's NTLM acceptor
// marks it SECBUFFER_DATA; the type is not checked).
func (o *outToken) bytes() []byte {
	n := o.buf.cbBuffer
	if n == 0 || o.buf.pvBuffer == nil {
		return nil
	}
	if o.buf.pvBuffer != &o.data[0] {
		// The package allocated the buffer itself: copy and free it.
		out := append([]byte(nil), unsafe.Slice(o.buf.pvBuffer, n)...)
		free(unsafe.Pointer(o.buf.pvBuffer))
		o.buf.pvBuffer = nil
		return out
	}
	if int(n) > len(o.data) {
		n = uint32(len(o.data))
	}
	return append([]byte(nil), o.data[:n]...)
}

// release frees a package-allocated buffer that bytes did not take, and unpins.
func (o *outToken) release() {
	if o.buf.pvBuffer != nil && o.buf.pvBuffer != &o.data[0] {
		free(unsafe.Pointer(o.buf.pvBuffer))
	}
	o.pin.Unpin()
}

// handshakeOK reports whether a handshake step succeeded, with or without
// more to do.
func handshakeOK(st uint32) bool { return !backend.Status(st).Failed() }

// InitializeSecurityContext calls InitializeSecurityContextW. The output
// token goes into a buffer of the package's cbMaxToken that the backend
// allocates, so ISC_REQ_ALLOCATE_MEMORY is cleared from the request.
func (b *Backend) InitializeSecurityContext(req *backend.InitializeRequest) (backend.InitializeResult, error) {
	const op = backend.OpInitializeSecurityContext
	if req == nil {
		return backend.InitializeResult{}, backend.NewError(op, "", backend.StatusInvalidParameter, "nil request", nil)
	}
	pkg := b.pkgOf(req.Context)
	if pkg == "" {
		pkg = b.pkgOf(req.Credential)
	}
	target, err := utf16Ptr(op, pkg, "target", req.Target)
	if err != nil {
		return backend.InitializeResult{}, err
	}

	cred := secHandle(req.Credential)
	var ctxIn *secHandle
	newCtx := secHandle{}
	if !req.Context.IsZero() {
		c := secHandle(req.Context)
		ctxIn = &c
		newCtx = c
	}
	in := newBufferDesc(req.Input)
	defer in.release()
	out := newOutToken(b.tokenSize(pkg))
	defer out.release()

	var attr uint32
	var expiry int64
	reqFlags := uint32(req.Flags &^ flags.ClientReqAllocateMemory)
	st := initializeSecurityContext(&cred, ctxIn, target, reqFlags, 0, securityNativeDrep, in.ptr(), 0, &newCtx, &out.desc, &attr, &expiry)
	if !handshakeOK(st) {
		return backend.InitializeResult{}, statusError(op, pkg, st, "")
	}
	h := backend.Handle(newCtx)
	if req.Context.IsZero() || h != req.Context {
		b.remember(h, pkg)
	}
	return backend.InitializeResult{
		Context: h,
		Status:  backend.Status(st),
		Output:  out.bytes(),
		Flags:   flags.ClientRet(attr),
		Expiry:  filetime(expiry),
	}, nil
}

// AcceptSecurityContext calls AcceptSecurityContext, with the output token
// in a buffer of the package's cbMaxToken that the backend allocates
// (ASC_REQ_ALLOCATE_MEMORY is cleared from the request).
func (b *Backend) AcceptSecurityContext(req *backend.AcceptRequest) (backend.AcceptResult, error) {
	const op = backend.OpAcceptSecurityContext
	if req == nil {
		return backend.AcceptResult{}, backend.NewError(op, "", backend.StatusInvalidParameter, "nil request", nil)
	}
	pkg := b.pkgOf(req.Context)
	if pkg == "" {
		pkg = b.pkgOf(req.Credential)
	}

	cred := secHandle(req.Credential)
	var ctxIn *secHandle
	newCtx := secHandle{}
	if !req.Context.IsZero() {
		c := secHandle(req.Context)
		ctxIn = &c
		newCtx = c
	}
	in := newBufferDesc(req.Input)
	defer in.release()
	out := newOutToken(b.tokenSize(pkg))
	defer out.release()

	var attr uint32
	var expiry int64
	reqFlags := uint32(req.Flags &^ flags.ServerReqAllocateMemory)
	st := acceptSecurityContext(&cred, ctxIn, in.ptr(), reqFlags, securityNativeDrep, &newCtx, &out.desc, &attr, &expiry)
	if !handshakeOK(st) {
		return backend.AcceptResult{}, statusError(op, pkg, st, "")
	}
	h := backend.Handle(newCtx)
	if req.Context.IsZero() || h != req.Context {
		b.remember(h, pkg)
	}
	return backend.AcceptResult{
		Context: h,
		Status:  backend.Status(st),
		Output:  out.bytes(),
		Flags:   flags.ServerRet(attr),
		Expiry:  filetime(expiry),
	}, nil
}

// CompleteAuthToken calls CompleteAuthToken with token as its buffers.
func (b *Backend) CompleteAuthToken(ctx backend.Handle, token []backend.Buffer) error {
	h := secHandle(ctx)
	d := newBufferDesc(token)
	defer d.release()
	st := completeAuthToken(&h, d.ptr())
	d.update(token)
	return statusError(backend.OpCompleteAuthToken, b.pkgOf(ctx), st, "")
}

// DeleteSecurityContext calls DeleteSecurityContext.
func (b *Backend) DeleteSecurityContext(ctx backend.Handle) error {
	pkg := b.pkgOf(ctx)
	h := secHandle(ctx)
	if err := statusError(backend.OpDeleteSecurityContext, pkg, deleteSecurityContext(&h), ""); err != nil {
		return err
	}
	b.forget(ctx)
	return nil
}

// QueryContextAttributes calls QueryContextAttributesW and returns the Go
// type documented on each backend.Attribute. Strings and keys the package
// allocated are copied and freed.
func (b *Backend) QueryContextAttributes(ctx backend.Handle, attr backend.Attribute) (any, error) {
	const op = backend.OpQueryContextAttributes
	pkg := b.pkgOf(ctx)
	h := secHandle(ctx)
	call := func(buf unsafe.Pointer) error {
		return statusError(op, pkg, queryContextAttributes(&h, uint32(attr), buf), attr.String())
	}
	switch attr {
	case backend.AttrSizes:
		var v secPkgContextSizes
		if err := call(unsafe.Pointer(&v)); err != nil {
			return nil, err
		}
		return backend.Sizes{MaxToken: v.cbMaxToken, MaxSignature: v.cbMaxSignature, BlockSize: v.cbBlockSize, SecurityTrailer: v.cbSecurityTrailer}, nil
	case backend.AttrNames:
		var v secPkgContextNames
		err := call(unsafe.Pointer(&v))
		defer free(unsafe.Pointer(v.userName))
		if err != nil {
			return nil, err
		}
		return backend.Names{UserName: windows.UTF16PtrToString(v.userName)}, nil
	case backend.AttrLifespan:
		var v secPkgContextLifespan
		if err := call(unsafe.Pointer(&v)); err != nil {
			return nil, err
		}
		return backend.Lifespan{Start: filetime(v.start), Expiry: filetime(v.expiry)}, nil
	case backend.AttrAuthority:
		var v secPkgContextAuthority
		err := call(unsafe.Pointer(&v))
		defer free(unsafe.Pointer(v.authorityName))
		if err != nil {
			return nil, err
		}
		return backend.Authority{Name: windows.UTF16PtrToString(v.authorityName)}, nil
	case backend.AttrSessionKey:
		var v secPkgContextSessionKey
		err := call(unsafe.Pointer(&v))
		defer free(unsafe.Pointer(v.key))
		if err != nil {
			return nil, err
		}
		var key []byte
		if v.key != nil && v.length > 0 {
			key = append([]byte(nil), unsafe.Slice(v.key, v.length)...)
		}
		return backend.SessionKey{Key: key}, nil
	case backend.AttrPackageInfo:
		var v secPkgContextPackageInfo
		err := call(unsafe.Pointer(&v))
		defer free(unsafe.Pointer(v.info))
		if err != nil {
			return nil, err
		}
		if v.info == nil {
			return nil, backend.NewError(op, pkg, backend.StatusInternalError, attr.String()+": no package information returned", nil)
		}
		return pkgInfo(v.info), nil
	case backend.AttrNegotiationInfo:
		var v secPkgContextNegotiationInfo
		err := call(unsafe.Pointer(&v))
		defer free(unsafe.Pointer(v.info))
		if err != nil {
			return nil, err
		}
		var info backend.PackageInfo
		if v.info != nil {
			info = pkgInfo(v.info)
		}
		return backend.NegotiationInfo{Package: info, State: v.state}, nil
	case backend.AttrNativeNames:
		var v secPkgContextNativeNames
		err := call(unsafe.Pointer(&v))
		defer free(unsafe.Pointer(v.clientName))
		defer free(unsafe.Pointer(v.serverName))
		if err != nil {
			return nil, err
		}
		return backend.NativeNames{ClientName: windows.UTF16PtrToString(v.clientName), ServerName: windows.UTF16PtrToString(v.serverName)}, nil
	case backend.AttrFlags:
		var v secPkgContextFlags
		if err := call(unsafe.Pointer(&v)); err != nil {
			return nil, err
		}
		return backend.Flags{Flags: v.flags}, nil
	case backend.AttrAccessToken:
		var v secPkgContextAccessToken
		if err := call(unsafe.Pointer(&v)); err != nil {
			return nil, err
		}
		return backend.TokenHandle(v.token), nil
	}
	// The size of an unknown attribute's structure is unknown, so it is
	// never passed to secur32.
	return nil, backend.NewError(op, pkg, backend.StatusUnsupportedFunction,
		fmt.Sprintf("%v is not an attribute this backend knows", attr), nil)
}

// messageCall runs one of the four message calls over msg and copies the
// buffer lengths back.
func (b *Backend) messageCall(op backend.Op, ctx backend.Handle, msg []backend.Buffer, call func(*secHandle, *secBufferDesc) uint32) error {
	h := secHandle(ctx)
	d := newBufferDesc(msg)
	defer d.release()
	quirk := b.wine && (op == backend.OpMakeSignature || op == backend.OpVerifySignature)
	if quirk {
		b.readOnlyQuirk(d)
	}
	st := call(&h, d.ptr())
	if err := statusError(op, b.pkgOf(ctx), st, ""); err != nil {
		return err
	}
	if quirk {
		// Give the caller's attribute bits back.
		for i := range d.bufs {
			if d.bufs[i].bufferType == uint32(msg[i].Type.Kind()) {
				d.bufs[i].bufferType = uint32(msg[i].Type)
			}
		}
	}
	d.update(msg)
	return nil
}

// MakeSignature calls MakeSignature; the TOKEN buffer is shortened to the
// signature's length.
func (b *Backend) MakeSignature(ctx backend.Handle, qop uint32, msg []backend.Buffer, seq uint32) error {
	return b.messageCall(backend.OpMakeSignature, ctx, msg, func(h *secHandle, d *secBufferDesc) uint32 {
		return makeSignature(h, qop, d, seq)
	})
}

// VerifySignature calls VerifySignature.
func (b *Backend) VerifySignature(ctx backend.Handle, msg []backend.Buffer, seq uint32) (uint32, error) {
	var qop uint32
	err := b.messageCall(backend.OpVerifySignature, ctx, msg, func(h *secHandle, d *secBufferDesc) uint32 {
		return verifySignature(h, d, seq, &qop)
	})
	return qop, err
}

// EncryptMessage calls EncryptMessage: the DATA buffers are encrypted in
// place and the TOKEN buffer is shortened to the trailer's length.
func (b *Backend) EncryptMessage(ctx backend.Handle, qop uint32, msg []backend.Buffer, seq uint32) error {
	return b.messageCall(backend.OpEncryptMessage, ctx, msg, func(h *secHandle, d *secBufferDesc) uint32 {
		return encryptMessage(h, qop, d, seq)
	})
}

// DecryptMessage calls DecryptMessage: the DATA buffers are decrypted in place.
func (b *Backend) DecryptMessage(ctx backend.Handle, msg []backend.Buffer, seq uint32) (uint32, error) {
	var qop uint32
	err := b.messageCall(backend.OpDecryptMessage, ctx, msg, func(h *secHandle, d *secBufferDesc) uint32 {
		return decryptMessage(h, d, seq, &qop)
	})
	return qop, err
}

// missing reports, as SEC_E_UNSUPPORTED_FUNCTION, an entry point this
// secur32.dll does not export, instead of the panic a lazy proc would raise.
func missing(op backend.Op, pkg string, p *windows.LazyProc) error {
	if err := p.Find(); err != nil {
		return backend.NewError(op, pkg, backend.StatusUnsupportedFunction, "secur32.dll does not export "+p.Name, err)
	}
	return nil
}

// QuerySecurityContextToken calls QuerySecurityContextToken. The caller
// must close the token with CloseToken.
func (b *Backend) QuerySecurityContextToken(ctx backend.Handle) (backend.TokenHandle, error) {
	const op = backend.OpQuerySecurityContextToken
	pkg := b.pkgOf(ctx)
	if err := missing(op, pkg, procQuerySecurityContextToken); err != nil {
		return 0, err
	}
	h := secHandle(ctx)
	var tok windows.Handle
	if err := statusError(op, pkg, querySecurityContextToken(&h, &tok), ""); err != nil {
		return 0, err
	}
	return backend.TokenHandle(tok), nil
}

// ImpersonateSecurityContext calls ImpersonateSecurityContext. The
// impersonation belongs to the OS thread, so the calling goroutine is
// locked to its thread until RevertSecurityContext is called on it.
func (b *Backend) ImpersonateSecurityContext(ctx backend.Handle) error {
	runtime.LockOSThread()
	h := secHandle(ctx)
	if err := statusError(backend.OpImpersonateSecurityContext, b.pkgOf(ctx), impersonateSecurityContext(&h), ""); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	return nil
}

// RevertSecurityContext calls RevertSecurityContext and, on success,
// unlocks the goroutine from the OS thread that ImpersonateSecurityContext
// locked it to. Call it on the goroutine that impersonated.
func (b *Backend) RevertSecurityContext(ctx backend.Handle) error {
	h := secHandle(ctx)
	if err := statusError(backend.OpRevertSecurityContext, b.pkgOf(ctx), revertSecurityContext(&h), ""); err != nil {
		return err
	}
	runtime.UnlockOSThread()
	return nil
}

// ExportSecurityContext calls ExportSecurityContext. The packed context is
// copied into Go memory and the package's buffer freed. With wantToken set
// the client's access token is returned too; the caller must close it.
func (b *Backend) ExportSecurityContext(ctx backend.Handle, f flags.Export, wantToken bool) ([]byte, backend.TokenHandle, error) {
	const op = backend.OpExportSecurityContext
	pkg := b.pkgOf(ctx)
	if err := missing(op, pkg, procExportSecurityContext); err != nil {
		return nil, 0, err
	}
	h := secHandle(ctx)
	var packed secBuffer
	var tok windows.Handle
	var pTok *windows.Handle
	if wantToken {
		pTok = &tok
	}
	st := exportSecurityContext(&h, uint32(f), &packed, pTok)
	defer free(unsafe.Pointer(packed.pvBuffer))
	if err := statusError(op, pkg, st, ""); err != nil {
		if tok != 0 {
			windows.CloseHandle(tok)
		}
		return nil, 0, err
	}
	var out []byte
	if packed.pvBuffer != nil && packed.cbBuffer > 0 {
		out = append([]byte(nil), unsafe.Slice(packed.pvBuffer, packed.cbBuffer)...)
	}
	if f&flags.DeleteOld != 0 {
		b.forget(ctx)
	}
	return out, backend.TokenHandle(tok), nil
}

// ImportSecurityContext calls ImportSecurityContextW with packed as the
// packed context (a SECBUFFER_TOKEN buffer) and token, which may be zero.
func (b *Backend) ImportSecurityContext(pkg string, packed []byte, token backend.TokenHandle) (backend.Handle, error) {
	const op = backend.OpImportSecurityContext
	if err := missing(op, pkg, procImportSecurityContextW); err != nil {
		return backend.Handle{}, err
	}
	pPkg, err := windows.UTF16PtrFromString(pkg)
	if err != nil {
		return backend.Handle{}, backend.NewError(op, pkg, backend.StatusInvalidParameter, "package name contains a NUL character", err)
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	buf := &secBuffer{cbBuffer: uint32(len(packed)), bufferType: secbufferToken}
	if len(packed) > 0 {
		buf.pvBuffer = &packed[0]
		pin.Pin(&packed[0])
	}
	pin.Pin(buf)
	var h secHandle
	if err := statusError(op, pkg, importSecurityContext(pPkg, buf, windows.Handle(token), &h), ""); err != nil {
		return backend.Handle{}, err
	}
	handle := backend.Handle(h)
	b.remember(handle, pkg)
	return handle, nil
}

// tokenError maps a Win32 error from a token call to an *backend.Error.
func tokenError(op backend.Op, err error) error {
	st := backend.StatusInternalError
	if err == windows.ERROR_INVALID_HANDLE {
		st = backend.StatusInvalidHandle
	}
	return backend.NewError(op, "", st, "", err)
}

// TokenInformation reads the user and groups of an access token
// (GetTokenInformation) and names the user (LookupAccountSid). If the SID
// has no name, User is the SID string.
func (b *Backend) TokenInformation(token backend.TokenHandle) (backend.TokenInfo, error) {
	const op = backend.OpGetTokenInformation
	if token == 0 {
		return backend.TokenInfo{}, backend.NewError(op, "", backend.StatusInvalidHandle, "zero token handle", nil)
	}
	t := windows.Token(token)
	tu, err := t.GetTokenUser()
	if err != nil {
		return backend.TokenInfo{}, tokenError(op, err)
	}
	info := backend.TokenInfo{SID: tu.User.Sid.String()}
	info.User = info.SID
	if account, domain, _, err := tu.User.Sid.LookupAccount(""); err == nil {
		info.User = account
		if domain != "" {
			info.User = domain + `\` + account
		}
	}
	groups, err := t.GetTokenGroups()
	if err != nil {
		return backend.TokenInfo{}, tokenError(op, err)
	}
	for _, g := range groups.AllGroups() {
		info.Groups = append(info.Groups, g.Sid.String())
	}
	return info, nil
}

// CloseToken closes an access token handle (CloseHandle).
func (b *Backend) CloseToken(token backend.TokenHandle) error {
	if token == 0 {
		return backend.NewError(backend.OpCloseHandle, "", backend.StatusInvalidHandle, "zero token handle", nil)
	}
	if err := windows.CloseHandle(windows.Handle(token)); err != nil {
		return tokenError(backend.OpCloseHandle, err)
	}
	return nil
}
