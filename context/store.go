package context

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
)

// Store is the user-facing entry point: it wraps a backend.Backend, hands out
// Credentials, contexts and Tokens, and remembers every one still alive so
// that a test can ask for leaks (see Leaks and CheckLeaks).
//
// A Store is safe for concurrent use.
type Store struct {
	b backend.Backend
	// The optional interfaces b implements, found once; nil where it has none.
	signer    backend.Signer
	sealer    backend.Sealer
	completer backend.Completer
	tokens    backend.TokenQuerier
	imp       backend.Impersonator
	exp       backend.Exporter

	names  sync.Map // package name as a caller spelt it -> canonical name
	nnames atomic.Int32
	stacks atomic.Bool
	nextID atomic.Uint64
	shards [storeShards]storeShard
}

const storeShards = 16

type storeShard struct {
	mu   sync.Mutex
	live map[uint64]*tracked
	// free holds the creation records of untracked handles, for the
	// next: memory just written is warm, where a fresh record's is not,
	// and writing cold memory cost recording a stack a seventh more.
	free []*creation
}

// creation is where and when a handle was made, recorded only with
// Store.RecordStacks.
type creation struct {
	when time.Time
	pcs  [8]uintptr
	npc  int32
}

// tracked is the store's record of one live resource.
type tracked struct {
	id   uint64
	kind string // "credential", "context", "token"
	pkg  string // prefixed to desc when reporting, so tracking need not concatenate
	desc string
	// created is the creating stack and time, recorded only with
	// Store.RecordStacks: out of line, so that the struct each handle
	// embeds is 88 bytes smaller when they are not (an import writes one
	// into fresh memory).
	created *creation
	// target says desc is a client context's target, reported after
	// clientPrefix, for the same reason.
	target bool
}

// clientPrefix is what a client context's description starts with.
const clientPrefix = "client context for "

// NewStore returns a Store over b. The Store uses whichever optional
// interfaces of package backend b implements; calls that need one b lacks
// fail with SEC_E_UNSUPPORTED_FUNCTION.
func NewStore(b backend.Backend) *Store {
	s := &Store{b: b}
	s.signer, _ = b.(backend.Signer)
	s.sealer, _ = b.(backend.Sealer)
	s.completer, _ = b.(backend.Completer)
	s.tokens, _ = b.(backend.TokenQuerier)
	s.imp, _ = b.(backend.Impersonator)
	s.exp, _ = b.(backend.Exporter)
	for i := range s.shards {
		s.shards[i].live = make(map[uint64]*tracked)
	}
	return s
}

// zero refuses calls on a Store that NewStore did not make.
func (s *Store) zero(op backend.Op, pkg string) error {
	if s == nil || s.b == nil {
		return backend.NewError(op, pkg, StatusInvalidHandle, "the Store was not made by NewStore", nil)
	}
	return nil
}

// unsupported is the error for a call whose optional interface the
// backend does not implement.
func (s *Store) unsupported(op backend.Op, pkg string) error {
	return backend.NewError(op, pkg, StatusUnsupportedFunction, fmt.Sprintf("the backend (%T) does not implement %s", s.b, op), nil)
}

// canonical returns the package's own spelling of name ("NTLM" for
// "ntlm"), as the backend reports it, so that contexts, leak reports and
// errors carry one spelling whatever the caller typed. A name the backend
// does not know is returned as given (the call that uses it then fails
// with SEC_E_SECPKG_NOT_FOUND); any other failure of the lookup is the
// caller's error, so an injected fault is never swallowed.
func (s *Store) canonical(name string) (string, error) {
	if v, ok := s.names.Load(name); ok {
		return v.(string), nil
	}
	info, err := s.b.QuerySecurityPackageInfo(name)
	switch {
	case errors.Is(err, StatusSecpkgNotFound):
		return name, nil
	case err != nil:
		return "", err
	case info.Name == "":
		return name, nil
	}
	// Spellings come from program text, so the map stays small; the bound
	// only guards against a caller that builds names at run time.
	if s.nnames.Add(1) <= maxNames {
		s.names.Store(name, info.Name)
	}
	return info.Name, nil
}

const maxNames = 64

// RecordStacks turns on (or off) recording where and when each
// credential, context and token was created, so that Leaks can say
// "created at file:line" (Leak.Created, Leak.When).
// Recording costs about half a microsecond per handle, a fifth of an
// export and import, so it is off unless asked for; fake.CheckLeaks and
// fake.NewTestStore turn it on. It applies to handles created afterwards.
func (s *Store) RecordStacks(on bool) { s.stacks.Store(on) }

// track records a new live resource in t and, if stacks are recorded, the
// stack of the user code that created it (skip frames inside this
// package), and returns t. t is a field of the resource's own struct, so
// tracking costs no allocation of its own.
func (s *Store) track(t *tracked, kind, pkg, desc string, target bool) *tracked {
	*t = tracked{id: s.nextID.Add(1), kind: kind, pkg: pkg, desc: desc, target: target}
	sh := &s.shards[t.id%storeShards]
	sh.mu.Lock()
	if s.stacks.Load() {
		// Recorded in place, under the shard's lock, which only the
		// test kit's stores (RecordStacks) hold this long. The time
		// too: reading the clock is a fortieth of an export and import,
		// for a field only leak reports read.
		var c *creation
		if n := len(sh.free); n > 0 {
			c, sh.free = sh.free[n-1], sh.free[:n-1]
		} else {
			c = new(creation)
		}
		c.when = time.Now()
		c.npc = int32(runtime.Callers(3, c.pcs[:]))
		t.created = c
	}
	sh.live[t.id] = t
	sh.mu.Unlock()
	return t
}

func (s *Store) untrack(t *tracked) {
	if t == nil {
		return
	}
	sh := &s.shards[t.id%storeShards]
	sh.mu.Lock()
	delete(sh.live, t.id)
	if t.created != nil {
		sh.free = append(sh.free, t.created)
		t.created = nil
	}
	sh.mu.Unlock()
}

// Leak is a resource the store handed out that was never released.
type Leak struct {
	Kind    string    // "credential", "context" or "token"
	What    string    // e.g. `NTLM server context`
	Created string    // where user code created it, as "function (file:line)"; empty unless Store.RecordStacks
	When    time.Time // when it was created; zero unless Store.RecordStacks
	Stack   []string  // the creating stack, innermost first
}

// String returns e.g. "NTLM server context created at main.serve (/src/main.go:42)".
func (l Leak) String() string {
	if l.Created == "" {
		return l.What + " (Store.RecordStacks(true) records where it was created)"
	}
	return l.What + " created at " + l.Created
}

// Leaks returns every credential, context and token still alive, oldest first.
func (s *Store) Leaks() []Leak {
	// A creation record goes back to its shard when its handle is
	// released, so it is copied under the shard's lock.
	type live struct {
		t       *tracked
		created creation
	}
	var all []live
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, t := range sh.live {
			l := live{t: t}
			if t.created != nil {
				l.created = *t.created
			}
			all = append(all, l)
		}
		sh.mu.Unlock()
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.id < all[j].t.id })
	out := make([]Leak, 0, len(all))
	for _, a := range all {
		t, c := a.t, &a.created
		what := t.pkg + " " + t.desc
		if t.target {
			what = t.pkg + " " + clientPrefix + t.desc
		}
		l := Leak{Kind: t.kind, What: what, When: c.when}
		pcs := c.pcs[:c.npc]
		frames := runtime.CallersFrames(pcs)
		for {
			f, more := frames.Next()
			if f.Function != "" {
				line := fmt.Sprintf("%s (%s:%d)", f.Function, f.File, f.Line)
				l.Stack = append(l.Stack, line)
				if l.Created == "" && !internalFrame(f.Function) {
					l.Created = line
				}
			}
			if !more {
				break
			}
		}
		if l.Created == "" && len(l.Stack) > 0 {
			l.Created = l.Stack[0]
		}
		out = append(out, l)
	}
	return out
}

// internalFrame reports frames of this package, which are never where a
// user created a resource.
func internalFrame(fn string) bool {
	return strings.HasPrefix(fn, "github.com/gosspi/gosspi/context.")
}

// CheckLeaks returns nil if nothing is alive, or an error listing each leak
// and where it was created.
func (s *Store) CheckLeaks() error {
	leaks := s.Leaks()
	if len(leaks) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "gosspi: %d leaked handle(s):", len(leaks))
	for _, l := range leaks {
		b.WriteString("\n\t")
		b.WriteString(l.String())
	}
	return &LeakError{Leaks: leaks, msg: b.String()}
}

// LeakError is the error CheckLeaks returns.
type LeakError struct {
	Leaks []Leak
	msg   string
}

func (e *LeakError) Error() string { return e.msg }

// Packages lists the security packages of the backend.
func (s *Store) Packages() ([]PackageInfo, error) {
	if err := s.zero(backend.OpEnumerateSecurityPackages, ""); err != nil {
		return nil, err
	}
	return s.b.EnumerateSecurityPackages()
}

// PackageInfo describes one security package.
func (s *Store) PackageInfo(name string) (PackageInfo, error) {
	if err := s.zero(backend.OpQuerySecurityPackageInfo, name); err != nil {
		return PackageInfo{}, err
	}
	return s.b.QuerySecurityPackageInfo(name)
}

// AcquireCredentials returns credentials for package pkg. A nil identity
// means the caller's own credentials. The caller must Release them.
func (s *Store) AcquireCredentials(pkg string, use flags.CredentialUse, identity *AuthIdentity) (*Credentials, error) {
	if err := s.zero(backend.OpAcquireCredentialsHandle, pkg); err != nil {
		return nil, err
	}
	if err := use.Validate(); err != nil {
		return nil, backend.NewError(backend.OpAcquireCredentialsHandle, pkg, StatusInvalidParameter, "bad credential use", err)
	}
	pkg, err := s.canonical(pkg)
	if err != nil {
		return nil, err
	}
	h, expiry, err := s.b.AcquireCredentialsHandle("", pkg, use, identity)
	if err != nil {
		return nil, err
	}
	c := &Credentials{store: s, h: h, pkg: pkg, use: use, expiry: expiry}
	who := "current user"
	if identity != nil {
		who = identity.Domain + `\` + identity.User
	}
	c.t = s.track(&c.tr, "credential", pkg, strings.ToLower(use.String())+" credential for "+who, false)
	return c, nil
}

// Import creates a context from a blob that ExportSecurityContext produced
// in a process on the same machine. token may be nil. The caller must
// Delete the context.
func (s *Store) Import(pkg string, packed []byte, token *Token) (*Context, error) {
	if err := s.zero(backend.OpImportSecurityContext, pkg); err != nil {
		return nil, err
	}
	if s.exp == nil {
		return nil, s.unsupported(backend.OpImportSecurityContext, pkg)
	}
	pkg, err := s.canonical(pkg)
	if err != nil {
		return nil, err
	}
	var th backend.TokenHandle
	if token != nil {
		th = token.handle()
	}
	h, err := s.exp.ImportSecurityContext(pkg, packed, th)
	if err != nil {
		return nil, err
	}
	c := &Context{store: s, h: h, pkg: pkg, state: stateEstablished, imported: true}
	c.t = s.track(&c.tr, "context", pkg, "imported context", false)
	return c, nil
}

// Credentials is a credential handle. Release it when no context needs it
// any more.
type Credentials struct {
	store  *Store
	mu     sync.Mutex
	h      backend.Handle
	pkg    string
	use    flags.CredentialUse
	expiry time.Time
	t      *tracked // &tr while live, nil once released
	tr     tracked
}

// Package returns the security package name.
func (c *Credentials) Package() string { return c.pkg }

// Use returns whether the credential is inbound, outbound or both.
func (c *Credentials) Use() flags.CredentialUse { return c.use }

// Expiry returns when the credential expires, as the backend reported it.
func (c *Credentials) Expiry() time.Time { return c.expiry }

func (c *Credentials) handle(op backend.Op) (backend.Handle, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h.IsZero() {
		return backend.Handle{}, backend.NewError(op, c.pkg, StatusInvalidHandle, "credentials were released", nil)
	}
	return c.h, nil
}

// Release frees the credential handle (FreeCredentialsHandle). A second
// Release returns SEC_E_INVALID_HANDLE.
func (c *Credentials) Release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h.IsZero() {
		return backend.NewError(backend.OpFreeCredentialsHandle, c.pkg, StatusInvalidHandle, "credentials already released", nil)
	}
	err := c.store.b.FreeCredentialsHandle(c.h)
	if !released(err) {
		return err // still held by the backend: a retry can free it
	}
	c.h = backend.Handle{}
	c.store.untrack(c.t)
	return err
}

// NewClientContext prepares a client (initiator) context towards target,
// the service principal name. The handshake starts with the first Step.
func (c *Credentials) NewClientContext(target string, req flags.ClientReq) *ClientContext {
	return &ClientContext{Context: Context{store: c.store, pkg: c.pkg}, cred: c, target: target, req: req}
}

// NewServerContext prepares a server (acceptor) context. The handshake
// starts with the first Step on the client's first token.
func (c *Credentials) NewServerContext(req flags.ServerReq) *ServerContext {
	return &ServerContext{Context: Context{store: c.store, pkg: c.pkg, server: true}, cred: c, req: req}
}
