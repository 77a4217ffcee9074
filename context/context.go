package context

import (
	"errors"
	"runtime"
	"sync"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
)

type ctxState uint8

const (
	stateNew         ctxState = iota // no handle yet
	stateHandshaking                 // handle exists, handshake not finished
	stateEstablished                 // ready for message protection and export
	stateDead                        // deleted, moved away by export, or failed
)

// Context is a security context: established by a ClientContext or
// ServerContext handshake, or imported with Store.Import. Calls on one
// Context are serialized; different contexts run in parallel.
//
// Once deleted, or exported with flags.DeleteOld, every call answers
// SEC_E_INVALID_HANDLE.
type Context struct {
	store    *Store
	mu       sync.Mutex
	h        backend.Handle
	pkg      string
	server   bool
	imported bool
	state    ctxState
	dead     string // why the context is dead, for error details
	sizes    *Sizes
	t        *tracked // &tr while live, nil once deleted
	tr       tracked
}

// Package returns the security package name.
func (c *Context) Package() string { return c.pkg }

// Established reports whether the handshake has finished (an imported
// context is established).
func (c *Context) Established() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateEstablished
}

// Raw runs fn with the backend and the context's handle, under the
// context's lock, for code that must pass the handle to an API gosspi does
// not wrap (as database/sql's Conn.Raw does for a driver connection). The
// handle is valid only while fn runs: do not keep it, and do not delete
// the context through it. A context without a live handle (before the
// first Step, after Delete or an export with DeleteOld) answers
// SEC_E_INVALID_HANDLE without calling fn.
func (c *Context) Raw(fn func(b backend.Backend, h backend.Handle) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.live(backend.OpQueryContextAttributes)
	if err != nil {
		return err
	}
	return fn(c.store.b, h)
}

// live returns the handle or an SEC_E_INVALID_HANDLE error; c.mu is held.
func (c *Context) live(op backend.Op) (backend.Handle, error) {
	switch c.state {
	case stateDead:
		return backend.Handle{}, backend.NewError(op, c.pkg, StatusInvalidHandle, "context "+c.dead, nil)
	case stateNew:
		return backend.Handle{}, backend.NewError(op, c.pkg, StatusInvalidHandle, "context has no handle yet: run the handshake first", nil)
	}
	return c.h, nil
}

// kill forgets the handle after it was deleted in the backend; c.mu is held.
func (c *Context) kill(why string) {
	c.state = stateDead
	c.dead = why
	c.h = backend.Handle{}
	c.store.untrack(c.t)
	c.t = nil
}

// Delete deletes the context (DeleteSecurityContext). Deleting a context
// that was already deleted or exported with DeleteOld returns
// SEC_E_INVALID_HANDLE; deleting one whose handshake never started or
// failed (and so was cleaned up already) returns nil.
func (c *Context) Delete() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateNew || (c.state == stateDead && c.dead == deadFailed) {
		return nil
	}
	h, err := c.live(backend.OpDeleteSecurityContext)
	if err != nil {
		return err
	}
	if err := c.store.b.DeleteSecurityContext(h); !released(err) {
		// The backend still holds the handle: keep it, so a retry can
		// delete it and Leaks still reports it.
		return err
	}
	c.kill("was deleted")
	return err
}

// released reports whether a failed release call (delete, free, close)
// let go of the handle anyway: on success, and when the backend says the
// handle was not valid, there is nothing left to release.
func released(err error) bool {
	return err == nil || errors.Is(err, StatusInvalidHandle)
}

const deadFailed = "failed its handshake and was deleted"

// query runs QueryContextAttributes under the lock.
func (c *Context) query(attr backend.Attribute) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.live(backend.OpQueryContextAttributes)
	if err != nil {
		return nil, err
	}
	return c.store.b.QueryContextAttributes(h, attr)
}

func queryAs[T any](c *Context, attr backend.Attribute) (T, error) {
	var zero T
	v, err := c.query(attr)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, backend.NewError(backend.OpQueryContextAttributes, c.pkg, StatusInternalError, "backend returned the wrong type for "+attr.String(), nil)
	}
	return t, nil
}

// Sizes returns the context's buffer sizes (SECPKG_ATTR_SIZES).
func (c *Context) Sizes() (Sizes, error) { return queryAs[Sizes](c, backend.AttrSizes) }

// UserName returns the name of the context's user (SECPKG_ATTR_NAMES): on
// a server, the authenticated client as DOMAIN\user.
func (c *Context) UserName() (string, error) {
	n, err := queryAs[backend.Names](c, backend.AttrNames)
	return n.UserName, err
}

// NativeNames returns the client and server names (SECPKG_ATTR_NATIVE_NAMES).
func (c *Context) NativeNames() (NativeNames, error) {
	return queryAs[NativeNames](c, backend.AttrNativeNames)
}

// Lifespan returns when the context became valid and when it expires.
func (c *Context) Lifespan() (Lifespan, error) { return queryAs[Lifespan](c, backend.AttrLifespan) }

// Authority returns the name of the authenticating authority.
func (c *Context) Authority() (string, error) {
	a, err := queryAs[backend.Authority](c, backend.AttrAuthority)
	return a.Name, err
}

// SessionKey returns the context's session key (SECPKG_ATTR_SESSION_KEY).
func (c *Context) SessionKey() ([]byte, error) {
	k, err := queryAs[backend.SessionKey](c, backend.AttrSessionKey)
	return k.Key, err
}

// PackageInfo returns the package the context uses (SECPKG_ATTR_PACKAGE_INFO).
func (c *Context) PackageInfo() (PackageInfo, error) {
	return queryAs[PackageInfo](c, backend.AttrPackageInfo)
}

// RawFlags returns the context's negotiated flags (SECPKG_ATTR_FLAGS): ISC_RET_*
// bits on a client, ASC_RET_* bits on a server.
func (c *Context) RawFlags() (uint32, error) {
	f, err := queryAs[backend.Flags](c, backend.AttrFlags)
	return f.Flags, err
}

// sizesLocked returns the cached sizes; c.mu is held.
func (c *Context) sizesLocked(h backend.Handle) (Sizes, error) {
	if c.sizes != nil {
		return *c.sizes, nil
	}
	v, err := c.store.b.QueryContextAttributes(h, backend.AttrSizes)
	if err != nil {
		return Sizes{}, err
	}
	s, ok := v.(Sizes)
	if !ok {
		return Sizes{}, backend.NewError(backend.OpQueryContextAttributes, c.pkg, StatusInternalError, "backend returned the wrong type for SECPKG_ATTR_SIZES", nil)
	}
	c.sizes = &s
	return s, nil
}

// Sign returns a signature of msg (MakeSignature).
func (c *Context) Sign(msg []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.live(backend.OpMakeSignature)
	if err != nil {
		return nil, err
	}
	if c.store.signer == nil {
		return nil, c.store.unsupported(backend.OpMakeSignature, c.pkg)
	}
	sz, err := c.sizesLocked(h)
	if err != nil {
		return nil, err
	}
	bufs := [2]backend.Buffer{{Type: backend.BufferData | backend.BufferReadOnly, Data: msg}, {Type: backend.BufferToken, Data: make([]byte, sz.MaxSignature)}}
	if err := c.store.signer.MakeSignature(h, 0, bufs[:], 0); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}

// Verify checks a signature made by the peer's Sign (VerifySignature):
// SEC_E_MESSAGE_ALTERED if msg or sig were changed, SEC_E_OUT_OF_SEQUENCE
// if the message was replayed or reordered.
func (c *Context) Verify(msg, sig []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.live(backend.OpVerifySignature)
	if err != nil {
		return err
	}
	if c.store.signer == nil {
		return c.store.unsupported(backend.OpVerifySignature, c.pkg)
	}
	bufs := [2]backend.Buffer{{Type: backend.BufferData | backend.BufferReadOnly, Data: msg}, {Type: backend.BufferToken, Data: append([]byte(nil), sig...)}}
	_, err = c.store.signer.VerifySignature(h, bufs[:], 0)
	return err
}

// Seal encrypts msg (EncryptMessage) and returns the security trailer
// (signature) and the ciphertext; the peer passes both to Unseal. msg is
// not modified.
func (c *Context) Seal(msg []byte) (token, data []byte, err error) {
	return c.seal(msg, true)
}

// SealInPlace is Seal without the copy: it encrypts msg in place and
// returns the security trailer, which the peer passes with msg to Unseal
// or UnsealInPlace. Large messages cost no allocation but the trailer's;
// use Seal when the plaintext must stay as it was.
func (c *Context) SealInPlace(msg []byte) (token []byte, err error) {
	token, _, err = c.seal(msg, false)
	return token, err
}

// seal is Seal (keep: msg is copied first) and SealInPlace.
func (c *Context) seal(msg []byte, keep bool) (token, data []byte, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.live(backend.OpEncryptMessage)
	if err != nil {
		return nil, nil, err
	}
	if c.store.sealer == nil {
		return nil, nil, c.store.unsupported(backend.OpEncryptMessage, c.pkg)
	}
	sz, err := c.sizesLocked(h)
	if err != nil {
		return nil, nil, err
	}
	t := int(sz.SecurityTrailer)
	if keep {
		buf := make([]byte, t+len(msg))
		copy(buf[t:], msg)
		token, data = buf[:t:t], buf[t:]
	} else {
		token, data = make([]byte, t), msg
	}
	bufs := [2]backend.Buffer{{Type: backend.BufferToken, Data: token}, {Type: backend.BufferData, Data: data}}
	if err := c.store.sealer.EncryptMessage(h, 0, bufs[:], 0); err != nil {
		return nil, nil, err
	}
	return bufs[0].Data, bufs[1].Data, nil
}

// Unseal checks and decrypts a message made by the peer's Seal
// (DecryptMessage). The inputs are not modified.
func (c *Context) Unseal(token, data []byte) ([]byte, error) {
	return c.unseal(token, data, true)
}

// UnsealInPlace is Unseal without the copy: it checks and decrypts data in
// place, and returns the plaintext, which shares data's memory. The
// package may also use token as working space, as DecryptMessage does on
// Windows. On error the contents of token and data are unspecified; use
// Unseal when the sealed bytes must stay as they were.
func (c *Context) UnsealInPlace(token, data []byte) ([]byte, error) {
	return c.unseal(token, data, false)
}

// unseal is Unseal (keep: the inputs are copied first) and UnsealInPlace.
func (c *Context) unseal(token, data []byte, keep bool) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.live(backend.OpDecryptMessage)
	if err != nil {
		return nil, err
	}
	if c.store.sealer == nil {
		return nil, c.store.unsupported(backend.OpDecryptMessage, c.pkg)
	}
	if keep {
		buf := make([]byte, len(token)+len(data))
		copy(buf, token)
		copy(buf[len(token):], data)
		token, data = buf[:len(token):len(token)], buf[len(token):]
	}
	bufs := [2]backend.Buffer{{Type: backend.BufferToken, Data: token}, {Type: backend.BufferData, Data: data}}
	if _, err := c.store.sealer.DecryptMessage(h, bufs[:], 0); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}

// AccessToken returns the access token of the client of a server context
// (QuerySecurityContextToken). The caller must Close it.
func (c *Context) AccessToken() (*Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.live(backend.OpQuerySecurityContextToken)
	if err != nil {
		return nil, err
	}
	if c.store.tokens == nil {
		return nil, c.store.unsupported(backend.OpQuerySecurityContextToken, c.pkg)
	}
	th, err := c.store.tokens.QuerySecurityContextToken(h)
	if err != nil {
		return nil, err
	}
	return c.store.newToken(th, c.pkg, "access token"), nil
}

// Impersonate runs fn on an OS thread that acts as the client of a server
// context (ImpersonateSecurityContext, then RevertSecurityContext). The
// goroutine stays locked to its thread for the whole call.
func (c *Context) Impersonate(fn func() error) (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c.mu.Lock()
	h, err := c.live(backend.OpImpersonateSecurityContext)
	switch {
	case err != nil:
	case c.store.imp == nil:
		err = c.store.unsupported(backend.OpImpersonateSecurityContext, c.pkg)
	default:
		err = c.store.imp.ImpersonateSecurityContext(h)
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	// Revert even if fn panics: the thread must not stay the client.
	defer func() {
		c.mu.Lock()
		rerr := c.store.imp.RevertSecurityContext(h)
		c.mu.Unlock()
		if err == nil {
			err = rerr
		}
	}()
	return fn()
}

// Export packs the context so that a process on the same machine can
// Import it (ExportSecurityContext). With flags.DeleteOld, this context is
// dead afterwards: every call answers SEC_E_INVALID_HANDLE. If export
// fails, the context is untouched, whatever the flags.
func (c *Context) Export(f flags.Export) ([]byte, error) {
	b, _, err := c.export(f, false)
	return b, err
}

// ExportWithToken is Export that also returns the access token of a server
// context's client. The caller must Close the token.
func (c *Context) ExportWithToken(f flags.Export) ([]byte, *Token, error) {
	return c.export(f, true)
}

func (c *Context) export(f flags.Export, wantToken bool) ([]byte, *Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.live(backend.OpExportSecurityContext)
	if err != nil {
		return nil, nil, err
	}
	if c.store.exp == nil {
		return nil, nil, c.store.unsupported(backend.OpExportSecurityContext, c.pkg)
	}
	packed, th, err := c.store.exp.ExportSecurityContext(h, f, wantToken)
	if err != nil {
		return nil, nil, err
	}
	var tok *Token
	if th != 0 {
		tok = c.store.newToken(th, c.pkg, "token from ExportSecurityContext")
	}
	if f&flags.DeleteOld != 0 {
		c.kill("was exported with DeleteOld and now lives in the importing process")
	}
	return packed, tok, nil
}

// ClientContext is the initiator side of a handshake.
type ClientContext struct {
	Context
	cred     *Credentials
	target   string
	req      flags.ClientReq
	ret      flags.ClientRet
	bindings []byte
}

// SetChannelBindings sets the SEC_CHANNEL_BINDINGS structure passed with
// every step (for example for TLS channel binding).
func (c *ClientContext) SetChannelBindings(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bindings = append([]byte(nil), b...)
}

// Flags returns the context attributes the last step returned.
func (c *ClientContext) Flags() flags.ClientRet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ret
}

// Step runs one InitializeSecurityContext call with the server's last token
// (nil on the first call). It returns the token to send, and done once the
// client side is established. If a step fails, the partial context is
// deleted.
func (c *ClientContext) Step(in []byte) (out []byte, done bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.stepAllowed(backend.OpInitializeSecurityContext, c.cred); err != nil {
		return nil, false, err
	}
	ch, err := c.cred.handle(backend.OpInitializeSecurityContext)
	if err != nil {
		return nil, false, err
	}
	call := &initializeCall{req: backend.InitializeRequest{Credential: ch, Context: c.h, Target: c.target, Flags: c.req}}
	call.req.Input = inputBuffers(call.bufs[:0], in, c.bindings)
	res, err := c.store.b.InitializeSecurityContext(&call.req)
	if err != nil {
		c.fail(res.Context)
		return nil, false, err
	}
	c.ret = res.Flags
	return c.advance(backend.OpInitializeSecurityContext, res.Context, res.Status, res.Output, c.target, true)
}

// ServerContext is the acceptor side of a handshake.
type ServerContext struct {
	Context
	cred     *Credentials
	req      flags.ServerReq
	ret      flags.ServerRet
	bindings []byte
}

// SetChannelBindings sets the SEC_CHANNEL_BINDINGS structure passed with
// every step.
func (c *ServerContext) SetChannelBindings(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bindings = append([]byte(nil), b...)
}

// Flags returns the context attributes the last step returned.
func (c *ServerContext) Flags() flags.ServerRet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ret
}

// Step runs one AcceptSecurityContext call with the client's last token.
// It returns the token to send back (possibly empty), and done once the
// server side is established. If a step fails, the partial context is
// deleted.
func (c *ServerContext) Step(in []byte) (out []byte, done bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.stepAllowed(backend.OpAcceptSecurityContext, c.cred); err != nil {
		return nil, false, err
	}
	ch, err := c.cred.handle(backend.OpAcceptSecurityContext)
	if err != nil {
		return nil, false, err
	}
	call := &acceptCall{req: backend.AcceptRequest{Credential: ch, Context: c.h, Flags: c.req}}
	call.req.Input = inputBuffers(call.bufs[:0], in, c.bindings)
	res, err := c.store.b.AcceptSecurityContext(&call.req)
	if err != nil {
		c.fail(res.Context)
		return nil, false, err
	}
	c.ret = res.Flags
	return c.advance(backend.OpAcceptSecurityContext, res.Context, res.Status, res.Output, "server context", false)
}

// initializeCall and acceptCall are a step's request with room for its
// input buffers, so that the request and its buffer list are one
// allocation.
type initializeCall struct {
	req  backend.InitializeRequest
	bufs [2]backend.Buffer
}

type acceptCall struct {
	req  backend.AcceptRequest
	bufs [2]backend.Buffer
}

// inputBuffers appends a step's input buffers to bufs, which has room
// for both; nil when there are none.
func inputBuffers(bufs []backend.Buffer, in, bindings []byte) []backend.Buffer {
	if in == nil && bindings == nil {
		return nil
	}
	if in != nil {
		bufs = append(bufs, backend.Buffer{Type: backend.BufferToken, Data: append([]byte(nil), in...)})
	}
	if bindings != nil {
		bufs = append(bufs, backend.Buffer{Type: backend.BufferChannelBindings, Data: bindings})
	}
	return bufs
}

// stepAllowed refuses steps on dead or finished contexts, and on zero
// values that no Credentials made; c.mu is held.
func (c *Context) stepAllowed(op backend.Op, cred *Credentials) error {
	if c.store == nil || cred == nil {
		return backend.NewError(op, c.pkg, StatusInvalidHandle, "the context was not made by Credentials.NewClientContext or NewServerContext", nil)
	}
	switch c.state {
	case stateDead:
		return backend.NewError(op, c.pkg, StatusInvalidHandle, "context "+c.dead, nil)
	case stateEstablished:
		return backend.NewError(op, c.pkg, StatusInvalidParameter, "the handshake is already complete", nil)
	}
	return nil
}

// fail deletes a partial context after a failed step; c.mu is held.
func (c *Context) fail(returned backend.Handle) {
	h := c.h
	if h.IsZero() {
		h = returned
	}
	if !h.IsZero() {
		_ = c.store.b.DeleteSecurityContext(h)
	}
	c.kill(deadFailed)
}

// advance records the result of a successful step; c.mu is held.
// The context's description for tracking is desc, or, with target, the
// client context's target desc after clientPrefix, joined only if it is
// reported as a leak.
func (c *Context) advance(op backend.Op, h backend.Handle, st Status, out []byte, desc string, target bool) ([]byte, bool, error) {
	if c.state == stateNew && !h.IsZero() {
		c.h = h
		c.state = stateHandshaking
		c.t = c.store.track(&c.tr, "context", c.pkg, desc, target)
	}
	switch st {
	case StatusCompleteNeeded, StatusCompleteAndContinue:
		if c.store.completer == nil {
			c.fail(c.h)
			return nil, false, backend.NewError(op, c.pkg, StatusInternalError, "the backend asked for CompleteAuthToken but does not implement it", nil)
		}
		if err := c.store.completer.CompleteAuthToken(c.h, []backend.Buffer{{Type: backend.BufferToken, Data: out}}); err != nil {
			c.fail(c.h)
			return nil, false, err
		}
	}
	switch st {
	case StatusOK, StatusCompleteNeeded:
		c.state = stateEstablished
		return out, true, nil
	case StatusContinueNeeded, StatusCompleteAndContinue:
		return out, false, nil
	}
	return out, false, backend.NewError(op, c.pkg, st, "unexpected success status from the backend", nil)
}

// Token is an access token handle. Close it when done.
type Token struct {
	store *Store
	mu    sync.Mutex
	h     backend.TokenHandle
	t     *tracked // &tr while open, nil once closed
	tr    tracked
}

func (s *Store) newToken(h backend.TokenHandle, pkg, desc string) *Token {
	tok := &Token{store: s, h: h}
	tok.t = s.track(&tok.tr, "token", pkg, desc, false)
	return tok
}

func (t *Token) handle() backend.TokenHandle {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.h
}

// Raw runs fn with the backend's token handle (a Windows HANDLE on the
// real backend), under the token's lock, for an API gosspi does not wrap.
// The handle is valid only while fn runs; do not close it. A closed token
// answers SEC_E_INVALID_HANDLE without calling fn.
func (t *Token) Raw(fn func(h backend.TokenHandle) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == 0 {
		return backend.NewError(backend.OpGetTokenInformation, "", StatusInvalidHandle, "token was closed", nil)
	}
	return fn(t.h)
}

// Info returns the user and groups the token carries.
func (t *Token) Info() (TokenInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == 0 {
		return TokenInfo{}, backend.NewError(backend.OpGetTokenInformation, "", StatusInvalidHandle, "token was closed", nil)
	}
	if t.store.tokens == nil {
		return TokenInfo{}, t.store.unsupported(backend.OpGetTokenInformation, "")
	}
	return t.store.tokens.TokenInformation(t.h)
}

// Close closes the token. A second Close returns SEC_E_INVALID_HANDLE.
func (t *Token) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == 0 {
		return backend.NewError(backend.OpCloseHandle, "", StatusInvalidHandle, "token already closed", nil)
	}
	if t.store.tokens == nil {
		return t.store.unsupported(backend.OpCloseHandle, "")
	}
	err := t.store.tokens.CloseToken(t.h)
	if !released(err) {
		return err // still open in the backend: a retry can close it
	}
	t.h = 0
	t.store.untrack(t.t)
	t.t = nil
	return err
}
