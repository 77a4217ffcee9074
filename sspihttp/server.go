package sspihttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// Reuse says which identities a connection keeps after a handshake, so
// that later requests on it without an Authorization header are served as
// the same user without a new handshake, as IIS does.
type Reuse uint8

const (
	// ReuseNTLM, the zero value, keeps identities that NTLM authenticated
	// (under either scheme). NTLM is connection-oriented: clients such as
	// curl and browsers expect an authenticated connection to stay so.
	ReuseNTLM Reuse = iota
	// ReuseNone makes every request authenticate.
	ReuseNone
	// ReuseAll keeps Kerberos identities too. Kerberos authenticates each
	// request by itself; keeping its identity on the connection trusts
	// everything in front of the server not to mix users on a connection.
	ReuseAll
)

// keeps reports whether an identity authenticated by package pkg stays.
func (r Reuse) keeps(pkg string) bool {
	switch r {
	case ReuseAll:
		return true
	case ReuseNTLM:
		return strings.EqualFold(pkg, "NTLM")
	}
	return false
}

// ServerConfig configures an Authenticator. The zero value offers
// Negotiate and NTLM with Extended Protection when clients support it.
type ServerConfig struct {
	// Schemes are offered in this order in a 401's WWW-Authenticate
	// headers; requests under other schemes get a 401. Default Negotiate,
	// then NTLM.
	Schemes []Scheme
	// Flags are the ASC_REQ flags of every AcceptSecurityContext call.
	// The Authenticator adds ServerReqAllowMissingBindings itself under
	// ProtectionAllow.
	Flags flags.ServerReq
	// ExtendedProtection binds handshakes over TLS to the TLS channel.
	ExtendedProtection ExtendedProtection
	// Reuse says which identities stay on their connection.
	Reuse Reuse
	// MaxHandshakes bounds the handshakes waiting for a client's next
	// token, over all connections; when a new one would exceed it, the
	// one idle longest is dropped. Default 4096.
	MaxHandshakes int
	// HandshakeTimeout drops a handshake whose client has not sent its
	// next token for this long. Default one minute.
	HandshakeTimeout time.Duration
	// MaxHeaderBytes bounds the Authorization header; a longer one gets a
	// 400. Default 64 KiB, room for a Kerberos ticket with a large PAC.
	MaxHeaderBytes int
	// Now is the clock that context expiry is checked against: a
	// connection's identity is dropped once its context's lifetime is
	// over. Default time.Now; tests pass the fake machine's clock.
	Now func() time.Time
	// ErrorLog receives backend faults and configuration mistakes; nil
	// means the log package's standard logger.
	ErrorLog *log.Logger
}

// Identity is the authenticated client of a request.
type Identity struct {
	Name    string   // DOMAIN\user, as the security package names the client
	Domain  string   // the part of Name before the backslash
	User    string   // the part of Name after the backslash
	SID     string   // the user's SID, from the access token
	Groups  []string // the group SIDs of the access token
	Package string   // the security package that authenticated: "NTLM" or "Kerberos"
	Scheme  Scheme   // the HTTP scheme the client used
}

type identityKey struct{}

// IdentityFrom returns the identity the Authenticator put in a request's
// context. The Groups slice is the caller's own copy.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	if !ok {
		return Identity{}, false
	}
	c := *id
	c.Groups = append([]string(nil), id.Groups...)
	return c, true
}

// Authenticator is HTTP Negotiate and NTLM authentication for a net/http
// server: Wrap a handler with it, and give the http.Server its connection
// hooks with Configure. It keeps each handshake with its TCP connection,
// as NTLM and SPNEGO over NTLM need.
//
// An Authenticator is safe for concurrent use. Close it to release its
// credentials and every context it holds.
type Authenticator struct {
	creds      map[Scheme]*sspictx.Credentials
	schemes    []Scheme
	challenges []string
	cfg        ServerConfig
	closed     atomic.Bool
	logOnce    sync.Map // messages logged once

	mu       sync.Mutex
	conns    map[net.Conn]*conn
	head     *handshake // the pending handshake idle longest
	tail     *handshake
	pending  int
	released bool

	established atomic.Int64
	evicted     atomic.Int64
}

// conn is the authentication state of one connection. Its mu is taken
// before the Authenticator's.
type conn struct {
	a        *Authenticator
	nc       net.Conn
	raw      net.Conn     // under a *tls.Conn, the connection GetCertificate sees
	srv      *http.Server // for the TLS certificate
	mu       sync.Mutex   // serializes handshake steps (HTTP/2 streams) and guards below
	pend     *handshake
	est      *established
	closed   bool
	cert     *tls.Certificate // the certificate GetCertificate chose, if it ran
	bindings []byte           // SEC_CHANNEL_BINDINGS for the connection, once known
	bound    bool             // bindings computed (possibly to nil)
}

// handshake is a server context waiting for the client's next token. It
// is in the Authenticator's list, oldest first, exactly while it waits.
type handshake struct {
	ctx        *sspictx.ServerContext
	scheme     Scheme
	legs       int
	idleSince  time.Time
	listed     bool
	prev, next *handshake
}

// established is a connection's identity kept for later requests.
type established struct {
	ctx    *sspictx.ServerContext
	id     *Identity
	expiry time.Time // zero: never
}

// maxLegs bounds the tokens of one handshake: NTLM needs two, SPNEGO
// over NTLM two, Kerberos one or two.
const maxLegs = 6

// NewAuthenticator acquires inbound credentials from store for each
// configured scheme (the process's own, as a service uses) and returns the
// middleware.
func NewAuthenticator(store *sspictx.Store, cfg ServerConfig) (*Authenticator, error) {
	schemes, err := checkSchemes(cfg.Schemes)
	if err != nil {
		return nil, err
	}
	if !cfg.ExtendedProtection.valid() {
		return nil, fmt.Errorf("sspihttp: invalid ExtendedProtection %d", cfg.ExtendedProtection)
	}
	if err := cfg.Flags.Validate(); err != nil {
		return nil, fmt.Errorf("sspihttp: ServerConfig.Flags: %w", err)
	}
	if cfg.MaxHandshakes <= 0 {
		cfg.MaxHandshakes = 4096
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = time.Minute
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 64 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch cfg.ExtendedProtection {
	case ProtectionAllow:
		cfg.Flags |= flags.ServerReqAllowMissingBindings
	case ProtectionRequire, ProtectionOff:
		cfg.Flags &^= flags.ServerReqAllowMissingBindings
	}
	a := &Authenticator{creds: make(map[Scheme]*sspictx.Credentials), schemes: schemes, cfg: cfg, conns: make(map[net.Conn]*conn)}
	for _, s := range schemes {
		c, err := store.AcquireCredentials(string(s), flags.Inbound, nil)
		if err != nil {
			a.releaseCreds()
			return nil, fmt.Errorf("sspihttp: acquiring inbound %s credentials: %w", s, err)
		}
		a.creds[s] = c
		a.challenges = append(a.challenges, string(s))
	}
	return a, nil
}

func (a *Authenticator) releaseCreds() error {
	var errs []error
	for s, c := range a.creds {
		if err := c.Release(); err != nil {
			errs = append(errs, err)
		}
		delete(a.creds, s)
	}
	return errors.Join(errs...)
}

// Configure installs the Authenticator's connection hooks on srv,
// calling any ConnContext and ConnState hooks srv already had. Without
// them the middleware cannot tell connections apart and answers 500.
//
// For Extended Protection the Authenticator must know the certificate the
// server presented on each TLS connection, which Go's tls.ConnectionState
// does not say. When srv.TLSConfig has a GetCertificate function,
// Configure replaces TLSConfig with a copy whose GetCertificate records
// the choice; otherwise a TLSConfig with exactly one certificate is used.
// Call Configure after setting TLSConfig. (ListenAndServeTLS with file
// names loads the certificate where Configure cannot see it: load it into
// TLSConfig.Certificates instead and pass empty names.)
func (a *Authenticator) Configure(srv *http.Server) {
	prevCtx, prevState := srv.ConnContext, srv.ConnState
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prevCtx != nil {
			ctx = prevCtx(ctx, c)
		}
		return a.ConnContext(ctx, c)
	}
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		a.ConnState(c, s)
		if prevState != nil {
			prevState(c, s)
		}
	}
	if srv.TLSConfig != nil && srv.TLSConfig.GetCertificate != nil {
		cfg := srv.TLSConfig.Clone()
		get := cfg.GetCertificate
		cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert, err := get(hello)
			if cert != nil && hello.Conn != nil {
				a.recordCertificate(hello.Conn, cert)
			}
			return cert, err
		}
		srv.TLSConfig = cfg
	}
}

type connKey struct{}

// ConnContext is an http.Server ConnContext hook that gives each
// connection its authentication state. Configure installs it; call it
// yourself only when you compose your own hooks, together with ConnState.
func (a *Authenticator) ConnContext(ctx context.Context, nc net.Conn) context.Context {
	c := &conn{a: a, nc: nc}
	c.srv, _ = ctx.Value(http.ServerContextKey).(*http.Server)
	if tc, ok := nc.(*tls.Conn); ok {
		c.raw = tc.NetConn()
	}
	a.mu.Lock()
	a.conns[nc] = c
	if c.raw != nil {
		a.conns[c.raw] = c
	}
	a.mu.Unlock()
	return context.WithValue(ctx, connKey{}, c)
}

// ConnState is an http.Server ConnState hook that deletes a connection's
// contexts when it closes or is hijacked. Configure installs it.
func (a *Authenticator) ConnState(nc net.Conn, s http.ConnState) {
	if s != http.StateClosed && s != http.StateHijacked {
		return
	}
	a.mu.Lock()
	c := a.conns[nc]
	a.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	h := a.takePending(c)
	e := c.est
	c.est = nil
	c.mu.Unlock()
	a.mu.Lock()
	delete(a.conns, c.nc)
	if c.raw != nil {
		delete(a.conns, c.raw)
	}
	a.mu.Unlock()
	a.drop(h, e)
}

// recordCertificate notes the certificate chosen for a raw connection.
func (a *Authenticator) recordCertificate(raw net.Conn, cert *tls.Certificate) {
	a.mu.Lock()
	c := a.conns[raw]
	a.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		c.cert = cert
		c.mu.Unlock()
	}
}

// drop deletes a handshake's and an identity's contexts; either may be nil.
func (a *Authenticator) drop(h *handshake, e *established) {
	if h != nil {
		_ = h.ctx.Delete()
	}
	if e != nil {
		_ = e.ctx.Delete()
		a.established.Add(-1)
	}
}

// Stats is a snapshot of what an Authenticator holds.
type Stats struct {
	Connections int   // connections the hooks know of
	Pending     int   // handshakes waiting for the client's next token
	Established int   // connections keeping an identity
	Evicted     int64 // handshakes dropped to honour MaxHandshakes or HandshakeTimeout, ever
}

// Stats returns what the Authenticator holds now.
func (a *Authenticator) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for k, c := range a.conns {
		if k == c.nc {
			n++
		}
	}
	return Stats{Connections: n, Pending: a.pending, Established: int(a.established.Load()), Evicted: a.evicted.Load()}
}

// Close deletes every context the Authenticator holds and releases its
// credentials. Requests after Close get 503.
func (a *Authenticator) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	a.mu.Lock()
	conns := make([]*conn, 0, len(a.conns))
	for k, c := range a.conns {
		if k == c.nc {
			conns = append(conns, c)
		}
	}
	a.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock() // waits for a step in progress on c
		h := a.takePending(c)
		e := c.est
		c.est = nil
		c.mu.Unlock()
		a.drop(h, e)
	}
	a.mu.Lock()
	var rest []*handshake
	for h := a.head; h != nil; h = a.head {
		a.unlink(h)
		rest = append(rest, h)
	}
	a.released = true
	a.mu.Unlock()
	for _, h := range rest {
		a.drop(h, nil)
	}
	return a.releaseCreds()
}

// unlink removes h from the pending list; a.mu is held.
func (a *Authenticator) unlink(h *handshake) {
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		a.head = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		a.tail = h.prev
	}
	h.prev, h.next, h.listed = nil, nil, false
	a.pending--
}

// takePending takes c's waiting handshake out of the list for the caller
// to step or delete; c.mu is held. It returns nil if there is none, or if
// it was evicted meanwhile (the evictor deletes it).
func (a *Authenticator) takePending(c *conn) *handshake {
	h := c.pend
	if h == nil {
		return nil
	}
	c.pend = nil
	a.mu.Lock()
	listed := h.listed
	if listed {
		a.unlink(h)
	}
	a.mu.Unlock()
	if !listed {
		return nil
	}
	return h
}

// park puts h back as c's waiting handshake, evicting the handshakes idle
// too long and, beyond MaxHandshakes, the one idle longest; c.mu is held.
func (a *Authenticator) park(c *conn, h *handshake) {
	now := time.Now()
	h.idleSince = now
	var victims []*handshake
	a.mu.Lock()
	if c.closed || a.released || a.closed.Load() {
		a.mu.Unlock()
		a.drop(h, nil)
		return
	}
	for v := a.head; v != nil && (a.pending >= a.cfg.MaxHandshakes || now.Sub(v.idleSince) > a.cfg.HandshakeTimeout); v = a.head {
		a.unlink(v)
		victims = append(victims, v)
	}
	h.prev, h.listed = a.tail, true
	if a.tail != nil {
		a.tail.next = h
	} else {
		a.head = h
	}
	a.tail = h
	a.pending++
	a.mu.Unlock()
	c.pend = h
	for _, v := range victims {
		a.drop(v, nil)
		a.evicted.Add(1)
	}
}

// Wrap returns a handler that authenticates each request before next
// sees it, with the identity in the request's context (IdentityFrom).
func (a *Authenticator) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, next) })
}

func (a *Authenticator) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	c, _ := r.Context().Value(connKey{}).(*conn)
	if c == nil || c.a != a {
		a.logOncef("no-hooks", "sspihttp: the http.Server lacks the Authenticator's connection hooks; call Authenticator.Configure(srv) before serving")
		http.Error(w, "authentication is misconfigured", http.StatusInternalServerError)
		return
	}
	if a.closed.Load() {
		http.Error(w, "authentication is shut down", http.StatusServiceUnavailable)
		return
	}
	if a.cfg.ExtendedProtection == ProtectionRequire && r.TLS == nil {
		http.Error(w, "authentication requires TLS", http.StatusForbidden)
		return
	}
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		if id := a.reuse(c); id != nil {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
			return
		}
		a.challenge(w)
		return
	case len(values) > 1:
		a.badRequest(w, c, "more than one Authorization header")
		return
	}
	name, tok, err := parseAuthorization(values[0], a.cfg.MaxHeaderBytes)
	scheme, offered := a.offered(name)
	switch {
	case errors.Is(err, errTooLarge), name == "":
		a.badRequest(w, c, err.Error())
		return
	case !offered:
		a.challenge(w) // Basic, Digest, Bearer...: not ours; offer ours
		return
	case err != nil:
		a.badRequest(w, c, err.Error())
		return
	case tok == nil:
		a.badRequest(w, c, "the "+string(scheme)+" credentials carry no token")
		return
	}
	res := a.step(c, r, scheme, tok)
	switch {
	case res.err != nil:
		code := statusFor(res.err)
		if code == http.StatusInternalServerError {
			a.cfg.logf("sspihttp: %s handshake from %s: %v", scheme, r.RemoteAddr, res.err)
			http.Error(w, "authentication failed on the server", code)
			return
		}
		a.challenge(w)
	case res.id == nil: // the handshake goes on
		w.Header().Set("WWW-Authenticate", formatToken(scheme, res.out))
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
	default:
		if len(res.out) > 0 {
			w.Header().Set("WWW-Authenticate", formatToken(scheme, res.out))
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, res.id)))
	}
}

// offered returns the configured scheme a header's scheme name names
// (case-insensitively, RFC 9110 section 11.1).
func (a *Authenticator) offered(name string) (Scheme, bool) {
	for _, s := range a.schemes {
		if strings.EqualFold(name, string(s)) {
			return s, true
		}
	}
	return "", false
}

// challenge answers 401 with one WWW-Authenticate header per scheme.
func (a *Authenticator) challenge(w http.ResponseWriter) {
	h := w.Header()
	for _, c := range a.challenges {
		h.Add("WWW-Authenticate", c)
	}
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

// badRequest answers 400 and drops the connection's waiting handshake: a
// broken header in the middle of one is a protocol error.
func (a *Authenticator) badRequest(w http.ResponseWriter, c *conn, why string) {
	c.mu.Lock()
	h := a.takePending(c)
	c.mu.Unlock()
	a.drop(h, nil)
	http.Error(w, "bad Authorization header: "+why, http.StatusBadRequest)
}

// reuse returns the connection's kept identity, or nil; an expired one is
// dropped.
func (a *Authenticator) reuse(c *conn) *Identity {
	c.mu.Lock()
	e := c.est
	if e == nil {
		c.mu.Unlock()
		return nil
	}
	if e.expiry.IsZero() || a.cfg.Now().Before(e.expiry) {
		c.mu.Unlock()
		return e.id
	}
	c.est = nil
	c.mu.Unlock()
	a.drop(nil, e)
	return nil
}

// stepResult is the outcome of one handshake step: an error, a token to
// send with a 401 (id nil), or an identity and the final token.
type stepResult struct {
	out []byte
	id  *Identity
	err error
}

// step runs one AcceptSecurityContext for the client's token on c.
func (a *Authenticator) step(c *conn, r *http.Request, scheme Scheme, tok []byte) stepResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.closed.Load() {
		return stepResult{err: errClosed}
	}
	h := a.takePending(c)
	if h != nil && time.Since(h.idleSince) > a.cfg.HandshakeTimeout {
		a.drop(h, nil)
		a.evicted.Add(1)
		h = nil
	}
	if h != nil && (h.scheme != scheme || isFirstToken(tok)) {
		a.drop(h, nil) // a new first token restarts (RFC 4559 section 5)
		h = nil
	}
	if h == nil {
		if !isFirstToken(tok) {
			return stepResult{err: errNoHandshake}
		}
		if e := c.est; e != nil { // the client authenticates anew
			c.est = nil
			a.drop(nil, e)
		}
		h = &handshake{scheme: scheme, ctx: a.creds[scheme].NewServerContext(a.cfg.Flags)}
		b, err := a.bindings(c, r)
		if err != nil {
			return stepResult{err: err}
		}
		if b != nil {
			h.ctx.SetChannelBindings(b)
		}
	}
	h.legs++
	out, done, err := h.ctx.Step(tok)
	if err != nil {
		return stepResult{err: err} // Step deleted the context
	}
	if !done {
		if h.legs >= maxLegs {
			a.drop(h, nil)
			return stepResult{err: errTooManyLegs}
		}
		a.park(c, h)
		return stepResult{out: out}
	}
	id, expiry, err := a.identity(h.ctx, scheme)
	if err == nil && a.cfg.ExtendedProtection == ProtectionRequire && r.TLS != nil {
		err = checkBound(id.Package, tok)
	}
	if err != nil {
		a.drop(h, nil)
		return stepResult{err: err}
	}
	if a.cfg.Reuse.keeps(id.Package) && !c.closed {
		c.est = &established{ctx: h.ctx, id: id, expiry: expiry}
		a.established.Add(1)
	} else {
		a.drop(h, nil)
	}
	return stepResult{out: out, id: id}
}

// checkBound enforces ProtectionRequire where the token shows it: an NTLM
// client must have sent MsvAvChannelBindings, which the security package
// has compared with the server's. A Kerberos authenticator is encrypted,
// so there the package's own enforcement (no ASC_REQ_ALLOW_MISSING_BINDINGS)
// is all there is.
func checkBound(pkg string, last []byte) error {
	if !strings.EqualFold(pkg, "NTLM") {
		return nil
	}
	if auth := ntlmAuthenticateOf(last); auth != nil && ntlmBindsChannel(auth) {
		return nil
	}
	return errUnbound
}

// bindings returns the channel bindings for the request's TLS connection,
// nil when there are none to pass; c.mu is held.
func (a *Authenticator) bindings(c *conn, r *http.Request) ([]byte, error) {
	if a.cfg.ExtendedProtection == ProtectionOff || r.TLS == nil {
		return nil, nil
	}
	if !c.bound {
		c.bound = true
		leaf, err := serverLeaf(c)
		if err != nil {
			a.logOncef("leaf", "sspihttp: Extended Protection: %v", err)
		} else if leaf != nil {
			c.bindings = ChannelBindings(leaf)
		}
	}
	if c.bindings == nil {
		if a.cfg.ExtendedProtection == ProtectionRequire {
			return nil, errNoCertificate
		}
		a.logOncef("no-cert", "sspihttp: Extended Protection: the certificate this server presents is unknown, so handshakes over TLS are not bound to their channel (see Authenticator.Configure)")
	}
	return c.bindings, nil
}

// serverLeaf returns the certificate the server presented on c; c.mu is held.
func serverLeaf(c *conn) (*x509.Certificate, error) {
	cert := c.cert
	if cert == nil && c.srv != nil && c.srv.TLSConfig != nil && len(c.srv.TLSConfig.Certificates) == 1 {
		cert = &c.srv.TLSConfig.Certificates[0]
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, nil
	}
	if cert.Leaf != nil {
		return cert.Leaf, nil
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parsing the server certificate: %w", err)
	}
	return leaf, nil
}

// identity reads who the client of an established context is.
func (a *Authenticator) identity(ctx *sspictx.ServerContext, scheme Scheme) (*Identity, time.Time, error) {
	name, err := ctx.UserName()
	if err != nil {
		return nil, time.Time{}, err
	}
	pkg, err := selectedPackage(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	id := &Identity{Name: name, User: name, Package: pkg, Scheme: scheme}
	if d, u, ok := strings.Cut(name, `\`); ok {
		id.Domain, id.User = d, u
	}
	tok, err := ctx.AccessToken()
	switch {
	case err == nil:
		ti, err := tok.Info()
		cerr := tok.Close()
		if err != nil {
			return nil, time.Time{}, err
		}
		if cerr != nil {
			return nil, time.Time{}, cerr
		}
		id.SID, id.Groups = ti.SID, ti.Groups
	case !errors.Is(err, sspictx.StatusUnsupportedFunction):
		return nil, time.Time{}, err
	}
	var expiry time.Time
	if life, err := ctx.Lifespan(); err == nil {
		expiry = life.Expiry
	}
	return id, expiry, nil
}

// selectedPackage names the package that authenticated: for a Negotiate
// context that may report itself as Negotiate, the one it negotiated
// (SECPKG_ATTR_NEGOTIATION_INFO), so that Reuse and Require can tell NTLM
// from Kerberos.
func selectedPackage(ctx *sspictx.ServerContext) (string, error) {
	info, err := ctx.PackageInfo()
	if err != nil || !strings.EqualFold(info.Name, string(Negotiate)) {
		return info.Name, err
	}
	name := info.Name
	err = ctx.Raw(func(b backend.Backend, h backend.Handle) error {
		v, err := b.QueryContextAttributes(h, backend.AttrNegotiationInfo)
		if ni, ok := v.(backend.NegotiationInfo); err == nil && ok && ni.Package.Name != "" {
			name = ni.Package.Name
		}
		return nil // without it, the name stays Negotiate: neither kept nor checked as NTLM
	})
	return name, err
}

// Errors the middleware makes itself.
var (
	errClosed        = errors.New("sspihttp: the Authenticator is closed")
	errNoHandshake   = errors.New("sspihttp: a continuation token without a handshake on this connection")
	errTooManyLegs   = errors.New("sspihttp: the handshake takes too many legs")
	errUnbound       = errors.New("sspihttp: Extended Protection requires the client to bind its NTLM logon to the TLS channel, and it did not")
	errNoCertificate = errors.New("sspihttp: Extended Protection is required but the certificate this server presents is unknown (see Authenticator.Configure)")
)

// statusFor maps a failed step onto the HTTP answer: 401 when the client
// did not authenticate, 500 when the server could not work.
func statusFor(err error) int {
	switch {
	case errors.Is(err, errNoHandshake), errors.Is(err, errTooManyLegs), errors.Is(err, errUnbound):
		return http.StatusUnauthorized
	case errors.Is(err, errClosed):
		return http.StatusServiceUnavailable
	}
	var e *sspictx.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.Status {
	case sspictx.StatusLogonDenied, sspictx.StatusInvalidToken, sspictx.StatusUnknownCredentials,
		sspictx.StatusMessageAltered, sspictx.StatusOutOfSequence, sspictx.StatusBadBindings,
		sspictx.StatusContextExpired, sspictx.StatusTimeSkew, sspictx.StatusWrongPrincipal,
		sspictx.StatusIncompleteMessage, sspictx.StatusInvalidHandle, sspictx.StatusNoAuthenticatingAuthority,
		sspictx.StatusQOPNotSupported, sspictx.StatusCannotPack, sspictx.StatusNoImpersonation,
		sspictx.StatusBadPkgID, sspictx.StatusUnfinishedContextDeleted:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

func (cfg *ServerConfig) logf(format string, args ...any) {
	if cfg.ErrorLog != nil {
		cfg.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// logOncef logs a configuration problem once per Authenticator.
func (a *Authenticator) logOncef(key, format string, args ...any) {
	if _, seen := a.logOnce.LoadOrStore(key, true); !seen {
		a.cfg.logf(format, args...)
	}
}
