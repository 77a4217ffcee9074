package fake

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/ntlm"
	"github.com/gosspi/gosspi/internal/spnego"
)

// The fake's Negotiate package is SPNEGO (RFC 4178, MS-SPNG) over the
// registered mechanisms that have an OID, in registry order: Kerberos,
// then NTLM. The client offers Kerberos under Windows' two OIDs (mechOIDs)
// and starts it optimistically when it gets a ticket; otherwise it leaves
// Kerberos out and starts NTLM (fallsBack). So there are two shapes.
//
// Kerberos, as Windows runs it in a domain (MS-SPNG, MS-KILE):
//
//	client                                         server
//	NegTokenInit{MS-KRB5 KRB5 NTLM, AP-REQ}   ->   (accepts the AP-REQ)
//	                                          <-   NegTokenResp{accept-completed, MS-KRB5, AP-REP}
//	(checks the AP-REP)
//
// The server answers with the OID the client listed first and no
// mechListMIC: the client's first choice was taken and Kerberos does not
// require the MICs (RFC 4178 section 5; MIT's acceptor answers the same).
// Without ISC_REQ_MUTUAL_AUTH there is no AP-REP, and the client is done
// with SEC_E_OK on its first call: the server's accept-completed is not
// for it. A client MIC in the NegTokenInit is verified and answered, and
// a server MIC beside the AP-REP is verified; both are optional.
//
// NTLM, as Windows runs it between hosts without a domain, or when the
// client gets no ticket:
//
//	client                                   server
//	NegTokenInit{NTLM, NEGOTIATE}       ->
//	                                    <-   NegTokenResp{accept-incomplete, NTLMSSP, CHALLENGE}
//	NegTokenResp{AUTHENTICATE, MIC}     ->   (verifies the client's mechListMIC)
//	                                    <-   NegTokenResp{accept-completed, MIC}
//	(verifies the server's mechListMIC)
//
// The mechListMICs are signatures of the chosen mechanism's session over
// the DER MechTypeList the client sent, so each side's first sequence
// number is spent on them, as on Windows. Once both are exchanged, both
// sides restart the mechanism's per-message state where the mechanism
// says so: NTLM resets its RC4 sealing handles, but not its sequence
// numbers (MS-SPNG 3.2.5.1), so the first message after the handshake is
// protected with the RC4 state the mechListMIC started from and sequence
// number 1.
//
// The acceptor takes the first mechanism of the client's list that it
// has and can run (RFC 4178 section 3.2), and what real clients send
// besides:
//
//   - Kerberos is passed over when the acceptor cannot run it (no domain,
//     no keys: negAcceptor) or declines the optimistic AP-REQ (a ticket
//     for an SPN it holds no key of, or of another realm, as MIT clients of
//     a real realm send: KRB_AP_ERR_NOT_US). An offer whose first
//     mechanism is passed over or unknown is answered with request-mic,
//     the next offered mechanism the acceptor can run as supportedMech,
//     and no token: the optimistic token is dropped (section 3.2). The
//     client then starts that mechanism in its next NegTokenResp, and both
//     mechListMICs are required (section 5). If the mechanism is done on
//     that token (Kerberos after a mechanism the fake does not have), the
//     server sends accept-incomplete with the mechanism's last token and
//     its MIC, and completes on the client's MIC (serverMICFirst; the
//     fake's client answers such a reply with its MIC and is done,
//     clientMICSecond). The fake's client follows
//     (clientSteered) when it still waits for the server; one done on its
//     first token (Kerberos without mutual authentication) cannot.
//     Another refusal of the AP-REQ (tampered, expired, replayed) fails the
//     call with Kerberos' status.
//   - An offer of a mechanism first but without its token is answered
//     with accept-incomplete and no token, for the client to start the
//     mechanism next.
//   - When the client's first choice was taken, the mechListMIC exchange
//     is optional unless the mechanism requires it (section 5): NTLM does
//     when the AUTHENTICATE_MESSAGE carries a MIC (MsvAvFlags 0x2).
//     Without a client MIC the acceptor sends none either (Samba's client
//     sends neither MIC).
//   - A raw NTLMSSP token, without SPNEGO, is NTLM: the acceptor answers
//     with raw NTLM tokens, as IIS, MIT and Samba do for HTTP clients
//     that send "Negotiate TlRMTVNT...".

// negotiatePkg carries the values Windows reports for Negotiate. Its
// contexts report the package they run for SIZES and PACKAGE_INFO.
var negotiatePkg = &pkgDesc{
	info: backend.PackageInfo{
		Name:         "Negotiate",
		Comment:      "Microsoft Package Negotiator",
		Capabilities: 0x00083BB3,
		Version:      1,
		RPCID:        9,
		MaxToken:     48256,
	},
	mech: negotiateMech{},
}

// offer is what Negotiate offers and accepts, fixed when the package
// initializes.
var offer = newNegOffer(packages)

type negOffer struct {
	mechs []*pkgDesc // most preferred first
	// oids are the OIDs the mechanisms are offered under, in the order a
	// NegTokenInit lists them: Kerberos under two (mechOIDs).
	oids  []asn1.ObjectIdentifier
	list  []byte // DER MechTypeList of oids: what a client's MICs cover
	names string // "NTLM", "Kerberos or NTLM", for people
	// tails[i] is the offer of mechs[i:], what a client offers when the
	// mechanisms before the i-th cannot start; tails[0] is the offer itself.
	tails []*negOffer
}

// newNegOffer collects the mechanisms with an OID. The registry is fixed
// at build time, so an OID that does not encode is a bug of this package.
func newNegOffer(reg []*pkgDesc) *negOffer {
	var mechs []*pkgDesc
	for _, d := range reg {
		if d.oid != nil {
			mechs = append(mechs, d)
		}
	}
	if len(mechs) == 0 {
		panic("fake: Negotiate has no mechanism to offer")
	}
	o := negOfferOf(mechs)
	o.tails = []*negOffer{o}
	for i := 1; i < len(mechs); i++ {
		o.tails = append(o.tails, negOfferOf(mechs[i:]))
	}
	return o
}

func negOfferOf(mechs []*pkgDesc) *negOffer {
	o := &negOffer{mechs: mechs}
	var names []string
	for _, d := range mechs {
		o.oids = append(o.oids, mechOIDs(d)...)
		names = append(names, d.info.Name)
	}
	list, err := spnego.MechTypeListDER(o.oids)
	if err != nil {
		panic(fmt.Sprintf("fake: Negotiate cannot offer %v: %v", o.oids, err))
	}
	o.list = list
	o.names = strings.Join(names, " or ")
	return o
}

// mechOIDs are the OIDs Negotiate offers a mechanism under, in the order
// it lists them. Kerberos goes under Microsoft's legacy OID
// 1.2.840.48018.1.2.2 first and RFC 4121's 1.2.840.113554.1.2.2 second,
// as Windows lists them (MS-KILE 3.1.5.1): the fake's NegTokenInit of a
// domain client is {MS-KRB5, KRB5, NTLM}, byte for byte Windows' list
// without NEGOEX, which the fake does not have.
func mechOIDs(d *pkgDesc) []asn1.ObjectIdentifier {
	if d.oid.Equal(gss.OIDKerberos) {
		return []asn1.ObjectIdentifier{gss.OIDMSKerberos, d.oid}
	}
	return []asn1.ObjectIdentifier{d.oid}
}

// hasOID reports whether oid names mechanism d.
func hasOID(d *pkgDesc, oid asn1.ObjectIdentifier) bool {
	return d.oid.Equal(oid) || d.oid.Equal(gss.OIDKerberos) && oid.Equal(gss.OIDMSKerberos)
}

// find returns the offered mechanism with the given OID, or nil.
func (o *negOffer) find(oid asn1.ObjectIdentifier) *pkgDesc {
	for _, d := range o.mechs {
		if hasOID(d, oid) {
			return d
		}
	}
	return nil
}

// named returns the offered mechanism of the given package name, or nil.
func (o *negOffer) named(name []byte) *pkgDesc {
	for _, d := range o.mechs {
		if d.info.Name == string(name) {
			return d
		}
	}
	return nil
}

// errWrongMech is the cause when a peer offers no mechanism the fake has.
var errWrongMech = errors.New("fake: the emulated Negotiate speaks only " + offer.names)

// negotiateMech is SPNEGO: it runs the chosen mechanism's handshake inside
// its tokens and then is that mechanism's session.
type negotiateMech struct{}

// client starts with the most preferred mechanism that can start, whose
// first token goes optimistically into the NegTokenInit (clientStart).
func (negotiateMech) client(_ *host, cfg clientConfig) handshake {
	return &negotiator{cfg: cfg}
}

// server keeps the host it starts with, which names the credential's
// explicit identity, for the mechanism it will start.
func (negotiateMech) server(h *host) handshake { return &negotiator{server: true, accepting: h} }

// A Negotiate context is first granted what its first mechanism grants;
// once a step names the mechanism that runs the context, the generic code
// grants what that one does.
func (negotiateMech) clientFlags(req flags.ClientReq) flags.ClientRet {
	return offer.mechs[0].mech.clientFlags(req)
}

func (negotiateMech) serverFlags(req flags.ServerReq) flags.ServerRet {
	return offer.mechs[0].mech.serverFlags(req)
}

// negState is the position of one side in the SPNEGO exchange.
type negState uint8

const (
	negStart             negState = iota // nothing sent (client) or received (server)
	negAwaitingToken                     // server: the mechanism is chosen, its first token is due
	negMech                              // the mechanism's exchange runs
	negAwaitingMIC                       // client: the mechanism is done, the server's MIC is due
	negRaw                               // server: raw NTLMSSP tokens, no SPNEGO around them
	negAwaitingClientMIC                 // server: the mechanism is done, its MIC sent, the client's is due
	negDone                              // established: the negotiator is the session
)

// negotiator is one side of a Negotiate context: a handshake until it is
// done, then the chosen mechanism's session, packed with Negotiate's state
// layout around the mechanism's.
type negotiator struct {
	server   bool
	state    negState
	mech     *pkgDesc  // the chosen mechanism
	inner    handshake // its handshake, until it yields the session
	sess     session   // its session, from the end of its handshake
	mechList []byte    // the DER MechTypeList the mechListMICs cover
	// micRequired is set when the server did not take the client's first
	// mechanism: both mechListMICs are then due (RFC 4178 section 5).
	micRequired bool

	// A client keeps its configuration until it is done, to start another
	// mechanism if the server steers it to one (clientSteered); offered is
	// what its NegTokenInit offered, and chosen says that the server has
	// named the mechanism.
	cfg     clientConfig
	offered *negOffer
	chosen  bool
	// accepting is the host a server starts its mechanism with: the one
	// its credential gave (explicit identity included).
	accepting *host
	// pending is what a server's mechanism said when it was done, while
	// the server waits for the client's mechListMIC (serverMICFirst).
	pending stepOut
	// resp is the peer's NegTokenResp of the current step, parsed in
	// place: it shares the step's input, so nothing keeps it after the
	// step.
	resp spnego.NegTokenResp
}

func (n *negotiator) step(h *host, in stepIn) (stepOut, error) {
	if n.server {
		return n.serverStep(h, in)
	}
	return n.clientStep(h, in)
}

// fallsBack reports whether a mechanism's refusal to start lets the
// client try the next one, as Windows' Negotiate drops Kerberos when it
// cannot get a ticket: the target is unknown to the KDC
// (KDC_ERR_S_PRINCIPAL_UNKNOWN, or there is no target), or there is no
// KDC to ask (no domain, a foreign domain, the KDC unreachable). A wrong
// password or a locked account does not: the client fails with
// SEC_E_LOGON_DENIED rather than try the password again with NTLM.
func fallsBack(err error) bool {
	var e *mechError
	if !errors.As(err, &e) {
		return false
	}
	return e.status == backend.StatusTargetUnknown || e.status == backend.StatusNoAuthenticatingAuthority
}

// clientStep sends the NegTokenInit, answers the server's first reply with
// the mechanism's next token and the client's MIC, and checks the server's
// MIC.
func (n *negotiator) clientStep(h *host, in stepIn) (stepOut, error) {
	if n.state == negStart {
		return n.clientStart(h, in)
	}
	resp, err := n.parseResp(in.token)
	if err != nil {
		return stepOut{}, err
	}
	switch n.state {
	case negAwaitingMIC:
		if resp.NegState != spnego.AcceptCompleted {
			return stepOut{}, refuse(backend.StatusInvalidToken, "the server's last token does not complete the negotiation", nil)
		}
		if len(resp.MechListMIC) == 0 {
			return stepOut{}, refuse(backend.StatusInvalidToken, "the server sent no mechListMIC", nil)
		}
		if err := n.verifyMIC(resp.MechListMIC); err != nil {
			return stepOut{}, refuse(backend.StatusMessageAltered, "the server's mechListMIC does not verify", causeOf(err))
		}
		n.micsExchanged()
		n.done()
		return stepOut{sess: n.session()}, nil
	case negMech:
		return n.clientMech(h, in, resp)
	}
	return stepOut{}, abort(backend.StatusInternalError, "the Negotiate handshake is over", nil)
}

// clientStart makes the NegTokenInit: the offered mechanisms, from the
// first that can start, and its first token. A mechanism that cannot
// start (fallsBack) is left out of the list, as Windows leaves Kerberos
// out when it gets no ticket. A mechanism done on its first token
// (Kerberos without mutual authentication) leaves the client done too:
// the server's answer is not for it.
func (n *negotiator) clientStart(h *host, in stepIn) (stepOut, error) {
	var hints []asn1.ObjectIdentifier
	if in.token != nil {
		var err error
		if hints, err = serverHints(in.token); err != nil {
			return stepOut{}, err
		}
	}
	for i, d := range offer.mechs {
		o := offer.tails[i]
		if hints != nil && !o.anyOf(hints) {
			return stepOut{}, refuse(backend.StatusInvalidToken, "the server accepts none of "+o.names, errWrongMech)
		}
		if u, ok := d.mech.(unavailableMech); ok && u.unavailable(h) && i+1 < len(offer.mechs) {
			continue // what its first step would say, without building it
		}
		inner := d.mech.client(h, n.cfg)
		out, err := inner.step(h, in.with(nil))
		if err != nil {
			inner.destroy()
			if fallsBack(err) && i+1 < len(offer.mechs) {
				continue
			}
			return stepOut{}, err
		}
		tok, err := (&spnego.NegTokenInit{MechTypes: o.oids, MechToken: out.token}).Marshal()
		if err != nil {
			inner.destroy()
			if out.sess != nil {
				out.sess.destroy()
			}
			return stepOut{}, refuse(backend.StatusInternalError, "building NegTokenInit", err)
		}
		n.mech, n.offered, n.mechList = d, o, o.list
		out.token, out.runs = tok, d
		if out.sess != nil {
			n.sess = out.sess
			n.done()
			out.sess = n.session()
			return out, nil
		}
		n.inner, n.state = inner, negMech
		return out, nil
	}
	return stepOut{}, abort(backend.StatusInternalError, "Negotiate has no mechanism", nil)
}

// clientMech takes the server's reply while the mechanism runs: the
// first one names the mechanism (supportedMech); a reply that completes
// the negotiation ends the mechanism's exchange (Kerberos' AP-REP), one
// that does not carries the mechanism's next token (NTLM's CHALLENGE).
func (n *negotiator) clientMech(h *host, in stepIn, resp *spnego.NegTokenResp) (stepOut, error) {
	if !n.chosen {
		if resp.SupportedMech == nil {
			return stepOut{}, refuse(backend.StatusInvalidToken, "the server's first reply names no mechanism", errWrongMech)
		}
		if !hasOID(n.mech, resp.SupportedMech) {
			return n.clientSteered(h, in, resp)
		}
		n.chosen = true
	} else if resp.SupportedMech != nil && !hasOID(n.mech, resp.SupportedMech) {
		return stepOut{}, refuse(backend.StatusInvalidToken, "the server changed the mechanism", errWrongMech)
	}
	if resp.NegState == spnego.AcceptCompleted {
		return n.clientCompleted(h, in, resp)
	}
	// The client sends its mechListMIC anyway, so a server that asks
	// for it (request-mic) gets what it wants.
	if (resp.NegState != spnego.AcceptIncomplete && resp.NegState != spnego.RequestMIC) || len(resp.ResponseToken) == 0 {
		return stepOut{}, refuse(backend.StatusInvalidToken, "the server did not continue with "+n.mech.info.Name, errWrongMech)
	}
	out, err := n.inner.step(h, in.with(resp.ResponseToken))
	if err != nil {
		return stepOut{}, err
	}
	if out.sess == nil {
		return stepOut{}, abort(backend.StatusInternalError, n.mech.info.Name+" needs more than one round trip inside Negotiate", nil)
	}
	n.inner, n.sess = nil, out.sess
	if len(resp.MechListMIC) > 0 {
		return n.clientMICSecond(out, resp.MechListMIC)
	}
	// Windows clients since Vista say accept-incomplete here beside
	// their mechListMIC, though RFC 4178 lets an initiator leave
	// negState out (and Windows XP did).
	tok, err := (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, ResponseToken: out.token, MechListMIC: n.mic()}).Marshal()
	if err != nil {
		return stepOut{}, abort(backend.StatusInternalError, "building NegTokenResp", err)
	}
	n.state = negAwaitingMIC
	return stepOut{token: tok}, nil
}

// clientMICSecond answers a server that sent its mechListMIC beside the
// mechanism's last token without completing (serverMICFirst: the fake's
// acceptor when the mechanism was not the client's first choice and is
// done on its first token). The client verifies it and is
// done, sending its own MIC; the server's accept-completed is not for it.
func (n *negotiator) clientMICSecond(out stepOut, serverMIC []byte) (stepOut, error) {
	if len(out.token) > 0 {
		return stepOut{}, abort(backend.StatusInvalidToken, "the server sent its mechListMIC before "+n.mech.info.Name+" was done", nil)
	}
	if err := n.verifyMIC(serverMIC); err != nil {
		return stepOut{}, abort(backend.StatusMessageAltered, "the server's mechListMIC does not verify", causeOf(err))
	}
	tok, err := (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, MechListMIC: n.mic()}).Marshal()
	if err != nil {
		return stepOut{}, abort(backend.StatusInternalError, "building NegTokenResp", err)
	}
	n.micsExchanged()
	n.done()
	out.token, out.sess = tok, n.session()
	return out, nil
}

// clientCompleted takes the server's accept-completed while the mechanism
// still runs: its token (Kerberos' AP-REP) must finish the mechanism. The
// server's mechListMIC, optional when it took the client's first choice
// (RFC 4178 section 5), is verified when it comes.
func (n *negotiator) clientCompleted(h *host, in stepIn, resp *spnego.NegTokenResp) (stepOut, error) {
	if len(resp.ResponseToken) == 0 {
		return stepOut{}, refuse(backend.StatusInvalidToken, "the server completed the negotiation without the "+n.mech.info.Name+" token the client waits for", nil)
	}
	out, err := n.inner.step(h, in.with(resp.ResponseToken))
	if err != nil {
		return stepOut{}, err
	}
	if out.sess == nil || len(out.token) > 0 {
		if out.sess != nil {
			out.sess.destroy()
		}
		return stepOut{}, abort(backend.StatusInvalidToken, "the server completed the negotiation before "+n.mech.info.Name+" was done", nil)
	}
	n.inner, n.sess = nil, out.sess
	switch {
	case len(resp.MechListMIC) > 0:
		if err := n.verifyMIC(resp.MechListMIC); err != nil {
			return stepOut{}, abort(backend.StatusMessageAltered, "the server's mechListMIC does not verify", causeOf(err))
		}
		n.micsExchanged()
	case n.micRequired || out.mechListMIC:
		return stepOut{}, abort(backend.StatusInvalidToken, "the server sent no mechListMIC", nil)
	}
	n.done()
	out.sess = n.session()
	return out, nil
}

// clientSteered follows a server that took another mechanism of the
// client's list than its first (request-mic, that mechanism as
// supportedMech, no token: what Windows, MIT and the fake answer a
// Kerberos-first client whose Kerberos they cannot use). The optimistic
// token is dropped, the client starts that mechanism in a NegTokenResp,
// and both mechListMICs become due.
func (n *negotiator) clientSteered(h *host, in stepIn, resp *spnego.NegTokenResp) (stepOut, error) {
	d := n.offered.find(resp.SupportedMech)
	if d == nil || len(resp.ResponseToken) > 0 || (resp.NegState != spnego.RequestMIC && resp.NegState != spnego.AcceptIncomplete) {
		return stepOut{}, refuse(backend.StatusInvalidToken, "the server chose "+resp.SupportedMech.String()+", which the client did not offer", errWrongMech)
	}
	inner := d.mech.client(h, n.cfg)
	out, err := inner.step(h, in.with(nil))
	if err != nil {
		inner.destroy()
		return stepOut{}, err
	}
	if out.sess != nil {
		inner.destroy()
		out.sess.destroy()
		return stepOut{}, abort(backend.StatusInternalError, d.info.Name+" as the server's second choice finishes in one token, which the emulated Negotiate does not support", nil)
	}
	tok, err := (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, ResponseToken: out.token}).Marshal()
	if err != nil {
		inner.destroy()
		return stepOut{}, refuse(backend.StatusInternalError, "building NegTokenResp", err)
	}
	n.inner.destroy()
	n.mech, n.inner, n.chosen, n.micRequired = d, inner, true, true
	return stepOut{token: tok, runs: d}, nil
}

// done marks the negotiator established and forgets the client's
// configuration.
func (n *negotiator) done() {
	n.state = negDone
	n.cfg = clientConfig{}
}

// serverHints reads the token a client may be given before its first
// call: the acceptor's NegTokenInit that an SMB server sends in its
// NEGOTIATE response (a NegTokenInit2 with negHints, MS-SMB2 3.2.4.2.3,
// MS-SPNG 3.2.5.2). It lists what the server accepts; the client still
// sends its own offer, but refuses a server that accepts none of the
// mechanisms it offers, which could only fail later.
func serverHints(tok []byte) ([]asn1.ObjectIdentifier, error) {
	init, err := spnego.ParseNegTokenInit(tok)
	if err != nil {
		return nil, refuse(backend.StatusInvalidToken, "the input of a first call is not the server's NegTokenInit", err)
	}
	return init.MechTypes, nil
}

// anyOf reports whether the offer has a mechanism of one of oids.
func (o *negOffer) anyOf(oids []asn1.ObjectIdentifier) bool {
	for _, oid := range oids {
		if o.find(oid) != nil {
			return true
		}
	}
	return false
}

// serverStep takes the client's offer and answers it, runs the chosen
// mechanism's exchange inside NegTokenResps, and ends it with the
// mechListMICs where they are due; or, for a raw NTLMSSP token, runs NTLM
// bare.
func (n *negotiator) serverStep(h *host, in stepIn) (stepOut, error) {
	switch n.state {
	case negStart:
		if ntlm.IsMessage(in.token) {
			return n.serverRawStart(h, in)
		}
		return n.serverOffer(h, in)
	case negAwaitingToken:
		return n.serverFirstToken(h, in)
	case negMech:
		return n.serverFinish(h, in)
	case negAwaitingClientMIC:
		return n.serverClientMIC(in)
	case negRaw:
		return n.serverRaw(h, in)
	}
	return stepOut{}, abort(backend.StatusInternalError, "the Negotiate handshake is over", nil)
}

// negAcceptor is a mechanism that an acceptor may be unable to run, or
// that may find a client's token is not for it: Kerberos, which needs a
// domain and keys, and a ticket to one of the server's SPNs. Negotiate
// then takes the client's next mechanism, as if the client had not
// offered this one.
type negAcceptor interface {
	// canAccept reports whether the host can accept the mechanism at all.
	canAccept(h *host) bool
	// declines reports whether the refusal of the client's first token
	// says it is for another server, not that it is bad.
	declines(err error) bool
}

func canAccept(h *host, d *pkgDesc) bool {
	a, ok := d.mech.(negAcceptor)
	return !ok || a.canAccept(h)
}

func declines(d *pkgDesc, err error) bool {
	a, ok := d.mech.(negAcceptor)
	return ok && a.declines(err)
}

// serverOffer answers the client's NegTokenInit. The acceptor takes the
// first mechanism of the client's list that it has and can run (RFC 4178
// section 3.2). If that is the client's first choice and the client sent
// its token, the mechanism answers it at once, and a mechanism done on
// that token (Kerberos) completes the negotiation in this one reply;
// otherwise the reply names the mechanism and carries no token, and the
// client starts it next. A first token the mechanism declines (a ticket
// for another server) counts as no first choice: the acceptor takes the
// client's next mechanism.
func (n *negotiator) serverOffer(h *host, in stepIn) (stepOut, error) {
	init, err := spnego.ParseNegTokenInit(in.token)
	if err != nil {
		return stepOut{}, refuse(backend.StatusInvalidToken, "neither a SPNEGO NegTokenInit nor a raw NTLMSSP token", err)
	}
	list := offer.list
	if !sameOIDs(init.MechTypes, offer.oids) {
		if list, err = spnego.MechTypeListDER(init.MechTypes); err != nil {
			return stepOut{}, refuse(backend.StatusInvalidToken, "the MechTypeList does not encode", err)
		}
	}
	var declined *pkgDesc
	var cause error
	for i, oid := range init.MechTypes {
		d := offer.find(oid)
		if d == nil || d == declined || !canAccept(n.accepting, d) {
			continue
		}
		first := i == 0
		inner := d.mech.server(n.accepting)
		if !first || len(init.MechToken) == 0 {
			resp := spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, SupportedMech: oid}
			if !first {
				resp.NegState = spnego.RequestMIC
			}
			tok, err := resp.Marshal()
			if err != nil {
				inner.destroy()
				return stepOut{}, refuse(backend.StatusInternalError, "building NegTokenResp", err)
			}
			n.mech, n.inner, n.mechList, n.micRequired, n.state = d, inner, list, !first, negAwaitingToken
			return stepOut{token: tok, runs: d}, nil
		}
		out, err := inner.step(h, in.with(init.MechToken))
		if err != nil {
			inner.destroy()
			if declines(d, err) {
				declined, cause = d, err
				continue
			}
			return stepOut{}, err
		}
		n.mech, n.mechList = d, list
		if out.sess != nil {
			out.runs = d
			return n.complete(out, init.MechListMIC, oid)
		}
		tok, err := (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, SupportedMech: oid, ResponseToken: out.token}).Marshal()
		if err != nil {
			inner.destroy()
			return stepOut{}, refuse(backend.StatusInternalError, "building NegTokenResp", err)
		}
		n.inner, n.state = inner, negMech
		return stepOut{token: tok, runs: d}, nil
	}
	if cause != nil {
		return stepOut{}, cause
	}
	return stepOut{}, refuse(backend.StatusInvalidToken, "the client offers none of "+offer.names+" that this server can accept", errWrongMech)
}

// serverFirstToken answers the mechanism's first token, which the client
// sent in a NegTokenResp after the server named the mechanism.
func (n *negotiator) serverFirstToken(h *host, in stepIn) (stepOut, error) {
	resp, err := n.parseResp(in.token)
	if err != nil {
		return stepOut{}, err
	}
	if len(resp.ResponseToken) == 0 {
		return stepOut{}, refuse(backend.StatusInvalidToken, "the client's NegTokenResp carries no "+n.mech.info.Name+" token", nil)
	}
	out, err := n.inner.step(h, in.with(resp.ResponseToken))
	if err != nil {
		return stepOut{}, err
	}
	if out.sess != nil {
		if n.micRequired && len(resp.MechListMIC) == 0 {
			return n.serverMICFirst(out)
		}
		return n.complete(out, resp.MechListMIC, nil)
	}
	// supportedMech went in the first reply only (RFC 4178 section 4.2.2).
	tok, err := (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, ResponseToken: out.token}).Marshal()
	if err != nil {
		return stepOut{}, refuse(backend.StatusInternalError, "building NegTokenResp", err)
	}
	n.state = negMech
	return stepOut{token: tok}, nil
}

// serverMICFirst answers the first token of a mechanism that was not the
// client's first choice and is done on it (Kerberos second, after an
// unknown mechanism): both mechListMICs are due, and the client, which may
// need the mechanism's last token (the AP-REP) to make its own, has sent
// none. The server sends accept-incomplete with that token and its MIC,
// and completes on the client's MIC (RFC 4178 section 5). What the
// mechanism said of the client waits in pending.
func (n *negotiator) serverMICFirst(out stepOut) (stepOut, error) {
	n.inner, n.sess = nil, out.sess
	tok, err := (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, ResponseToken: out.token, MechListMIC: n.mic()}).Marshal()
	if err != nil {
		return stepOut{}, abort(backend.StatusInternalError, "building NegTokenResp", err)
	}
	out.token, out.sess = nil, nil
	n.pending, n.state = out, negAwaitingClientMIC
	return stepOut{token: tok}, nil
}

// serverClientMIC takes the client's mechListMIC after the server's and
// completes the negotiation.
func (n *negotiator) serverClientMIC(in stepIn) (stepOut, error) {
	resp, err := n.parseResp(in.token)
	if err != nil {
		return stepOut{}, err
	}
	if len(resp.MechListMIC) == 0 {
		return stepOut{}, refuse(backend.StatusInvalidToken, "the client sent no mechListMIC, which is required after another mechanism than its first was chosen", nil)
	}
	if len(resp.ResponseToken) > 0 {
		return stepOut{}, abort(backend.StatusInvalidToken, "the client sent a "+n.mech.info.Name+" token after the mechanism was done", nil)
	}
	if err := n.verifyMIC(resp.MechListMIC); err != nil {
		return stepOut{}, abort(backend.StatusMessageAltered, "the client's mechListMIC does not verify", causeOf(err))
	}
	n.micsExchanged()
	tok, err := (&spnego.NegTokenResp{NegState: spnego.AcceptCompleted}).Marshal()
	if err != nil {
		return stepOut{}, abort(backend.StatusInternalError, "building NegTokenResp", err)
	}
	out := n.pending
	n.pending = stepOut{}
	n.state = negDone
	out.token, out.sess = tok, n.session()
	return out, nil
}

// serverFinish verifies the client's last token and, where it sent one,
// its mechListMIC, and answers with accept-completed (and its own MIC).
func (n *negotiator) serverFinish(h *host, in stepIn) (stepOut, error) {
	resp, err := n.parseResp(in.token)
	if err != nil {
		return stepOut{}, err
	}
	// Checking these first keeps a token without them from using up the
	// mechanism's one attempt.
	if len(resp.ResponseToken) == 0 {
		return stepOut{}, refuse(backend.StatusInvalidToken, "the client's NegTokenResp lacks its "+n.mech.info.Name+" token", nil)
	}
	if n.micRequired && len(resp.MechListMIC) == 0 {
		return stepOut{}, refuse(backend.StatusInvalidToken, "the client sent no mechListMIC, which is required after another mechanism than its first was chosen", nil)
	}
	out, err := n.inner.step(h, in.with(resp.ResponseToken))
	if err != nil {
		return stepOut{}, err
	}
	if out.sess == nil {
		return stepOut{}, abort(backend.StatusInternalError, n.mech.info.Name+" needs more than one round trip inside Negotiate", nil)
	}
	return n.complete(out, resp.MechListMIC, nil)
}

// complete ends a server's negotiation once its mechanism is done: the
// client's mechListMIC, where it sent one, is verified and answered with
// the server's; where it sent none, that must be allowed (RFC 4178
// section 5: the client's first choice was taken, and the mechanism does
// not require the MICs). The reply is accept-completed with the
// mechanism's last token (Kerberos' AP-REP, none without mutual
// authentication), and supportedMech when it is the first reply. From
// here on a failure ends the handshake: the mechanism is done.
func (n *negotiator) complete(out stepOut, clientMIC []byte, supported asn1.ObjectIdentifier) (stepOut, error) {
	n.inner, n.sess = nil, out.sess
	reply := spnego.NegTokenResp{NegState: spnego.AcceptCompleted, SupportedMech: supported, ResponseToken: out.token}
	switch {
	case len(clientMIC) > 0:
		// A client MIC is verified and answered even where it is optional.
		if err := n.verifyMIC(clientMIC); err != nil {
			return stepOut{}, abort(backend.StatusMessageAltered, "the client's mechListMIC does not verify", causeOf(err))
		}
		reply.MechListMIC = n.mic()
		n.micsExchanged()
	case n.micRequired:
		return stepOut{}, abort(backend.StatusInvalidToken, "the client sent no mechListMIC, which is required after another mechanism than its first was chosen", nil)
	case out.mechListMIC:
		return stepOut{}, abort(backend.StatusInvalidToken, "the client sent no mechListMIC, which its "+n.mech.info.Name+" token requires", nil)
	}
	tok, err := reply.Marshal()
	if err != nil {
		return stepOut{}, abort(backend.StatusInternalError, "building NegTokenResp", err)
	}
	n.state = negDone
	out.token, out.sess = tok, n.session()
	return out, nil
}

// serverRawStart takes a raw NTLMSSP token as the start of bare NTLM.
func (n *negotiator) serverRawStart(h *host, in stepIn) (stepOut, error) {
	d := offer.named([]byte(ntlmPkg.info.Name))
	if d == nil {
		return stepOut{}, refuse(backend.StatusInvalidToken, "a raw NTLMSSP token, and Negotiate offers no NTLM", errWrongMech)
	}
	inner := d.mech.server(n.accepting)
	out, err := inner.step(h, in)
	if err != nil {
		return stepOut{}, err
	}
	if out.sess != nil {
		inner.destroy()
		out.sess.destroy()
		return stepOut{}, abort(backend.StatusInternalError, "NTLM finishes in one token, which the emulated Negotiate does not support", nil)
	}
	n.mech, n.inner, n.state = d, inner, negRaw
	return stepOut{token: out.token, runs: d}, nil
}

// serverRaw passes the client's raw tokens to NTLM and its answers back.
func (n *negotiator) serverRaw(h *host, in stepIn) (stepOut, error) {
	out, err := n.inner.step(h, in)
	if err != nil || out.sess == nil {
		return out, err
	}
	n.inner, n.sess, n.state = nil, out.sess, negDone
	out.sess = n.session()
	return out, nil
}

// micResetter is a session whose per-message state restarts once SPNEGO's
// mechListMICs have been exchanged over it: NTLM's RC4 handles.
type micResetter interface {
	mechListMICsDone()
}

// micsExchanged is called on each side once both mechListMICs have been
// made and checked.
func (n *negotiator) micsExchanged() {
	if r, ok := n.sess.(micResetter); ok {
		r.mechListMICsDone()
	}
}

// micSigner is a session that makes and checks SPNEGO's mechListMICs
// more cheaply than other messages, knowing that its streams restart
// after them (micResetter): NTLM's.
type micSigner interface {
	signMIC(msg, sig []byte) int
	verifyMIC(msg, sig []byte) error
}

// mic signs the MechTypeList with the mechanism's session.
func (n *negotiator) mic() []byte {
	sig := make([]byte, n.sess.sizes().MaxSignature)
	if m, ok := n.sess.(micSigner); ok {
		return sig[:m.signMIC(n.mechList, sig)]
	}
	return sig[:n.sess.sign(n.mechList, sig)]
}

// verifyMIC checks the peer's mechListMIC with the mechanism's session.
func (n *negotiator) verifyMIC(mic []byte) error {
	if m, ok := n.sess.(micSigner); ok {
		return m.verifyMIC(n.mechList, mic)
	}
	return n.sess.verify(n.mechList, mic)
}

func sameOIDs(a, b []asn1.ObjectIdentifier) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// parseResp parses a NegTokenResp into n.resp and refuses a rejection.
func (n *negotiator) parseResp(in []byte) (*spnego.NegTokenResp, error) {
	if err := spnego.ParseNegTokenRespInto(&n.resp, in); err != nil {
		return nil, refuse(backend.StatusInvalidToken, "not a SPNEGO NegTokenResp", err)
	}
	if n.resp.NegState == spnego.Reject {
		n.resp = spnego.NegTokenResp{}
		return nil, refuse(backend.StatusLogonDenied, "the peer rejected the negotiation", nil)
	}
	return &n.resp, nil
}

// destroy zeroes the mechanism's session, or forgets its handshake.
func (n *negotiator) destroy() {
	n.cfg = clientConfig{}
	n.resp = spnego.NegTokenResp{}
	if n.sess != nil {
		n.sess.destroy()
		n.sess = nil
	}
	if n.inner != nil {
		n.inner.destroy()
		n.inner = nil
	}
}

// Once done, a negotiator is its mechanism's session.

func (n *negotiator) sizes() backend.Sizes                      { return n.sess.sizes() }
func (n *negotiator) sign(msg, sig []byte) int                  { return n.sess.sign(msg, sig) }
func (n *negotiator) verify(msg, sig []byte) error              { return n.sess.verify(msg, sig) }
func (n *negotiator) seal(msg []byte) (sealed, sig []byte)      { return n.sess.seal(msg) }
func (n *negotiator) sealInPlace(msg, sig []byte) int           { return n.sess.sealInPlace(msg, sig) }
func (n *negotiator) unseal(sealed, sig []byte) ([]byte, error) { return n.sess.unseal(sealed, sig) }
func (n *negotiator) unsealInPlace(msg, sig []byte) error       { return n.sess.unsealInPlace(msg, sig) }
func (n *negotiator) sessionKey() []byte                        { return n.sess.sessionKey() }
func (n *negotiator) handshakeDone()                            { n.sess.handshakeDone() }

// Negotiate's state layout, version 1: the chosen mechanism's package name
// (one length byte, then the name), its state's layout version (one
// byte), then its state. Format 1 blobs carry no version (0): their state
// is NTLM's, the only mechanism Negotiate had then.
const negStateV1 = 1

func (n *negotiator) appendState(dst []byte, reset bool) (uint8, []byte) {
	name := n.mech.info.Name
	dst = append(dst, byte(len(name)))
	dst = append(dst, name...)
	at := len(dst)
	dst = append(dst, 0)
	v, dst := n.sess.appendState(dst, reset)
	dst[at] = v
	return negStateV1, dst
}

func (m negotiateMech) restore(version uint8, state []byte, server bool) (session, *pkgDesc, error) {
	return m.restoreHolding(version, state, server, nil)
}

// restoreHolding is restore passing the import's buffer on to the
// mechanism, whose state is the tail of Negotiate's.
func (negotiateMech) restoreHolding(version uint8, state []byte, server bool, ib *importBuf) (session, *pkgDesc, error) {
	d, inner, state, err := decodeNegState(version, state)
	if err != nil {
		return nil, nil, refuse(backend.StatusInvalidToken, "the package state does not decode", err)
	}
	var sess session
	if hr, ok := d.mech.(holdingRestorer); ok {
		sess, _, err = hr.restoreHolding(inner, state, server, ib)
	} else {
		sess, _, err = d.mech.restore(inner, state, server)
	}
	if err != nil {
		return nil, nil, err
	}
	return (&negotiator{server: server, state: negDone, mech: d, sess: sess}).session(), d, nil
}

// decodeNegState returns the mechanism of a Negotiate state, and the
// version and bytes of the mechanism's state inside.
func decodeNegState(version uint8, b []byte) (*pkgDesc, uint8, []byte, error) {
	switch version {
	case 0:
		if d := lookupPackage("NTLM"); d != nil {
			return d, 0, b, nil
		}
		return nil, 0, nil, errors.New("the unversioned Negotiate state is NTLM's, which this build does not have")
	case negStateV1:
		if len(b) < 2 || len(b) < 2+int(b[0]) {
			return nil, 0, nil, fmt.Errorf("the Negotiate state of %d bytes is cut off", len(b))
		}
		name := b[1 : 1+b[0]]
		d := offer.named(name)
		if d == nil {
			return nil, 0, nil, fmt.Errorf("the Negotiate state is of mechanism %q, which this build does not offer", name)
		}
		v := b[1+len(name)]
		if v == 0 {
			return nil, 0, nil, errors.New("the Negotiate state holds an unversioned mechanism state")
		}
		return d, v, b[2+len(name):], nil
	}
	return nil, 0, nil, fmt.Errorf("the Negotiate state version %d is newer than this build reads", version)
}
