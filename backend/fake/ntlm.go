package fake

import (
	"crypto/md5"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/ntlm"
)

// pkgDesc is an emulated security package.
type pkgDesc struct {
	info   backend.PackageInfo
	sizes  backend.Sizes
	spnego bool // Negotiate: NTLM wrapped in SPNEGO tokens
}

// ntlmPkg carries the values Windows reports for NTLM.
var ntlmPkg = &pkgDesc{
	info: backend.PackageInfo{
		Name:         "NTLM",
		Comment:      "NTLM Security Package",
		Capabilities: 0x00082B37,
		Version:      1,
		RPCID:        10,
		MaxToken:     2888,
	},
	sizes: backend.Sizes{MaxToken: 2888, MaxSignature: 16, BlockSize: 0, SecurityTrailer: 16},
}

// negotiatePkg carries the values Windows reports for Negotiate. Contexts
// report the package Negotiate selected (NTLM) for SIZES and PACKAGE_INFO.
var negotiatePkg = &pkgDesc{
	info: backend.PackageInfo{
		Name:         "Negotiate",
		Comment:      "Microsoft Package Negotiator",
		Capabilities: 0x00083BB3,
		Version:      1,
		RPCID:        9,
		MaxToken:     48256,
	},
	sizes:  ntlmPkg.sizes,
	spnego: true,
}

var packages = []*pkgDesc{negotiatePkg, ntlmPkg}

// findPackage resolves a package name case-insensitively, as Windows does.
func findPackage(op backend.Op, name string) (*pkgDesc, error) {
	for _, d := range packages {
		if strings.EqualFold(d.info.Name, name) {
			return d, nil
		}
	}
	return nil, errf(op, name, backend.StatusSecpkgNotFound, "no security package named %q (the fake has Negotiate and NTLM)", name)
}

// ctxEntry is one security context in a process's handle table.
type ctxEntry struct {
	mu            sync.Mutex
	dead          bool
	pkg           *pkgDesc
	server        bool
	established   bool
	retFlags      uint32
	target        string
	client        *ntlm.Client
	srv           *ntlm.Server
	sess          *ntlm.Session
	bindings      []byte // channel bindings of the first step
	start, expiry time.Time
	// who: on a server the authenticated client, on a client its own user.
	user, domain, sid string
	groups            []string
	serverName        string
	attrToken         uintptr // SECPKG_ATTR_ACCESS_TOKEN, owned by the context
	impersonating     bool
	// Negotiate (SPNEGO) state: the DER MechTypeList the mechListMICs
	// cover, and whether the client still waits for the server's MIC.
	spnego      bool
	mechList    []byte
	awaitingMIC bool
	// base is the per-message state right after the handshake, where
	// RESET_NEW puts an imported context: zero for NTLM, one message each
	// way for Negotiate, whose mechListMICs spent sequence number 0.
	base counters
}

// counters is the per-message position of an NTLM session.
type counters struct {
	sendSeq, recvSeq       uint32
	sendStream, recvStream uint64
}

// markBase records the post-handshake position; c.mu is held.
func (c *ctxEntry) markBase() {
	st := c.sess.State()
	clear(st.SessionKey[:])
	c.base = counters{st.SendSeq, st.RecvSeq, st.SendStream, st.RecvStream}
}

func (c *ctxEntry) identity() tokenIdentity {
	return tokenIdentity{domain: c.domain, user: c.user, sid: c.sid, groups: c.groups}
}

// usable checks that the context can protect messages; c.mu is held.
func (c *ctxEntry) usable(op backend.Op, now time.Time) error {
	if !c.established {
		return errf(op, c.pkg.info.Name, backend.StatusInvalidHandle, "the context's handshake has not finished")
	}
	if !now.Before(c.expiry) {
		return errf(op, c.pkg.info.Name, backend.StatusContextExpired, "the context expired at %s", c.expiry.Format(time.RFC3339))
	}
	return nil
}

// destroy marks the context dead and zeroes its keys; c.mu is held.
func (c *ctxEntry) destroy() {
	c.dead = true
	if c.sess != nil {
		c.sess.Destroy()
		c.sess = nil
	}
	c.client = nil
	c.srv = nil
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

func bindingsHash(b []byte) []byte {
	if b == nil {
		return nil
	}
	h := md5.Sum(b)
	return h[:]
}

// clientRet maps what NTLM can grant of a client request onto ISC_RET bits.
func clientRet(req flags.ClientReq) flags.ClientRet {
	const same = flags.ClientReqReplayDetect | flags.ClientReqSequenceDetect | flags.ClientReqConfidentiality |
		flags.ClientReqIntegrity | flags.ClientReqConnection | flags.ClientReqIdentify | flags.ClientReqDatagram
	ret := flags.ClientRet(req & same)
	if req&flags.ClientReqAllocateMemory != 0 {
		ret |= flags.ClientRetAllocatedMemory
	}
	return ret
}

// serverRet maps what NTLM can grant of a server request onto ASC_RET bits.
func serverRet(req flags.ServerReq) flags.ServerRet {
	const same = flags.ServerReqReplayDetect | flags.ServerReqSequenceDetect | flags.ServerReqConfidentiality |
		flags.ServerReqIntegrity | flags.ServerReqConnection | flags.ServerReqIdentify | flags.ServerReqDatagram
	ret := flags.ServerRet(req & same)
	if req&flags.ServerReqAllocateMemory != 0 {
		ret |= flags.ServerRetAllocatedMemory
	}
	return ret
}

// ntlmStatus maps an internal/ntlm error onto its SSPI status.
func ntlmStatus(err error) backend.Status {
	switch {
	case errors.Is(err, ntlm.ErrLogonDenied):
		return backend.StatusLogonDenied
	case errors.Is(err, ntlm.ErrMessageAltered):
		return backend.StatusMessageAltered
	case errors.Is(err, ntlm.ErrOutOfSequence):
		return backend.StatusOutOfSequence
	}
	return backend.StatusInvalidToken
}

// InitializeSecurityContext runs one client step: NEGOTIATE on the first
// call, AUTHENTICATE on the second (for Negotiate, wrapped in SPNEGO, with
// a third call that checks the server's mechListMIC).
func (p *Process) InitializeSecurityContext(req *backend.InitializeRequest) (backend.InitializeResult, error) {
	const op = backend.OpInitializeSecurityContext
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
		if tokenOf(req.Input) != nil {
			return backend.InitializeResult{}, errf(op, name, backend.StatusInvalidToken, "a first call takes no input token")
		}
		c, out, err := p.clientStart(op, cred, req)
		if err != nil {
			return backend.InitializeResult{}, err
		}
		h := p.addCtx(c)
		return backend.InitializeResult{Context: h, Status: backend.StatusContinueNeeded, Output: out, Flags: clientRet(req.Flags), Expiry: neverExpires}, nil
	}
	c, err := p.lookupCtx(op, req.Context)
	if err != nil {
		return backend.InitializeResult{}, err
	}
	defer c.mu.Unlock()
	if c.server || c.established || (c.client == nil && !c.awaitingMIC) {
		return backend.InitializeResult{}, errf(op, name, backend.StatusInvalidHandle, "the context is not a client context in its handshake")
	}
	in := tokenOf(req.Input)
	if in == nil {
		return backend.InitializeResult{}, errf(op, name, backend.StatusInvalidToken, "this step needs the server's token")
	}
	var out []byte
	if c.spnego {
		out, err = p.negotiateClientStep(op, c, in)
	} else {
		out, err = p.clientFinish(op, c, in)
	}
	if err != nil {
		return backend.InitializeResult{}, err
	}
	st := backend.StatusContinueNeeded
	if c.established {
		st = backend.StatusOK
		c.markBase()
	}
	return backend.InitializeResult{Context: req.Context, Status: st, Output: out, Flags: flags.ClientRet(c.retFlags), Expiry: c.expiry}, nil
}

// clientStart makes a client context and its NTLM NEGOTIATE (wrapped in a
// NegTokenInit for Negotiate).
func (p *Process) clientStart(op backend.Op, cred *credEntry, req *backend.InitializeRequest) (*ctxEntry, []byte, error) {
	name := cred.pkg.info.Name
	id := cred.identity
	cl := ntlm.NewClient(ntlm.ClientConfig{
		User: id.user, Domain: id.domain, Password: id.password,
		Workstation:         p.m.name,
		TargetSPN:           req.Target,
		ChannelBindingsHash: bindingsHash(bindingsOf(req.Input)),
		Rand:                p.m.rand,
		Now:                 p.m.clock,
	})
	out, err := cl.Negotiate()
	if err != nil {
		return nil, nil, backend.NewError(op, name, backend.StatusInternalError, "building NEGOTIATE", err)
	}
	c := &ctxEntry{pkg: cred.pkg, client: cl, target: req.Target, bindings: bindingsOf(req.Input),
		user: id.user, domain: id.domain, retFlags: uint32(clientRet(req.Flags)), expiry: neverExpires}
	if cred.pkg.spnego {
		if out, err = c.wrapInit(out); err != nil {
			return nil, nil, backend.NewError(op, name, backend.StatusInternalError, "building NegTokenInit", err)
		}
	}
	return c, out, nil
}

// clientFinish answers the server's CHALLENGE with AUTHENTICATE and derives
// the session; c.mu is held. Plain NTLM is established by it.
func (p *Process) clientFinish(op backend.Op, c *ctxEntry, challenge []byte) ([]byte, error) {
	name := c.pkg.info.Name
	out, err := c.client.Authenticate(challenge)
	if err != nil {
		return nil, backend.NewError(op, name, ntlmStatus(err), "CHALLENGE refused", err)
	}
	key := c.client.SessionKey()
	sess, err := ntlm.NewSession(key, c.client.NegotiatedFlags(), true)
	clear(key)
	if err != nil {
		return nil, backend.NewError(op, name, backend.StatusInternalError, "deriving session keys", err)
	}
	c.sess = sess
	c.client = nil
	c.serverName = c.target
	if !c.spnego {
		p.establish(c)
	}
	return out, nil
}

// establish starts an established context's lifetime; c.mu is held.
func (p *Process) establish(c *ctxEntry) {
	c.established = true
	c.awaitingMIC = false
	c.start = p.now()
	c.expiry = c.start.Add(p.m.lifetime)
}

// AcceptSecurityContext runs one server step: CHALLENGE for the client's
// NEGOTIATE, then verification of its AUTHENTICATE (for Negotiate, both
// wrapped in SPNEGO, with the mechListMIC checked and answered).
func (p *Process) AcceptSecurityContext(req *backend.AcceptRequest) (backend.AcceptResult, error) {
	const op = backend.OpAcceptSecurityContext
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
		c, out, err := p.serverStart(op, cred, req, in)
		if err != nil {
			return backend.AcceptResult{}, err
		}
		h := p.addCtx(c)
		return backend.AcceptResult{Context: h, Status: backend.StatusContinueNeeded, Output: out, Flags: serverRet(req.Flags), Expiry: neverExpires}, nil
	}
	c, err := p.lookupCtx(op, req.Context)
	if err != nil {
		return backend.AcceptResult{}, err
	}
	defer c.mu.Unlock()
	if !c.server || c.srv == nil || c.established {
		return backend.AcceptResult{}, errf(op, name, backend.StatusInvalidHandle, "the context is not a server context in its handshake")
	}
	var out []byte
	if c.spnego {
		out, err = p.negotiateServerFinish(op, c, req.Input, in)
	} else {
		err = p.serverFinish(op, c, req.Input, in)
	}
	if err != nil {
		return backend.AcceptResult{}, err
	}
	c.markBase()
	return backend.AcceptResult{Context: req.Context, Status: backend.StatusOK, Output: out, Flags: flags.ServerRet(c.retFlags), Expiry: c.expiry}, nil
}

// serverStart makes a server context and answers the client's NEGOTIATE
// (inside a NegTokenInit for Negotiate) with a CHALLENGE.
func (p *Process) serverStart(op backend.Op, cred *credEntry, req *backend.AcceptRequest, in []byte) (*ctxEntry, []byte, error) {
	name := cred.pkg.info.Name
	c := &ctxEntry{pkg: cred.pkg, server: true, bindings: bindingsOf(req.Input),
		retFlags: uint32(serverRet(req.Flags)), serverName: p.m.name, expiry: neverExpires}
	negotiate := in
	if cred.pkg.spnego {
		var err error
		if negotiate, err = c.unwrapInit(op, in); err != nil {
			return nil, nil, err
		}
	}
	c.srv = ntlm.NewServer(ntlm.ServerConfig{
		NetBIOSDomain: p.m.domain, NetBIOSComputer: p.m.name,
		DNSDomain: strings.ToLower(p.m.domain) + ".test", DNSComputer: strings.ToLower(p.m.name) + ".test",
		Lookup: p.m.ntHash,
		Rand:   p.m.rand,
		Now:    p.m.clock,
	})
	out, err := c.srv.Challenge(negotiate)
	if err != nil {
		return nil, nil, backend.NewError(op, name, ntlmStatus(err), "NEGOTIATE refused", err)
	}
	if cred.pkg.spnego {
		if out, err = wrapChallenge(out); err != nil {
			return nil, nil, backend.NewError(op, name, backend.StatusInternalError, "building NegTokenResp", err)
		}
	}
	return c, out, nil
}

// serverFinish verifies the client's AUTHENTICATE and establishes the
// context; c.mu is held.
func (p *Process) serverFinish(op backend.Op, c *ctxEntry, input []backend.Buffer, auth []byte) error {
	name := c.pkg.info.Name
	res, err := c.srv.Authenticate(auth)
	if err != nil {
		return backend.NewError(op, name, ntlmStatus(err), "AUTHENTICATE refused", err)
	}
	defer clear(res.SessionKey)
	if b := bindingsOf(input); b != nil && res.ChannelBindings != nil && !allZero(res.ChannelBindings) {
		want := bindingsHash(b)
		if string(want) != string(res.ChannelBindings) {
			return errf(op, name, backend.StatusBadBindings, "the client's channel bindings differ from the server's")
		}
	}
	pr, ok := p.m.lookup(res.Domain, res.User)
	if !ok { // removed between CHALLENGE and AUTHENTICATE
		return errf(op, name, backend.StatusLogonDenied, "unknown user")
	}
	sess, err := ntlm.NewSession(res.SessionKey, res.Flags, false)
	if err != nil {
		return backend.NewError(op, name, backend.StatusInternalError, "deriving session keys", err)
	}
	c.sess = sess
	c.srv = nil
	c.user, c.domain, c.sid, c.groups = pr.user, pr.domain, pr.sid, pr.groups
	c.target = res.TargetName
	p.establish(c)
	return nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// ntHash is the NTLM server's view of the principal directory.
func (m *Machine) ntHash(domain, user string) ([]byte, bool) {
	p, ok := m.lookup(domain, user)
	if !ok {
		return nil, false
	}
	return p.ntHash, true
}

// CompleteAuthToken is never needed by NTLM; Windows accepts the call.
func (p *Process) CompleteAuthToken(h backend.Handle, token []backend.Buffer) error {
	const op = backend.OpCompleteAuthToken
	c, err := p.lookupCtx(op, h)
	if err != nil {
		return err
	}
	c.mu.Unlock()
	return nil
}
