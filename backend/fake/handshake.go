package fake

import (
	"sync"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
)

// ctxEntry is one security context in a process's handle table.
type ctxEntry struct {
	mu   sync.Mutex
	dead bool
	pkg  *pkgDesc // the package the context was made with
	// runs is the package whose mechanism runs the context: pkg, or the
	// one Negotiate chose, which SIZES and PACKAGE_INFO report.
	runs   *pkgDesc
	server bool
	// req are the first call's request flags, from which the package that
	// runs the context grants retFlags once a negotiation names it.
	req      uint32
	phase    phase
	hs       handshake // in the handshake
	sess     session   // once established
	retFlags uint32
	// target is the SPN: on a client the one it asked for, on a server the
	// one the client named.
	target        string
	start, expiry time.Time
	// who: on a server the authenticated client, on a client its own user.
	user, domain, sid string
	groups            []string
	serverName        string
	attrToken         uintptr // SECPKG_ATTR_ACCESS_TOKEN, owned by the context
	impersonating     bool
}

// phase is where a context stands.
type phase uint8

const (
	inHandshake phase = iota // steps go on
	established              // the session protects messages
	failed                   // the handshake failed for good; only deletion is left
)

func (c *ctxEntry) identity() tokenIdentity {
	return tokenIdentity{domain: c.domain, user: c.user, sid: c.sid, groups: c.groups}
}

// usable checks that the context can protect messages; c.mu is held.
func (c *ctxEntry) usable(op backend.Op, now time.Time) error {
	if c.phase != established {
		return errf(op, c.pkg.info.Name, backend.StatusInvalidHandle, "the context's handshake has not finished")
	}
	if !now.Before(c.expiry) {
		return errf(op, c.pkg.info.Name, backend.StatusContextExpired, "the context expired at %s", c.expiry.Format(time.RFC3339))
	}
	return nil
}

// sizes are the context's SIZES attribute; c.mu is held.
func (c *ctxEntry) sizes() backend.Sizes {
	if c.sess != nil {
		return c.sess.sizes()
	}
	return c.runs.sizes
}

// destroy marks the context dead and zeroes its keys; c.mu is held.
func (c *ctxEntry) destroy() {
	c.dead = true
	if c.sess != nil {
		c.sess.destroy()
		c.sess = nil
	}
	if c.hs != nil {
		c.hs.destroy()
		c.hs = nil
	}
}

// bindingsOf returns the channel bindings in the input buffers, or nil.
func bindingsOf(in []backend.Buffer) []byte {
	for _, b := range in {
		if b.Type.Kind() == backend.BufferChannelBindings {
			return b.Data
		}
	}
	return nil
}

// tokenOf returns the token in the input buffers, or nil.
func tokenOf(in []backend.Buffer) []byte {
	for _, b := range in {
		if b.Type.Kind() == backend.BufferToken {
			return b.Data
		}
	}
	return nil
}

// InitializeSecurityContext runs one client step of the credential's
// package: the first call makes the context and its first token, later
// calls answer the server's tokens until the mechanism is done.
func (p *Process) InitializeSecurityContext(req *backend.InitializeRequest) (backend.InitializeResult, error) {
	const op = backend.OpInitializeSecurityContext
	if req == nil {
		return backend.InitializeResult{}, errf(op, "", backend.StatusInvalidParameter, "no request")
	}
	cred, err := p.cred(op, req.Credential)
	if err != nil {
		return backend.InitializeResult{}, err
	}
	name := cred.pkg.info.Name
	if err := req.Flags.Validate(); err != nil {
		return backend.InitializeResult{}, backend.NewError(op, name, backend.StatusInvalidParameter, "bad context request flags", err)
	}
	if cred.use&flags.Outbound == 0 {
		return backend.InitializeResult{}, errf(op, name, backend.StatusNoCredentials, "the credential is inbound only")
	}
	if err := p.faults.check(op, name); err != nil {
		return backend.InitializeResult{}, err
	}
	if req.Context.IsZero() {
		id := cred.identity
		bindings := bindingsOf(req.Input)
		c := &ctxEntry{pkg: cred.pkg, runs: cred.pkg, target: req.Target, user: id.user, domain: id.domain,
			req: uint32(req.Flags), retFlags: uint32(cred.pkg.mech.clientFlags(req.Flags)), expiry: neverExpires}
		c.hs = cred.pkg.mech.client(&p.host, clientConfig{user: id.user, domain: id.domain, password: id.password, id: id, target: req.Target, bindings: bindings, req: req.Flags})
		// The mechanism judges an input token on the first call: Negotiate
		// takes an SMB server's NegTokenInit2 there, NTLM takes none.
		out, err := p.step(op, name, c, stepIn{token: tokenOf(req.Input), bindings: bindings})
		if err != nil {
			c.destroy()
			return backend.InitializeResult{}, err
		}
		h := p.addCtx(c)
		return backend.InitializeResult{Context: h, Status: c.status(), Output: out, Flags: flags.ClientRet(c.retFlags), Expiry: c.expiry}, nil
	}
	c, err := p.lookupCtx(op, req.Context)
	if err != nil {
		return backend.InitializeResult{}, err
	}
	defer c.mu.Unlock()
	if c.server || c.phase != inHandshake {
		return backend.InitializeResult{}, errf(op, name, backend.StatusInvalidHandle, "the context is not a client context in its handshake")
	}
	in := tokenOf(req.Input)
	if in == nil {
		return backend.InitializeResult{}, errf(op, name, backend.StatusInvalidToken, "this step needs the server's token")
	}
	out, err := p.step(op, name, c, stepIn{token: in, bindings: bindingsOf(req.Input)})
	if err != nil {
		return backend.InitializeResult{}, err
	}
	return backend.InitializeResult{Context: req.Context, Status: c.status(), Output: out, Flags: flags.ClientRet(c.retFlags), Expiry: c.expiry}, nil
}

// AcceptSecurityContext runs one server step of the credential's package:
// the first call makes the context from the client's first token, later
// calls take the client's next tokens until the mechanism is done.
func (p *Process) AcceptSecurityContext(req *backend.AcceptRequest) (backend.AcceptResult, error) {
	const op = backend.OpAcceptSecurityContext
	if req == nil {
		return backend.AcceptResult{}, errf(op, "", backend.StatusInvalidParameter, "no request")
	}
	cred, err := p.cred(op, req.Credential)
	if err != nil {
		return backend.AcceptResult{}, err
	}
	name := cred.pkg.info.Name
	if err := req.Flags.Validate(); err != nil {
		return backend.AcceptResult{}, backend.NewError(op, name, backend.StatusInvalidParameter, "bad context request flags", err)
	}
	if cred.use&flags.Inbound == 0 {
		return backend.AcceptResult{}, errf(op, name, backend.StatusNoCredentials, "the credential is outbound only")
	}
	if err := p.faults.check(op, name); err != nil {
		return backend.AcceptResult{}, err
	}
	in := tokenOf(req.Input)
	if in == nil {
		return backend.AcceptResult{}, errf(op, name, backend.StatusInvalidToken, "no input token")
	}
	if req.Context.IsZero() {
		c := &ctxEntry{pkg: cred.pkg, runs: cred.pkg, server: true, serverName: p.m.name,
			req: uint32(req.Flags), retFlags: uint32(cred.pkg.mech.serverFlags(req.Flags)), expiry: neverExpires}
		c.hs = cred.pkg.mech.server(p.serverHost(cred))
		out, err := p.step(op, name, c, stepIn{token: in, bindings: bindingsOf(req.Input), allowMissingBindings: req.Flags&flags.ServerReqAllowMissingBindings != 0})
		if err != nil {
			c.destroy()
			return backend.AcceptResult{}, err
		}
		h := p.addCtx(c)
		return backend.AcceptResult{Context: h, Status: c.status(), Output: out, Flags: flags.ServerRet(c.retFlags), Expiry: c.expiry}, nil
	}
	c, err := p.lookupCtx(op, req.Context)
	if err != nil {
		return backend.AcceptResult{}, err
	}
	defer c.mu.Unlock()
	if !c.server || c.phase != inHandshake {
		return backend.AcceptResult{}, errf(op, name, backend.StatusInvalidHandle, "the context is not a server context in its handshake")
	}
	out, err := p.step(op, name, c, stepIn{token: in, bindings: bindingsOf(req.Input), allowMissingBindings: req.Flags&flags.ServerReqAllowMissingBindings != 0})
	if err != nil {
		return backend.AcceptResult{}, err
	}
	return backend.AcceptResult{Context: req.Context, Status: c.status(), Output: out, Flags: flags.ServerRet(c.retFlags), Expiry: c.expiry}, nil
}

// serverHost is the host a server handshake of cred starts with: the
// process's, naming the credential's explicit identity if it has one.
func (p *Process) serverHost(cred *credEntry) *host {
	if cred.identity == nil || cred.identity == p.user {
		return &p.host
	}
	h := p.host
	h.explicit = cred.identity
	return &h
}

// step runs one step of c's handshake and, when the mechanism is done,
// establishes the context; c.mu is held (or c is not yet in the table).
// Errors are reported with the credential's package name.
func (p *Process) step(op backend.Op, name string, c *ctxEntry, in stepIn) ([]byte, error) {
	out, err := c.hs.step(&p.host, in)
	if err != nil {
		if e, ok := err.(*mechError); ok && e.final {
			c.hs.destroy()
			c.hs = nil
			c.phase = failed
		}
		return nil, mechFailure(op, name, "", err)
	}
	if out.runs != nil && out.runs != c.runs {
		c.runs = out.runs
		if c.server {
			c.retFlags = uint32(c.runs.mech.serverFlags(flags.ServerReq(c.req)))
		} else {
			c.retFlags = uint32(c.runs.mech.clientFlags(flags.ClientReq(c.req)))
		}
	}
	if out.sess == nil {
		return out.token, nil
	}
	c.hs = nil // done: the session is what it leaves
	c.sess = out.sess
	if c.server {
		c.user, c.domain, c.sid, c.groups = out.peer.user, out.peer.domain, out.peer.sid, out.peer.groups
		c.target = out.spn
	} else {
		c.serverName = c.target
	}
	c.phase = established
	c.start = p.now()
	c.expiry = c.start.Add(p.m.lifetime)
	if !out.expiry.IsZero() && out.expiry.Before(c.expiry) {
		c.expiry = out.expiry
	}
	c.sess.handshakeDone()
	return out.token, nil
}

// status is the SSPI status of a successful step of c.
func (c *ctxEntry) status() backend.Status {
	if c.phase == established {
		return backend.StatusOK
	}
	return backend.StatusContinueNeeded
}

// CompleteAuthToken is never needed by the emulated packages; Windows
// accepts the call.
func (p *Process) CompleteAuthToken(h backend.Handle, token []backend.Buffer) error {
	const op = backend.OpCompleteAuthToken
	c, err := p.lookupCtx(op, h)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	return p.faults.check(op, c.pkg.info.Name)
}
