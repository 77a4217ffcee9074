package fake

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/krb5/ap"
	"github.com/gosspi/gosspi/internal/krb5/client"
	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// kerberosPkg is Kerberos (RFC 4120, RFC 4121, MS-KILE) with the values
// Windows reports for it. Negotiate offers it first (negotiate.go).
var kerberosPkg = &pkgDesc{
	info: backend.PackageInfo{
		Name:         "Kerberos",
		Comment:      "Microsoft Kerberos V1.0",
		Capabilities: 0x000F3FBF,
		Version:      1,
		RPCID:        16,
		MaxToken:     48000,
	},
	sizes: kerberosSizes,
	oid:   gss.OIDKerberos,
	mech:  kerberosMech{},
}

// kerberosSizes are what Windows reports for a Kerberos context with the
// AES types: a 28-byte MIC token, and a 60-byte trailer for a sealed Wrap
// token in EncryptMessage's layout; AES in CTS mode needs no padding.
var kerberosSizes = backend.Sizes{MaxToken: 48000, MaxSignature: gss.MICSize, BlockSize: 1, SecurityTrailer: gss.SealTrailerSize}

// kerberosMech runs the AP exchange with tickets from the machine's
// domain KDC: the client sends an AP-REQ and, with mutual authentication,
// finishes on the server's AP-REP; then a gss.Session protects messages.
type kerberosMech struct{}

func (kerberosMech) client(_ *host, cfg clientConfig) handshake {
	return &krbInitiator{cfg: cfg, first: true}
}

func (kerberosMech) server(h *host) handshake { return &krbAcceptor{explicit: h.explicit} }

// unavailable says that the host's machine is in no domain: start would
// fail with SEC_E_NO_AUTHENTICATING_AUTHORITY.
func (kerberosMech) unavailable(h *host) bool { return h.m.dom == nil }

// clientFlags is what Kerberos grants of a client request.
func (kerberosMech) clientFlags(req flags.ClientReq) flags.ClientRet {
	const same = flags.ClientReqMutualAuth | flags.ClientReqReplayDetect | flags.ClientReqSequenceDetect |
		flags.ClientReqConfidentiality | flags.ClientReqIntegrity | flags.ClientReqConnection | flags.ClientReqIdentify
	ret := flags.ClientRet(req & same)
	if req&flags.ClientReqAllocateMemory != 0 {
		ret |= flags.ClientRetAllocatedMemory
	}
	return ret
}

// serverFlags is what Kerberos grants of a server request.
func (kerberosMech) serverFlags(req flags.ServerReq) flags.ServerRet {
	const same = flags.ServerReqMutualAuth | flags.ServerReqReplayDetect | flags.ServerReqSequenceDetect |
		flags.ServerReqConfidentiality | flags.ServerReqIntegrity | flags.ServerReqConnection | flags.ServerReqIdentify
	ret := flags.ServerRet(req & same)
	if req&flags.ServerReqAllocateMemory != 0 {
		ret |= flags.ServerRetAllocatedMemory
	}
	return ret
}

// gssFlags are the authenticator checksum flags of an ISC request.
// Windows always asks for integrity: its Kerberos contexts can sign
// whatever the request said.
func gssFlags(req flags.ClientReq) gss.Flags {
	f := gss.FlagInteg
	for _, m := range []struct {
		r flags.ClientReq
		g gss.Flags
	}{
		{flags.ClientReqMutualAuth, gss.FlagMutual},
		{flags.ClientReqReplayDetect, gss.FlagReplay},
		{flags.ClientReqSequenceDetect, gss.FlagSequence},
		{flags.ClientReqConfidentiality, gss.FlagConf},
		{flags.ClientReqIdentify, gss.FlagIdentify},
	} {
		if req&m.r != 0 {
			f |= m.g
		}
	}
	return f
}

// krbStatus maps a Kerberos failure onto its SSPI status.
func krbStatus(err error) backend.Status {
	switch {
	case errors.Is(err, errUnreachable):
		return backend.StatusNoAuthenticatingAuthority
	case errors.Is(err, ap.ErrBindings):
		return backend.StatusBadBindings
	case errors.Is(err, gss.ErrModified):
		return backend.StatusMessageAltered
	case errors.Is(err, gss.ErrOutOfSequence):
		return backend.StatusOutOfSequence
	}
	var code msg.ErrorCode
	if !errors.As(err, &code) {
		if errors.Is(err, gss.ErrMalformed) || errors.Is(err, msg.ErrMalformed) {
			return backend.StatusInvalidToken
		}
		return backend.StatusLogonDenied
	}
	switch code {
	case msg.KDCErrSPrincipalUnknown:
		return backend.StatusTargetUnknown
	case msg.KDCErrCPrincipalUnknown, msg.KDCErrPreauthFailed, msg.KDCErrClientRevoked, msg.KDCErrKeyExpired:
		// An unknown user is SEC_E_LOGON_DENIED too: Windows does not tell
		// a wrong name from a wrong password.
		return backend.StatusLogonDenied
	case msg.KRBAPErrSkew:
		return backend.StatusTimeSkew
	case msg.KRBAPErrTktExpired, msg.KDCErrNameExp, msg.KDCErrServiceExp:
		return backend.StatusContextExpired
	case msg.KRBAPErrNotUs, msg.KRBAPErrBadKeyVer, msg.KRBAPErrNoKey, msg.KRBAPErrModified, msg.KRBAPErrBadIntegrity:
		// A ticket the server has no key for: Windows' client reports the
		// server's KRB_AP_ERR_MODIFIED as SEC_E_WRONG_PRINCIPAL.
		return backend.StatusWrongPrincipal
	case msg.KRBAPErrRepeat:
		return backend.StatusOutOfSequence
	case msg.KRBAPErrMutFail:
		return backend.StatusMessageAltered
	}
	return backend.StatusLogonDenied
}

// kdcStatus maps a failure to get a ticket: one that is no Kerberos error
// is the KDC not answering. A KDC reply the client's key cannot decrypt
// (KRB_AP_ERR_BAD_INTEGRITY) is a wrong password: a user without
// pre-authentication gets an AS-REP whatever password it has, and Windows
// reports that as SEC_E_LOGON_DENIED like a failed pre-authentication.
func kdcStatus(err error) backend.Status {
	var code msg.ErrorCode
	if !errors.As(err, &code) {
		return backend.StatusNoAuthenticatingAuthority
	}
	if code == msg.KRBAPErrBadIntegrity {
		return backend.StatusLogonDenied
	}
	return krbStatus(err)
}

// channelBindings returns the MD5 of SEC_CHANNEL_BINDINGS, or nil.
func channelBindings(b []byte) (*[gss.BindingsSize]byte, error) {
	h, err := bindingsHash(b)
	if err != nil || h == nil {
		return nil, err
	}
	var out [gss.BindingsSize]byte
	copy(out[:], h)
	return &out, nil
}

// machineKerberos is a joined machine's Kerberos state: the replay cache
// of its acceptors and the ticket caches of its clients. Windows caches
// tickets per logon session; the fake caches them per machine and
// principal (and password, so a wrong one never uses a right one's TGT).
type machineKerberos struct {
	replay *ap.MemoryReplayCache

	mu      sync.Mutex
	clients map[[32]byte]*krbClient
}

// maxCachedClients bounds the ticket caches of a machine; past it they
// are all dropped, and the next handshakes get tickets again.
const maxCachedClients = 1024

func newMachineKerberos(m *Machine) *machineKerberos {
	return &machineKerberos{replay: &ap.MemoryReplayCache{Now: m.clock}, clients: map[[32]byte]*krbClient{}}
}

// krbClient is one principal's ticket cache. The client.Client inside
// keeps the long-term keys it derived, so a password is stretched once.
type krbClient struct {
	mu      sync.Mutex
	cl      *client.Client
	tgt     *client.Credential
	tickets map[string]*client.Credential // by lower-case SPN
}

// ticket returns a service ticket for spn, from the cache while it is
// valid on the machine's clock, else from the KDC.
func (k *machineKerberos) ticket(h *host, d *Domain, user, password, spn string) (*client.Credential, error) {
	id := sha256.Sum256([]byte(d.realm + "\x00" + strings.ToLower(user) + "\x00" + password))
	k.mu.Lock()
	c, ok := k.clients[id]
	if !ok {
		if len(k.clients) >= maxCachedClients {
			clear(k.clients)
		}
		c = &krbClient{cl: client.New(client.Config{
			Realm: d.realm, Name: msg.NewPrincipal(msg.NTPrincipal, user),
			Key: client.PasswordKeys(password), Exchange: d.exchange,
			Now: h.clock(), Rand: h.rand(),
		}), tickets: map[string]*client.Credential{}}
		k.clients[id] = c
	}
	k.mu.Unlock()

	c.mu.Lock()
	defer c.mu.Unlock()
	now := h.clock()()
	key := strings.ToLower(spn)
	if t, ok := c.tickets[key]; ok && t.Valid(now) {
		return t, nil
	}
	ctx := context.Background()
	if c.tgt == nil || !c.tgt.Valid(now) {
		tgt, err := c.cl.GetTGT(ctx)
		if err != nil {
			return nil, fmt.Errorf("getting a TGT for %s@%s: %w", user, d.realm, err)
		}
		c.tgt = tgt
	}
	t, err := c.cl.GetServiceTicket(ctx, c.tgt, msg.ParsePrincipal(msg.NTSrvHst, spn))
	if err != nil {
		return nil, fmt.Errorf("getting a ticket to %s: %w", spn, err)
	}
	c.tickets[key] = t
	return t, nil
}

// krbInitiator is the client: the AP-REQ on the first step, then, with
// mutual authentication, the check of the server's AP-REP.
type krbInitiator struct {
	cfg   clientConfig
	first bool
	ini   *ap.Initiator // waiting for the AP-REP; nil otherwise
	end   time.Time     // the ticket's end
	// cname and sname are the client's and the service's principal
	// names, for SECPKG_ATTR_NATIVE_NAMES.
	cname, sname string
}

func (c *krbInitiator) step(h *host, in stepIn) (stepOut, error) {
	if c.first {
		if in.token != nil {
			return stepOut{}, refuse(backend.StatusInvalidToken, "a first call takes no input token", nil)
		}
		c.first = false
		return c.start(h)
	}
	if c.ini == nil {
		return stepOut{}, refuse(backend.StatusInternalError, "the Kerberos handshake is over", nil)
	}
	est, err := c.ini.Finish(in.token)
	if err != nil {
		return stepOut{}, refuse(krbStatus(err), "the server's AP-REP is refused", err)
	}
	out, err := c.established(h, est)
	c.ini.Zero()
	c.ini = nil
	return out, err
}

// start gets the ticket and makes the AP-REQ.
func (c *krbInitiator) start(h *host) (stepOut, error) {
	d := h.m.dom
	if d == nil {
		return stepOut{}, abort(backend.StatusNoAuthenticatingAuthority, "the machine is in no domain, so there is no KDC to ask", nil)
	}
	user, dom := c.cfg.user, c.cfg.domain
	if i := strings.LastIndexByte(user, '@'); i > 0 && dom == "" {
		// A UPN (alice@contoso.test) names its domain itself.
		user, dom = user[:i], user[i+1:]
	}
	if dom != "" && !d.isDomain(dom) {
		return stepOut{}, abort(backend.StatusNoAuthenticatingAuthority, fmt.Sprintf("no KDC for domain %q: the machine's domain is %s and has no trusts", dom, d.name), nil)
	}
	spn := c.cfg.target
	if i := strings.LastIndexByte(spn, '@'); i > 0 && strings.EqualFold(spn[i+1:], d.realm) {
		spn = spn[:i] // HTTP/web01.contoso.test@CONTOSO.TEST names the realm too
	}
	if spn == "" {
		return stepOut{}, abort(backend.StatusTargetUnknown, "Kerberos needs a target SPN", nil)
	}
	cb, err := channelBindings(c.cfg.bindings)
	if err != nil {
		return stepOut{}, abort(backend.StatusBadBindings, "the channel bindings do not decode", err)
	}
	cred, err := h.m.krb.ticket(h, d, user, c.cfg.password, spn)
	if err != nil {
		return stepOut{}, abort(kdcStatus(err), "", err)
	}
	cfg := ap.InitiatorConfig{
		Ticket: cred.Ticket, SessionKey: cred.SessionKey, CRealm: cred.CRealm, CName: cred.CName,
		Flags: gssFlags(c.cfg.req), Now: h.clock(), Rand: h.rand(),
	}
	if cb != nil {
		cfg.Bindings = *cb
	}
	ini, tok, err := ap.Initiate(cfg)
	if err != nil {
		return stepOut{}, abort(backend.StatusInternalError, "building the AP-REQ", err)
	}
	c.end = cred.EndTime
	c.cname = cred.CName.String() + "@" + cred.CRealm
	c.sname = cred.SName.String() + "@" + cred.SRealm
	if ini.NeedsReply() {
		c.ini = ini
		return stepOut{token: tok}, nil
	}
	defer ini.Zero()
	est, err := ini.Established()
	if err != nil {
		return stepOut{}, abort(backend.StatusInternalError, "establishing the context", err)
	}
	out, err := c.established(h, est)
	out.token = tok
	return out, err
}

func (c *krbInitiator) established(h *host, est *ap.Established) (stepOut, error) {
	sess, err := newKrbSession(est.Session, est.Key, h)
	if err != nil {
		return stepOut{}, abort(backend.StatusInternalError, "deriving session keys", err)
	}
	sess.cname, sess.sname = c.cname, c.sname
	return stepOut{sess: sess, expiry: c.end}, nil
}

func (c *krbInitiator) destroy() {
	if c.ini != nil {
		c.ini.Zero()
		c.ini = nil
	}
	c.cfg.password = ""
}

// krbAcceptor is the server: it accepts the AP-REQ with the keys of the
// accounts the process runs as.
type krbAcceptor struct {
	done bool
	// explicit is the identity of a credential acquired with one: the
	// server accepts with that account's keys alone.
	explicit *logon
}

func (s *krbAcceptor) step(h *host, in stepIn) (stepOut, error) {
	if s.done {
		return stepOut{}, refuse(backend.StatusInternalError, "the Kerberos handshake is over", nil)
	}
	s.done = true
	d := h.m.dom
	if d == nil {
		return stepOut{}, abort(backend.StatusNoAuthenticatingAuthority, "the machine is in no domain, so it has no Kerberos keys", nil)
	}
	var keys ap.KeyFunc
	if s.explicit != nil {
		keys = explicitKeys(d, s.explicit)
	} else {
		keys = h.kerberosKeys(d)
	}
	if keys == nil {
		return stepOut{}, abort(backend.StatusNoCredentials, "the process's accounts have no Kerberos keys", nil)
	}
	cb, err := channelBindings(in.bindings)
	if err != nil {
		return stepOut{}, abort(backend.StatusBadBindings, "the server's channel bindings do not decode", err)
	}
	a := ap.Acceptor{
		Key: keys, Now: h.clock(), Rand: h.rand(), Replay: h.m.krb.replay,
		StrictBindings: !in.allowMissingBindings,
		RequirePAC:     true,
	}
	acc, err := a.Accept(in.token, cb)
	if err != nil {
		return stepOut{}, abort(krbStatus(err), "the AP-REQ is refused", err)
	}
	peer := tokenIdentity{domain: d.name, user: strings.Join(acc.CName.NameString, "/")}
	if li := acc.LogonInfo; li != nil {
		if li.EffectiveName != "" {
			peer.user = li.EffectiveName
		}
		if li.LogonDomainName != "" {
			peer.domain = li.LogonDomainName
		}
		if sid := li.UserSID(); sid != nil {
			peer.sid = sid.String()
		}
		peer.groups = []string{"S-1-1-0", "S-1-5-11"} // Everyone, Authenticated Users
		for _, g := range li.GroupSIDs() {
			peer.groups = append(peer.groups, g.String())
		}
	}
	acc.Session.Rand = h.rand()
	sess, err := newKrbSession(acc.Session, acc.Key, h)
	if err != nil {
		return stepOut{}, abort(backend.StatusInternalError, "deriving session keys", err)
	}
	sess.cname = acc.CName.String() + "@" + acc.CRealm
	sess.sname = acc.SName.String() + "@" + d.realm
	return stepOut{token: acc.Output, sess: sess, peer: peer, spn: acc.SName.String(), expiry: acc.Expiry}, nil
}

func (s *krbAcceptor) destroy() {}

// kerberosKeys returns the keys of the accounts a server process accepts
// tickets for: the domain service account it runs as, if any, then the
// machine's computer account. A ticket to an SPN of neither is refused
// with KRB_AP_ERR_NOT_US.
func (h *host) kerberosKeys(d *Domain) ap.KeyFunc {
	var fs []ap.KeyFunc
	if u := h.user; u != nil && (u.domain == "" || d.isDomain(u.domain)) {
		if spn, ok := d.spnOf(u.user); ok {
			if f, err := d.kdc.ServiceKeys(spn); err == nil {
				fs = append(fs, f)
			}
		}
	}
	if spn, ok := d.spnOf(h.m.name + "$"); ok {
		if f, err := d.kdc.ServiceKeys(spn); err == nil {
			fs = append(fs, f)
		}
	}
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return func(realm string, sname msg.PrincipalName, e kcrypto.EType, kvno uint32) (*kcrypto.Key, error) {
		var err error
		for _, f := range fs {
			var k *kcrypto.Key
			if k, err = f(realm, sname, e, kvno); err == nil || !errors.Is(err, msg.KRBAPErrNotUs) {
				return k, err
			}
		}
		return nil, err
	}
}

// explicitKeys are the keys of a server credential's explicit identity:
// a service account of the domain whose password is right. A wrong
// password gives keys that decrypt no ticket, as on Windows: every ticket
// is refused (KRB_AP_ERR_MODIFIED, SEC_E_WRONG_PRINCIPAL).
func explicitKeys(d *Domain, id *logon) ap.KeyFunc {
	user, dom := id.user, id.domain
	if i := strings.LastIndexByte(user, '@'); i > 0 && dom == "" {
		user, dom = user[:i], user[i+1:]
	}
	if dom != "" && !d.isDomain(dom) {
		return nil
	}
	spn, ok := d.spnOf(user)
	if !ok {
		return nil
	}
	if !d.checkSecret(user, id.password) {
		return func(string, msg.PrincipalName, kcrypto.EType, uint32) (*kcrypto.Key, error) {
			return nil, fmt.Errorf("the credential's password is not %s's: %w", user, msg.KRBAPErrModified)
		}
	}
	f, err := d.kdc.ServiceKeys(spn)
	if err != nil {
		return nil
	}
	return f
}

// krbSession is an RFC 4121 session and the position RESET_NEW returns to.
type krbSession struct {
	s *gss.Session
	// etype and keyBuf[:keyLen] are the context's key; the session's
	// derived keys live in s. Kept as bytes, so export copies no Key.
	etype          kcrypto.EType
	keyBuf         [32]byte
	keyLen         uint8
	acceptor       bool
	acceptorSubkey bool
	noSeq          bool
	baseSend       uint64
	baseRecv       uint64
	cname, sname   string // principal@REALM of the client and the service
}

func (s *krbSession) nativeNames() (client, server string) { return s.cname, s.sname }

func newKrbSession(cfg gss.Config, key *kcrypto.Key, h *host) (*krbSession, error) {
	cfg.Key = key
	if h != nil {
		cfg.Rand = h.rand()
	}
	s, err := gss.NewSession(cfg)
	if err != nil {
		return nil, err
	}
	sess := &krbSession{s: s, etype: key.EType(), acceptor: cfg.Acceptor, acceptorSubkey: cfg.AcceptorSubkey, noSeq: cfg.NoSequenceCheck}
	kb := key.Bytes()
	sess.keyLen = uint8(copy(sess.keyBuf[:], kb))
	clear(kb)
	return sess, nil
}

func (s *krbSession) sizes() backend.Sizes { return kerberosSizes }

func (s *krbSession) sign(m, sig []byte) int { return copy(sig, s.s.MIC(m)) }

func (s *krbSession) verify(m, sig []byte) error {
	if err := s.s.VerifyMIC(m, sig); err != nil {
		return refuse(krbMsgStatus(err), "", err)
	}
	return nil
}

// krbMsgStatus maps a per-message failure: a token that does not even
// parse is an altered message too, as Windows reports it.
func krbMsgStatus(err error) backend.Status {
	if errors.Is(err, gss.ErrOutOfSequence) {
		return backend.StatusOutOfSequence
	}
	return backend.StatusMessageAltered
}

func (s *krbSession) seal(m []byte) (sealed, sig []byte) {
	sealed = append([]byte(nil), m...)
	sig = make([]byte, gss.SealTrailerSize)
	return sealed, sig[:s.sealInPlace(sealed, sig)]
}

func (s *krbSession) sealInPlace(m, sig []byte) int {
	n, err := s.s.SealInPlace(m, sig, true)
	if err != nil {
		// The generic code gives SecurityTrailer bytes and the session's
		// own random source; neither fails.
		panic("fake: Kerberos seal: " + err.Error())
	}
	return n
}

func (s *krbSession) unseal(sealed, sig []byte) ([]byte, error) {
	plain := append([]byte(nil), sealed...)
	if err := s.unsealInPlace(plain, sig); err != nil {
		return nil, err
	}
	return plain, nil
}

func (s *krbSession) unsealInPlace(m, sig []byte) error {
	if _, err := s.s.UnsealInPlace(m, sig); err != nil {
		return refuse(krbMsgStatus(err), "", err)
	}
	return nil
}

func (s *krbSession) sessionKey() []byte { return append([]byte(nil), s.keyBytes()...) }

// keyBytes is the context's key: the SESSION_KEY, and what a packed state
// rebuilds the session from.
func (s *krbSession) keyBytes() []byte { return s.keyBuf[:s.keyLen] }

func (s *krbSession) handshakeDone() { s.baseSend, s.baseRecv = s.s.Seq() }

func (s *krbSession) destroy() {
	s.s.Zero()
	clear(s.keyBuf[:])
}

// Kerberos state layout version 1 in a packed context: a flags byte
// (krbStateAcceptor, krbStateAcceptorSubkey, krbStateNoSeq), the key's
// encryption type (4 bytes, little-endian), its length (1) and value, then
// the next send and receive sequence numbers (8+8) and the same two right
// after the handshake, where RESET_NEW returns to; then the client's and
// the service's principal names, each a 2-byte length and UTF-8.
const (
	krbStateV1             = 1
	krbStateAcceptor       = 1 << 0
	krbStateAcceptorSubkey = 1 << 1
	krbStateNoSeq          = 1 << 2
	krbStateFixed          = 1 + 4 + 1 + 4*8
)

func (s *krbSession) appendState(dst []byte, reset bool) (uint8, []byte) {
	var f byte
	if s.acceptor {
		f |= krbStateAcceptor
	}
	if s.acceptorSubkey {
		f |= krbStateAcceptorSubkey
	}
	if s.noSeq {
		f |= krbStateNoSeq
	}
	send, recv := s.s.Seq()
	if reset {
		send, recv = s.baseSend, s.baseRecv
	}
	k := s.keyBytes()
	dst = append(dst, f)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(s.etype))
	dst = append(dst, byte(len(k)))
	dst = append(dst, k...)
	dst = binary.LittleEndian.AppendUint64(dst, send)
	dst = binary.LittleEndian.AppendUint64(dst, recv)
	dst = binary.LittleEndian.AppendUint64(dst, s.baseSend)
	dst = binary.LittleEndian.AppendUint64(dst, s.baseRecv)
	for _, n := range [2]string{s.cname, s.sname} {
		n = n[:min(len(n), 0xffff)]
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(n)))
		dst = append(dst, n...)
	}
	return krbStateV1, dst
}

func (kerberosMech) restore(version uint8, state []byte, server bool) (session, *pkgDesc, error) {
	sess, err := decodeKrbState(version, state, server)
	if err != nil {
		return nil, nil, refuse(backend.StatusInvalidToken, "the package state does not decode", err)
	}
	return sess, nil, nil
}

// decodeKrbState reads a Kerberos state of the given layout version.
func decodeKrbState(version uint8, b []byte, server bool) (*krbSession, error) {
	if version != krbStateV1 {
		return nil, fmt.Errorf("kerberos state version %d is not one this build reads", version)
	}
	if len(b) < krbStateFixed {
		return nil, fmt.Errorf("kerberos state is %d bytes, too short", len(b))
	}
	f := b[0]
	if f&^(krbStateAcceptor|krbStateAcceptorSubkey|krbStateNoSeq) != 0 {
		return nil, fmt.Errorf("kerberos state has unknown flags %#x", f)
	}
	if (f&krbStateAcceptor != 0) != server {
		return nil, errors.New("kerberos state contradicts the context's side")
	}
	e := kcrypto.EType(int32(binary.LittleEndian.Uint32(b[1:])))
	if !e.Supported() {
		return nil, fmt.Errorf("kerberos state has encryption type %d: %w", int32(e), kcrypto.ErrUnsupported)
	}
	n := int(b[5])
	if n != e.KeySize() || len(b) < krbStateFixed+n {
		return nil, fmt.Errorf("kerberos state is %d bytes with a %d-byte key, want %d or more with %d", len(b), n, krbStateFixed+e.KeySize(), e.KeySize())
	}
	// Both names come out of one string: one allocation.
	var names [2]string
	all := string(b[krbStateFixed+n:])
	rest := all
	for i := range names {
		if len(rest) < 2 || len(rest) < 2+int(binary.LittleEndian.Uint16([]byte(rest[:2]))) {
			return nil, errors.New("kerberos state: its principal names are cut off")
		}
		l := int(binary.LittleEndian.Uint16([]byte(rest[:2])))
		names[i] = rest[2 : 2+l]
		rest = rest[2+l:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("kerberos state has %d bytes after its names", len(rest))
	}
	p := b[6+n:]
	send, recv := binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:])
	baseSend, baseRecv := binary.LittleEndian.Uint64(p[16:]), binary.LittleEndian.Uint64(p[24:])
	if baseSend > send || baseRecv > recv {
		return nil, errors.New("kerberos state is behind its post-handshake position")
	}
	key, err := kcrypto.NewKey(e, b[6:6+n])
	if err != nil {
		return nil, err
	}
	// The session keeps keys derived from key, not key itself.
	defer key.Zero()
	s, err := gss.NewSession(gss.Config{
		Key: key, Acceptor: server, AcceptorSubkey: f&krbStateAcceptorSubkey != 0,
		SendSeq: send, RecvSeq: recv, NoSequenceCheck: f&krbStateNoSeq != 0,
	})
	if err != nil {
		return nil, err
	}
	sess := &krbSession{s: s, etype: e, keyLen: uint8(n), acceptor: server, acceptorSubkey: f&krbStateAcceptorSubkey != 0,
		noSeq: f&krbStateNoSeq != 0, baseSend: baseSend, baseRecv: baseRecv, cname: names[0], sname: names[1]}
	copy(sess.keyBuf[:], b[6:6+n])
	return sess, nil
}
