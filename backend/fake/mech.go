package fake

import (
	"encoding/asn1"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
)

// The mechanism seam. A security package of the fake is an entry of the
// registry below: what Windows reports for it, and the mechanism it runs.
// A mechanism is a handshake, one per side, that steps through the peers'
// tokens until it yields a session; the session then protects messages
// and packs itself for export. The generic code (handle tables, the SSPI
// calls) sees mechanisms only through the three interfaces here.

// packages is the registry, in the order EnumerateSecurityPackages lists
// them. It is also Negotiate's order of preference among the mechanisms
// with an OID, as on Windows, which lists Negotiate, Kerberos, NTLM.
var packages = []*pkgDesc{negotiatePkg, kerberosPkg, ntlmPkg}

// pkgDesc is an emulated security package.
type pkgDesc struct {
	info backend.PackageInfo
	// sizes are the SIZES a context reports before it has a session.
	sizes backend.Sizes
	// oid names the mechanism inside Negotiate; nil if Negotiate does not
	// offer it.
	oid  asn1.ObjectIdentifier
	mech mechanism
}

// findPackage resolves a package name case-insensitively, as Windows does.
func findPackage(op backend.Op, name string) (*pkgDesc, error) {
	if d := lookupPackage(name); d != nil {
		return d, nil
	}
	return nil, errf(op, name, backend.StatusSecpkgNotFound, "no security package named %q (the fake has %s)", name, packageNames())
}

func lookupPackage(name string) *pkgDesc {
	for _, d := range packages {
		if strings.EqualFold(d.info.Name, name) {
			return d
		}
	}
	return nil
}

// packageNames lists the registry for people: "A, B and C".
func packageNames() string {
	var b strings.Builder
	for i, d := range packages {
		switch {
		case i == 0:
		case i == len(packages)-1:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(d.info.Name)
	}
	return b.String()
}

// mechanism makes the handshakes of one security mechanism and restores
// its exported sessions. Implementations are stateless values.
type mechanism interface {
	// client starts an initiator's handshake; its first step takes no
	// token.
	client(h *host, cfg clientConfig) handshake
	// server starts an acceptor's handshake; its first step takes the
	// client's first token.
	server(h *host) handshake
	// clientFlags and serverFlags are what the mechanism grants of the
	// requested context flags (the ISC_RET and ASC_RET bits).
	clientFlags(flags.ClientReq) flags.ClientRet
	serverFlags(flags.ServerReq) flags.ServerRet
	// restore rebuilds a session from the state its appendState wrote,
	// in layout version (0 for the unversioned layouts of format 1 blobs).
	// server is the side the blob says the context is on; a state of the
	// other side is refused. runs is the package whose mechanism the
	// session is, when that is not the package restoring it (Negotiate).
	// Errors are mechErrors.
	restore(version uint8, state []byte, server bool) (sess session, runs *pkgDesc, err error)
}

// unavailableMech is a mechanism that knows, without starting, that an
// initiator's first step would fail on a host with a status Negotiate
// falls back from (fallsBack): Kerberos on a machine in no domain. A
// Negotiate client skips it without building a handshake and an error.
type unavailableMech interface {
	unavailable(h *host) bool
}

// clientConfig is what an initiator's handshake starts from.
type clientConfig struct {
	user, domain, password string
	id                     *logon          // the credential's identity, which keeps derived keys
	target                 string          // the SPN of the server
	bindings               []byte          // channel bindings of the first call, or nil
	req                    flags.ClientReq // the first call's request flags
}

// handshake is one side of a mechanism's authentication exchange. Its
// position in the exchange is its own explicit state; the generic code
// only knows whether the context is still in its handshake.
type handshake interface {
	// step consumes the peer's token (none on a client's first step) and
	// returns the token to send, and the session once this side is done.
	// Errors are mechErrors; a final one ends the handshake for good,
	// any other leaves it where it was, for the mechanism to judge the
	// next call.
	step(h *host, in stepIn) (stepOut, error)
	// destroy forgets the handshake's secrets when its context dies
	// before the handshake is done.
	destroy()
}

// stepIn is the input of one handshake step.
type stepIn struct {
	token    []byte // the peer's token, or nil
	bindings []byte // the channel bindings of this call, or nil
	// allowMissingBindings is a server's ASC_REQ_ALLOW_MISSING_BINDINGS:
	// a client without channel bindings may pass a server that has them.
	allowMissingBindings bool
}

// with is the same input carrying another token, for a mechanism inside
// Negotiate.
func (in stepIn) with(token []byte) stepIn {
	in.token = token
	return in
}

// stepOut is what one handshake step produced.
type stepOut struct {
	token []byte // to send to the peer; nil for none
	// sess is set when this side's exchange is done. The generic code
	// then drops the handshake and keeps the session.
	sess session
	// runs is set when a negotiation chose the package whose mechanism
	// runs the context.
	runs *pkgDesc
	// peer and spn are what a server learned when it was done: its
	// client, as the machine's directory knows it, and the SPN the client
	// asked for ("" if it named none).
	peer tokenIdentity
	spn  string
	// expiry, if set, ends the context sooner than the machine's context
	// lifetime: a Kerberos context ends with its ticket.
	expiry time.Time
	// mechListMIC is set by a mechanism that requires SPNEGO's
	// mechListMIC exchange even when it is the client's first choice
	// (RFC 4178 section 5): NTLM, when the client's AUTHENTICATE_MESSAGE
	// carries a MIC (MsvAvFlags 0x2).
	mechListMIC bool
}

// session is an established context's message protection: the keys and
// per-message state a handshake agreed on. The generic code serializes
// calls on a session.
type session interface {
	// sizes are the SIZES attribute values: MaxSignature is the room
	// sign needs, SecurityTrailer the room sealInPlace needs.
	sizes() backend.Sizes
	// sign writes the signature of msg into sig, which has room for
	// MaxSignature bytes, and returns its length; verify checks one, and
	// on error leaves the session as it was.
	sign(msg, sig []byte) int
	verify(msg, sig []byte) error
	// seal returns msg encrypted and its trailer, leaving msg as it is;
	// sealInPlace encrypts msg in place, writes the trailer into sig and
	// returns its length.
	seal(msg []byte) (sealed, sig []byte)
	sealInPlace(msg, sig []byte) int
	// unseal returns the plaintext of sealed; unsealInPlace decrypts it in
	// place. On error both leave the session, and unsealInPlace the
	// message, as they were.
	unseal(sealed, sig []byte) ([]byte, error)
	unsealInPlace(msg, sig []byte) error
	// sessionKey returns a copy of the session key.
	sessionKey() []byte
	// handshakeDone records the session's current position as the one
	// right after the handshake, where RESET_NEW puts an exported context.
	// The generic code calls it once, when the context is established.
	handshakeDone()
	// appendState appends the session's state for a packed context and
	// returns it with its layout version (1 or more). With reset the state
	// is the one recorded by handshakeDone (RESET_NEW), and the session
	// itself does not change.
	appendState(dst []byte, reset bool) (version uint8, state []byte)
	// destroy zeroes the session's keys.
	destroy()
}

// nativeNamer is a session whose SECPKG_ATTR_NATIVE_NAMES are its
// mechanism's own principal names (Kerberos: alice@CONTOSO.TEST and the
// service's SPN in its realm) rather than DOMAIN\user and the target.
type nativeNamer interface {
	nativeNames() (client, server string)
}

// host is what a mechanism sees of the machine it runs on: its names,
// randomness, clock and directory. A Process makes it once, so the names
// derived here cost nothing per handshake (a machine's names never change).
type host struct {
	m *Machine
	// user is the account the process runs as (AsUser), or nil.
	user *logon
	// explicit is, for a server handshake of a credential acquired with
	// an explicit identity, that identity; nil otherwise.
	explicit *logon
	// dnsName and dnsDomain are the machine's DNS names: for a
	// stand-alone machine its computer name, both, as Windows reports
	// them; for a domain's machine name.domain and the domain's.
	dnsName, dnsDomain string
}

func newHost(m *Machine) host {
	if m.role == RoleStandalone {
		return host{m: m, dnsName: m.name, dnsDomain: m.name}
	}
	return host{
		m:         m,
		dnsName:   strings.ToLower(m.name) + "." + m.dnsDomain,
		dnsDomain: m.dnsDomain,
	}
}

// name and domain are the machine's NetBIOS computer and domain names.
func (h *host) name() string   { return h.m.name }
func (h *host) domain() string { return h.m.domain }

// rand is the source of challenges and keys (MachineConfig.Rand).
func (h *host) rand() io.Reader { return h.m.rand }

// clock is the machine's clock (MachineConfig.Clock).
func (h *host) clock() func() time.Time { return h.m.clock }

// lookup finds an account of the machine's directory.
func (h *host) lookup(domain, user string) (*principal, bool) { return h.m.lookup(domain, user) }

// mechError is a mechanism's refusal: the status the SSPI call fails
// with, what went wrong, and the cause. The generic code turns it into the
// call's backend.Error, naming the call and the package.
type mechError struct {
	status backend.Status
	detail string
	cause  error
	final  bool // the handshake cannot go on
}

func (e *mechError) Error() string {
	s := e.status.String()
	if e.detail != "" {
		s += ": " + e.detail
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *mechError) Unwrap() error { return e.cause }

// refuse returns a mechanism's refusal.
func refuse(st backend.Status, detail string, cause error) error {
	return &mechError{status: st, detail: detail, cause: cause}
}

// abort returns a refusal that ends the handshake.
func abort(st backend.Status, detail string, cause error) error {
	return &mechError{status: st, detail: detail, cause: cause, final: true}
}

// causeOf returns the cause of a mechanism's refusal, or err itself.
func causeOf(err error) error {
	var e *mechError
	if errors.As(err, &e) {
		return e.cause
	}
	return err
}

// mechFailure builds the error of call op in package pkg from a
// mechanism's refusal; detail stands in where the mechanism gave none.
func mechFailure(op backend.Op, pkg, detail string, err error) error {
	var e *mechError
	if !errors.As(err, &e) {
		return backend.NewError(op, pkg, backend.StatusInternalError, detail, err)
	}
	if e.detail != "" {
		detail = e.detail
	}
	return backend.NewError(op, pkg, e.status, detail, e.cause)
}
