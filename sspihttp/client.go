package sspihttp

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"

	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// ClientConfig configures a Transport. The zero value answers Negotiate
// and NTLM and sends channel bindings over TLS.
type ClientConfig struct {
	// Base is the transport whose settings (proxy, dialer, TLS config,
	// timeouts) each connection's transport copies; nil means
	// http.DefaultTransport's. HTTP/2 is turned off: NTLM and SPNEGO
	// authenticate an HTTP/1.1 connection, and IIS refuses them over
	// HTTP/2.
	Base *http.Transport
	// Schemes are the schemes the client answers, preferred first.
	// Default Negotiate, then NTLM.
	Schemes []Scheme
	// SPN returns the service principal name for a request; default
	// "HTTP/" and the URL's host name.
	SPN func(*http.Request) string
	// Flags are ISC_REQ flags for every InitializeSecurityContext call,
	// besides ClientReqMutualAuth, which the Transport always asks for so
	// that a Kerberos server proves itself too.
	Flags flags.ClientReq
	// ExtendedProtection binds handshakes over TLS to the TLS channel.
	// Under ProtectionRequire the client refuses to authenticate over
	// plain HTTP.
	ExtendedProtection ExtendedProtection
	// MaxConnsPerHost bounds the connections to one host; requests beyond
	// it wait. Zero means no bound.
	MaxConnsPerHost int
	// MaxIdleConnsPerHost bounds the idle connections kept for one host.
	// An idle connection keeps its authentication, so a server that keeps
	// identities on connections serves the next request without a new
	// handshake. Default 8.
	MaxIdleConnsPerHost int
}

// Errors of a Transport's RoundTrip; match them with errors.Is.
var (
	// ErrNotReplayable means the server asked for authentication but the
	// request's body cannot be sent again: set Request.GetBody (as
	// http.NewRequest does for in-memory bodies).
	ErrNotReplayable = errors.New("sspihttp: the request body cannot be sent again for authentication; set Request.GetBody")
	// ErrMutualAuth means the server did not prove itself with its final
	// token, or its token did not verify. The response is not returned.
	ErrMutualAuth = errors.New("sspihttp: the server did not authenticate itself")
	// ErrInsecure means ProtectionRequire refused to authenticate over
	// plain HTTP.
	ErrInsecure = errors.New("sspihttp: Extended Protection is required but the connection is not TLS")
	// ErrTransportClosed is returned by a Transport after Close.
	ErrTransportClosed = errors.New("sspihttp: the Transport is closed")
)

// Transport is an http.RoundTripper that answers a server's 401 with a
// Negotiate or NTLM handshake, as the server offers.
//
// Every leg of a handshake must travel on one TCP connection, which a
// shared http.Transport does not promise: between two legs another
// request may take the connection. So a Transport gives each of its
// connections a private http.Transport that holds exactly that one
// connection, and lends it to one request at a time, from its first byte
// to the end of its response body. A handshake can then never change
// connections under another request's feet; if the server closed the
// connection between two legs, the client sees it (the private transport
// dialled anew) and starts the handshake again, once. An idle connection
// stays authenticated for the next request that borrows it.
//
// A Transport is safe for concurrent use. Close releases its
// credentials.
type Transport struct {
	creds   map[Scheme]*sspictx.Credentials
	schemes []Scheme
	cfg     ClientConfig
	base    *http.Transport

	mu     sync.Mutex
	hosts  map[string]*hostConns
	closed bool
}

// hostConns is a host's idle connections and, with MaxConnsPerHost, the
// semaphore that bounds them.
type hostConns struct {
	idle  []*clientConn
	slots chan struct{}
}

// clientConn is one connection: an http.Transport that keeps at most one.
type clientConn struct {
	rt   *http.Transport
	host *hostConns
}

// NewTransport acquires outbound credentials from store for each
// configured scheme, for identity (nil: the process's own user) and
// returns a Transport.
func NewTransport(store *sspictx.Store, identity *sspictx.AuthIdentity, cfg ClientConfig) (*Transport, error) {
	schemes, err := checkSchemes(cfg.Schemes)
	if err != nil {
		return nil, err
	}
	if !cfg.ExtendedProtection.valid() {
		return nil, fmt.Errorf("sspihttp: invalid ExtendedProtection %d", cfg.ExtendedProtection)
	}
	if err := cfg.Flags.Validate(); err != nil {
		return nil, fmt.Errorf("sspihttp: ClientConfig.Flags: %w", err)
	}
	if cfg.MaxIdleConnsPerHost <= 0 {
		cfg.MaxIdleConnsPerHost = 8
	}
	base := cfg.Base
	if base == nil {
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			base = dt
		} else {
			base = &http.Transport{Proxy: http.ProxyFromEnvironment}
		}
	}
	t := &Transport{creds: make(map[Scheme]*sspictx.Credentials), schemes: schemes, cfg: cfg, base: base, hosts: make(map[string]*hostConns)}
	for _, s := range schemes {
		c, err := store.AcquireCredentials(string(s), flags.Outbound, identity)
		if err != nil {
			for _, c := range t.creds {
				_ = c.Release()
			}
			return nil, fmt.Errorf("sspihttp: acquiring outbound %s credentials: %w", s, err)
		}
		t.creds[s] = c
	}
	return t, nil
}

// Close closes the idle connections and releases the credentials. A
// handshake in progress fails; responses already returned can be read.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	var idle []*clientConn
	for _, h := range t.hosts {
		idle = append(idle, h.idle...)
		h.idle = nil
	}
	t.mu.Unlock()
	for _, c := range idle {
		c.rt.CloseIdleConnections()
	}
	var errs []error
	for _, c := range t.creds {
		if err := c.Release(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CloseIdleConnections closes the connections no request is using.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	var idle []*clientConn
	for _, h := range t.hosts {
		idle = append(idle, h.idle...)
		h.idle = nil
	}
	t.mu.Unlock()
	for _, c := range idle {
		c.rt.CloseIdleConnections()
	}
}

// hostKey names the connections a request can use.
func hostKey(u *http.Request) string {
	host := u.URL.Host
	if u.URL.Port() == "" {
		port := "80"
		if u.URL.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.URL.Hostname(), port)
	}
	return u.URL.Scheme + "://" + strings.ToLower(host)
}

// borrow lends the caller a connection to the request's host.
func (t *Transport) borrow(req *http.Request) (*clientConn, error) {
	key := hostKey(req)
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, ErrTransportClosed
	}
	h := t.hosts[key]
	if h == nil {
		h = &hostConns{}
		if t.cfg.MaxConnsPerHost > 0 {
			h.slots = make(chan struct{}, t.cfg.MaxConnsPerHost)
		}
		t.hosts[key] = h
	}
	t.mu.Unlock()
	if h.slots != nil {
		select {
		case h.slots <- struct{}{}:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	t.mu.Lock()
	if n := len(h.idle); n > 0 {
		c := h.idle[n-1]
		h.idle = h.idle[:n-1]
		t.mu.Unlock()
		return c, nil
	}
	t.mu.Unlock()
	rt := t.base.Clone()
	rt.DisableKeepAlives = false
	rt.MaxConnsPerHost = 1
	rt.MaxIdleConns = 1
	rt.MaxIdleConnsPerHost = 1
	// HTTP/1.1 only. Cloning the base may have put "h2" into its TLS
	// config's ALPN list already; a server would then pick HTTP/2 for a
	// client that does not speak it.
	rt.ForceAttemptHTTP2 = false
	rt.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	if rt.TLSClientConfig != nil {
		rt.TLSClientConfig = rt.TLSClientConfig.Clone()
		rt.TLSClientConfig.NextProtos = slices.DeleteFunc(rt.TLSClientConfig.NextProtos, func(p string) bool { return p == "h2" })
	}
	return &clientConn{rt: rt, host: h}, nil
}

// giveBack returns a connection to its host's idle list, or closes it.
func (t *Transport) giveBack(c *clientConn) {
	t.mu.Lock()
	keep := !t.closed && len(c.host.idle) < t.cfg.MaxIdleConnsPerHost
	if keep {
		c.host.idle = append(c.host.idle, c)
	}
	t.mu.Unlock()
	if !keep {
		c.rt.CloseIdleConnections()
	}
	if c.host.slots != nil {
		<-c.host.slots
	}
}

// RoundTrip sends the request on a connection of its own and, if the
// server answers 401 with a scheme the Transport speaks, authenticates
// the connection and sends the request again. The response's body keeps
// the connection until it is read to the end or closed.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c, err := t.borrow(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.roundTrip(c, req)
	if err != nil {
		t.giveBack(c)
		return nil, err
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		t.giveBack(c)
		return resp, nil
	}
	resp.Body = &connBody{ReadCloser: resp.Body, release: func() { t.giveBack(c) }}
	return resp, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// roundTrip is RoundTrip on a borrowed connection.
func (t *Transport) roundTrip(c *clientConn, req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" { // the caller authenticates itself
		return c.rt.RoundTrip(req)
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	scheme, ok := t.pick(resp)
	if !ok {
		return resp, nil
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		discard(resp)
		return nil, ErrNotReplayable
	}
	if t.cfg.ExtendedProtection == ProtectionRequire && resp.TLS == nil {
		discard(resp)
		return nil, ErrInsecure
	}
	discard(resp)
	for attempt := 0; ; attempt++ {
		last, lost, err := t.handshake(c, req, scheme, resp.TLS)
		if err != nil || !lost || attempt == 1 {
			return last, err
		}
		discard(last) // the server lost the handshake with its connection: once more
	}
}

// pick chooses the scheme to answer a 401 with.
func (t *Transport) pick(resp *http.Response) (Scheme, bool) {
	offered := parseChallenges(resp.Header.Values("WWW-Authenticate"))
	for _, s := range t.schemes {
		for _, c := range offered {
			if strings.EqualFold(c.scheme, string(s)) {
				return s, true
			}
		}
	}
	return "", false
}

// handshake authenticates the connection under scheme and returns the
// response to the request's last leg. lost reports a handshake the
// server dropped because a leg arrived on a new connection.
func (t *Transport) handshake(c *clientConn, req *http.Request, scheme Scheme, tlsState *tls.ConnectionState) (resp *http.Response, lost bool, err error) {
	spn := "HTTP/" + req.URL.Hostname()
	if t.cfg.SPN != nil {
		spn = t.cfg.SPN(req)
	}
	cc := t.creds[scheme].NewClientContext(spn, t.cfg.Flags|flags.ClientReqMutualAuth)
	defer cc.Delete()
	if t.cfg.ExtendedProtection != ProtectionOff && tlsState != nil && len(tlsState.PeerCertificates) > 0 {
		cc.SetChannelBindings(ChannelBindings(tlsState.PeerCertificates[0]))
	}
	var in []byte
	var prevConn net.Conn
	for leg := 0; leg < maxLegs; leg++ {
		out, done, err := cc.Step(in)
		if err != nil {
			return nil, false, fmt.Errorf("sspihttp: %s handshake with %s: %w", scheme, req.URL.Host, err)
		}
		var conn net.Conn
		r, err := t.leg(c, req, formatToken(scheme, out), &conn)
		if err != nil {
			return nil, false, err
		}
		moved := prevConn != nil && conn != prevConn
		prevConn = conn
		tok, hasTok := tokenIn(r, scheme)
		if r.StatusCode == http.StatusUnauthorized {
			if !hasTok || done {
				// Refused: a wrong password, or a handshake the server
				// lost with the connection it started on. Only the
				// latter is worth another try (a retry of a wrong
				// password would count twice against account lockout).
				return r, moved, nil
			}
			discard(r)
			in = tok
			continue
		}
		// Not 401: the handshake is over. A client still waiting for the
		// server's final token (Kerberos' AP-REP, SPNEGO's mechListMIC)
		// checks it before it believes a successful response; an error
		// response (a 500 for a fault on the server) goes to the caller
		// as it is.
		if !done && r.StatusCode < 400 {
			if !hasTok {
				discard(r)
				return nil, false, fmt.Errorf("%w: %s sent no final %s token", ErrMutualAuth, req.URL.Host, scheme)
			}
			if _, done, err = cc.Step(tok); err != nil || !done {
				discard(r)
				if err == nil {
					err = errors.New("the handshake is still not complete")
				}
				return nil, false, fmt.Errorf("%w: %s: %w", ErrMutualAuth, req.URL.Host, err)
			}
		}
		return r, false, nil
	}
	return nil, false, fmt.Errorf("sspihttp: %s handshake with %s takes more than %d legs", scheme, req.URL.Host, maxLegs)
}

// leg sends one leg of a handshake: the request again, with a fresh copy
// of its body and the token, noting which connection carried it.
func (t *Transport) leg(c *clientConn, req *http.Request, auth string, conn *net.Conn) (*http.Response, error) {
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { *conn = i.Conn },
	})
	r := req.Clone(ctx)
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		b, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("sspihttp: Request.GetBody: %w", err)
		}
		r.Body = b
	}
	r.Header.Set("Authorization", auth)
	return c.rt.RoundTrip(r)
}

// tokenIn returns the token of scheme in a response's WWW-Authenticate.
func tokenIn(resp *http.Response, scheme Scheme) ([]byte, bool) {
	for _, c := range parseChallenges(resp.Header.Values("WWW-Authenticate")) {
		if !strings.EqualFold(c.scheme, string(scheme)) || c.token == "" {
			continue
		}
		tok, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(c.token, "="))
		if err != nil || len(tok) == 0 {
			return nil, false
		}
		return tok, true
	}
	return nil, false
}

// discard reads a little of an unwanted response's body, so that its
// connection can carry the next leg, and closes it.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

// connBody gives a borrowed connection back once the caller has read the
// response body to its end or closed it.
type connBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *connBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.release)
	}
	return n, err
}

func (b *connBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

var _ http.RoundTripper = (*Transport)(nil)
