package fake

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/ntlm"
)

// Process is one emulated process on a Machine: it has its own handle
// tables for credentials, contexts and tokens, and implements
// backend.Backend. Handles of one process are never valid in another.
// A Process is safe for concurrent use.
type Process struct {
	m    *Machine
	tag  uintptr // in every handle's Upper word: another process's handles never match
	user *logon  // whose default credentials this process has, or nil
	next atomic.Uint64
	host host // what the mechanisms see of the machine

	mu     sync.RWMutex
	creds  map[uintptr]*credEntry
	ctxs   map[uintptr]*ctxEntry
	tokens map[uintptr]*tokenEntry

	faults faults
}

// logon is the identity a process runs as, or a credential's explicit
// identity.
type logon struct {
	domain, user, password string

	// keyMu guards ntlmKey, the NTLMv2 ResponseKey of the password, user
	// and domain, derived for the first NTLM client the identity starts
	// rather than for each (an MD4 and an HMAC-MD5), and wiped when the
	// credential of an explicit identity is freed.
	keyMu   sync.Mutex
	ntlmKey ntlm.ResponseKey
	keyed   bool
}

// responseKey sets *k to the identity's NTLMv2 ResponseKey.
func (l *logon) responseKey(k *ntlm.ResponseKey) {
	l.keyMu.Lock()
	defer l.keyMu.Unlock()
	if !l.keyed {
		l.ntlmKey = ntlm.NewResponseKey(l.password, l.user, l.domain)
		l.keyed = true
	}
	*k = l.ntlmKey
}

// wipe zeroes the derived key.
func (l *logon) wipe() {
	l.keyMu.Lock()
	defer l.keyMu.Unlock()
	l.ntlmKey.Wipe()
	l.keyed = false
}

// ProcessOption configures a Process.
type ProcessOption func(*Process)

// AsUser makes the process run as domain\user, whose password is used
// when credentials are acquired without an explicit identity.
func AsUser(domain, user, password string) ProcessOption {
	return func(p *Process) { p.user = &logon{domain: domain, user: user, password: password} }
}

// NewProcess starts a process on the machine.
func (m *Machine) NewProcess(opts ...ProcessOption) *Process {
	var tag [8]byte
	if _, err := rand.Read(tag[:]); err != nil {
		panic("fake: crypto/rand failed: " + err.Error())
	}
	p := &Process{
		m:      m,
		tag:    uintptr(binary.LittleEndian.Uint64(tag[:])) | 1,
		host:   newHost(m),
		creds:  make(map[uintptr]*credEntry),
		ctxs:   make(map[uintptr]*ctxEntry),
		tokens: make(map[uintptr]*tokenEntry),
	}
	for _, o := range opts {
		o(p)
	}
	p.host.user = p.user
	return p
}

// Machine returns the machine the process runs on.
func (p *Process) Machine() *Machine { return p.m }

var _ backend.Full = (*Process)(nil)

func (p *Process) newID() uintptr { return uintptr(p.next.Add(1)) }

func (p *Process) now() time.Time { return p.m.clock() }

// credEntry is one credential handle.
type credEntry struct {
	pkg      *pkgDesc
	use      flags.CredentialUse
	identity *logon
}

// tokenEntry is one access token handle.
type tokenEntry struct {
	id tokenIdentity
	// owned: the SECPKG_ATTR_ACCESS_TOKEN of a context, which the caller
	// must not close; the context's deletion frees it.
	owned bool
}

// tokenIdentity is what an access token says about its user.
type tokenIdentity struct {
	domain, user, sid string
	groups            []string
}

func errf(op backend.Op, pkg string, st backend.Status, format string, args ...any) error {
	return backend.NewError(op, pkg, st, fmt.Sprintf(format, args...), nil)
}

// EnumerateSecurityPackages lists the emulated packages.
func (p *Process) EnumerateSecurityPackages() ([]backend.PackageInfo, error) {
	if err := p.faults.check(backend.OpEnumerateSecurityPackages, ""); err != nil {
		return nil, err
	}
	out := make([]backend.PackageInfo, 0, len(packages))
	for _, d := range packages {
		out = append(out, d.info)
	}
	return out, nil
}

// QuerySecurityPackageInfo describes one package; SEC_E_SECPKG_NOT_FOUND
// for a name it does not know.
func (p *Process) QuerySecurityPackageInfo(name string) (backend.PackageInfo, error) {
	if err := p.faults.check(backend.OpQuerySecurityPackageInfo, name); err != nil {
		return backend.PackageInfo{}, err
	}
	d, err := findPackage(backend.OpQuerySecurityPackageInfo, name)
	if err != nil {
		return backend.PackageInfo{}, err
	}
	return d.info, nil
}

// AcquireCredentialsHandle returns a credential of the package for the
// explicit identity or, if nil, for the user the process runs as.
func (p *Process) AcquireCredentialsHandle(principal, pkg string, use flags.CredentialUse, identity *backend.AuthIdentity) (backend.Handle, time.Time, error) {
	const op = backend.OpAcquireCredentialsHandle
	d, err := findPackage(op, pkg)
	if err != nil {
		return backend.Handle{}, time.Time{}, err
	}
	if err := use.Validate(); err != nil {
		return backend.Handle{}, time.Time{}, backend.NewError(op, d.info.Name, backend.StatusInvalidParameter, "bad credential use", err)
	}
	if err := p.faults.check(op, d.info.Name); err != nil {
		return backend.Handle{}, time.Time{}, err
	}
	c := &credEntry{pkg: d, use: use}
	switch {
	case identity != nil:
		c.identity = &logon{domain: identity.Domain, user: identity.User, password: identity.Password}
	case p.user != nil:
		c.identity = p.user
	case use&flags.Outbound != 0:
		return backend.Handle{}, time.Time{}, errf(op, d.info.Name, backend.StatusNoCredentials, "the process runs as no user and no explicit identity was given")
	}
	id := p.newID()
	p.mu.Lock()
	p.creds[id] = c
	p.mu.Unlock()
	// The emulated credentials do not expire; Windows reports the largest
	// time for NTLM's.
	return backend.Handle{Lower: id, Upper: p.tag}, neverExpires, nil
}

// neverExpires is what Windows reports for a credential without expiry.
var neverExpires = time.Date(30828, 9, 14, 2, 48, 5, 477580700, time.UTC)

// FreeCredentialsHandle releases a credential.
func (p *Process) FreeCredentialsHandle(cred backend.Handle) error {
	const op = backend.OpFreeCredentialsHandle
	if err := p.faults.check(op, ""); err != nil {
		return err
	}
	if cred.Upper != p.tag {
		return errf(op, "", backend.StatusInvalidHandle, "credential handle %#x:%#x was not issued by this process", cred.Upper, cred.Lower)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.creds[cred.Lower]
	if !ok {
		return errf(op, "", backend.StatusInvalidHandle, "credential handle %#x is not valid: never issued or already freed", cred.Lower)
	}
	delete(p.creds, cred.Lower)
	if c.identity != nil && c.identity != p.user {
		c.identity.wipe() // an explicit identity belongs to this credential alone
	}
	return nil
}

func (p *Process) cred(op backend.Op, h backend.Handle) (*credEntry, error) {
	if h.Upper != p.tag {
		return nil, errf(op, "", backend.StatusInvalidHandle, "credential handle was not issued by this process")
	}
	p.mu.RLock()
	c, ok := p.creds[h.Lower]
	p.mu.RUnlock()
	if !ok {
		return nil, errf(op, "", backend.StatusInvalidHandle, "credential handle %#x is not valid: never issued or already freed", h.Lower)
	}
	return c, nil
}

// lookupCtx returns the live context of a handle, locked. The caller
// unlocks it.
func (p *Process) lookupCtx(op backend.Op, h backend.Handle) (*ctxEntry, error) {
	if h.Upper != p.tag || h.Lower == 0 {
		return nil, errf(op, "", backend.StatusInvalidHandle, "context handle was not issued by this process")
	}
	p.mu.RLock()
	c, ok := p.ctxs[h.Lower]
	p.mu.RUnlock()
	if !ok {
		return nil, errf(op, "", backend.StatusInvalidHandle, "context handle %#x is not valid: never issued, deleted, or moved away by export", h.Lower)
	}
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return nil, errf(op, "", backend.StatusInvalidHandle, "context handle %#x is not valid: deleted", h.Lower)
	}
	return c, nil
}

// addCtx stores a new context and returns its handle.
func (p *Process) addCtx(c *ctxEntry) backend.Handle {
	id := p.newID()
	p.mu.Lock()
	p.ctxs[id] = c
	p.mu.Unlock()
	return backend.Handle{Lower: id, Upper: p.tag}
}

// removeCtx deletes a context from the table and destroys it; c.mu is held.
func (p *Process) removeCtx(h backend.Handle, c *ctxEntry) {
	p.mu.Lock()
	delete(p.ctxs, h.Lower)
	if c.attrToken != 0 {
		delete(p.tokens, c.attrToken)
	}
	p.mu.Unlock()
	c.destroy()
}

// DeleteSecurityContext deletes a context and zeroes its keys.
func (p *Process) DeleteSecurityContext(h backend.Handle) error {
	const op = backend.OpDeleteSecurityContext
	if err := p.faults.check(op, ""); err != nil {
		return err
	}
	c, err := p.lookupCtx(op, h)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	p.removeCtx(h, c)
	return nil
}

// newToken stores an access token and returns its handle. Token handle
// values come from the machine, not the process, so a value issued to one
// process never names a token in another (as a Windows HANDLE is only
// meaningful in the process that holds it).
func (p *Process) newToken(id tokenIdentity, owned bool) uintptr {
	h := uintptr(p.m.nextToken.Add(1))
	p.mu.Lock()
	p.tokens[h] = &tokenEntry{id: id, owned: owned}
	p.mu.Unlock()
	return h
}

// QuerySecurityContextToken returns a new access token for the client of
// an established server context. The caller closes it.
func (p *Process) QuerySecurityContextToken(h backend.Handle) (backend.TokenHandle, error) {
	const op = backend.OpQuerySecurityContextToken
	c, err := p.lookupCtx(op, h)
	if err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	if err := p.faults.check(op, c.pkg.info.Name); err != nil {
		return 0, err
	}
	if err := c.usable(op, p.now()); err != nil {
		return 0, err
	}
	if !c.server {
		return 0, errf(op, c.pkg.info.Name, backend.StatusNoImpersonation, "a client context has no access token of its peer")
	}
	return backend.TokenHandle(p.newToken(c.identity(), false)), nil
}

// ImpersonateSecurityContext records that the caller acts as the client.
// The fake changes no OS thread state.
func (p *Process) ImpersonateSecurityContext(h backend.Handle) error {
	const op = backend.OpImpersonateSecurityContext
	c, err := p.lookupCtx(op, h)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	if err := p.faults.check(op, c.pkg.info.Name); err != nil {
		return err
	}
	if err := c.usable(op, p.now()); err != nil {
		return err
	}
	if !c.server {
		return errf(op, c.pkg.info.Name, backend.StatusNoImpersonation, "only a server context can impersonate its client")
	}
	c.impersonating = true
	return nil
}

// RevertSecurityContext ends an impersonation.
func (p *Process) RevertSecurityContext(h backend.Handle) error {
	const op = backend.OpRevertSecurityContext
	c, err := p.lookupCtx(op, h)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	if err := p.faults.check(op, c.pkg.info.Name); err != nil {
		return err
	}
	c.impersonating = false
	return nil
}

// TokenInformation describes an access token.
func (p *Process) TokenInformation(t backend.TokenHandle) (backend.TokenInfo, error) {
	const op = backend.OpGetTokenInformation
	if err := p.faults.check(op, ""); err != nil {
		return backend.TokenInfo{}, err
	}
	p.mu.RLock()
	e, ok := p.tokens[uintptr(t)]
	p.mu.RUnlock()
	if !ok {
		return backend.TokenInfo{}, errf(op, "", backend.StatusInvalidHandle, "token handle %#x is not valid: never issued or closed", uintptr(t))
	}
	return backend.TokenInfo{
		User:   e.id.domain + `\` + e.id.user,
		SID:    e.id.sid,
		Groups: append([]string(nil), e.id.groups...),
	}, nil
}

// CloseToken closes an access token handle.
func (p *Process) CloseToken(t backend.TokenHandle) error {
	const op = backend.OpCloseHandle
	if err := p.faults.check(op, ""); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.tokens[uintptr(t)]
	if !ok {
		return errf(op, "", backend.StatusInvalidHandle, "token handle %#x is not valid: never issued or closed", uintptr(t))
	}
	if e.owned {
		return errf(op, "", backend.StatusInvalidHandle, "token handle %#x belongs to its context (SECPKG_ATTR_ACCESS_TOKEN) and must not be closed", uintptr(t))
	}
	delete(p.tokens, uintptr(t))
	return nil
}

// Leaks reports how many credentials, contexts and tokens the process
// still holds: a backend-level check that complements Store.Leaks.
func (p *Process) Leaks() (creds, contexts, tokens int) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, e := range p.tokens {
		if !e.owned {
			tokens++
		}
	}
	return len(p.creds), len(p.ctxs), tokens
}
