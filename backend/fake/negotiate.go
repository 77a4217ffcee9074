package fake

import (
	"encoding/asn1"
	"errors"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/internal/spnego"
)

// The fake's Negotiate package is SPNEGO (RFC 4178, MS-SPNG) with NTLM as
// its only mechanism, as Windows runs it between hosts without a domain:
//
//	client                                   server
//	NegTokenInit{NTLMSSP, NEGOTIATE}    ->
//	                                    <-   NegTokenResp{accept-incomplete, NTLMSSP, CHALLENGE}
//	NegTokenResp{AUTHENTICATE, MIC}     ->   (verifies the client's mechListMIC)
//	                                    <-   NegTokenResp{accept-completed, MIC}
//	(verifies the server's mechListMIC)
//
// The mechListMICs are NTLM signatures over the DER MechTypeList, so each
// side's first sequence number is spent on them, as on Windows.

// errWrongMech is the cause when a peer offers no NTLM.
var errWrongMech = errors.New("fake: the emulated Negotiate speaks only NTLM")

// wrapInit puts the NTLM NEGOTIATE into a NegTokenInit offering NTLM and
// remembers the MechTypeList for the MICs.
func (c *ctxEntry) wrapInit(negotiate []byte) ([]byte, error) {
	mechs := []asn1.ObjectIdentifier{spnego.OIDNTLMSSP}
	list, err := spnego.MechTypeListDER(mechs)
	if err != nil {
		return nil, err
	}
	c.spnego, c.mechList = true, list
	return (&spnego.NegTokenInit{MechTypes: mechs, MechToken: negotiate}).Marshal()
}

// unwrapInit takes the NTLM NEGOTIATE out of the client's NegTokenInit.
func (c *ctxEntry) unwrapInit(op backend.Op, in []byte) ([]byte, error) {
	name := c.pkg.info.Name
	init, err := spnego.ParseNegTokenInit(in)
	if err != nil {
		return nil, backend.NewError(op, name, backend.StatusInvalidToken, "not a SPNEGO NegTokenInit", err)
	}
	// The optimistic token belongs to the first mechanism offered; the
	// fake has no Kerberos to fall back from, so NTLM must come first.
	if !init.MechTypes[0].Equal(spnego.OIDNTLMSSP) || len(init.MechToken) == 0 {
		return nil, backend.NewError(op, name, backend.StatusInvalidToken, "the client's first mechanism is not NTLM with a token", errWrongMech)
	}
	list, err := spnego.MechTypeListDER(init.MechTypes)
	if err != nil {
		return nil, backend.NewError(op, name, backend.StatusInvalidToken, "the MechTypeList does not encode", err)
	}
	c.spnego, c.mechList = true, list
	return init.MechToken, nil
}

// wrapChallenge puts the server's CHALLENGE into its first NegTokenResp.
func wrapChallenge(challenge []byte) ([]byte, error) {
	return (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, SupportedMech: spnego.OIDNTLMSSP, ResponseToken: challenge}).Marshal()
}

// parseResp parses a NegTokenResp and refuses a rejection.
func parseResp(op backend.Op, name string, in []byte) (*spnego.NegTokenResp, error) {
	resp, err := spnego.ParseNegTokenResp(in)
	if err != nil {
		return nil, backend.NewError(op, name, backend.StatusInvalidToken, "not a SPNEGO NegTokenResp", err)
	}
	if resp.NegState == spnego.Reject {
		return nil, errf(op, name, backend.StatusLogonDenied, "the peer rejected the negotiation")
	}
	return resp, nil
}

// negotiateClientStep runs the client's second and third Negotiate steps;
// c.mu is held.
func (p *Process) negotiateClientStep(op backend.Op, c *ctxEntry, in []byte) ([]byte, error) {
	name := c.pkg.info.Name
	resp, err := parseResp(op, name, in)
	if err != nil {
		return nil, err
	}
	if c.awaitingMIC {
		if resp.NegState != spnego.AcceptCompleted {
			return nil, errf(op, name, backend.StatusInvalidToken, "the server's last token does not complete the negotiation")
		}
		if len(resp.MechListMIC) == 0 {
			return nil, errf(op, name, backend.StatusInvalidToken, "the server sent no mechListMIC")
		}
		if err := c.sess.Verify(c.mechList, resp.MechListMIC); err != nil {
			return nil, backend.NewError(op, name, backend.StatusMessageAltered, "the server's mechListMIC does not verify", err)
		}
		p.establish(c)
		return nil, nil
	}
	if resp.NegState != spnego.AcceptIncomplete || !resp.SupportedMech.Equal(spnego.OIDNTLMSSP) || len(resp.ResponseToken) == 0 {
		return nil, backend.NewError(op, name, backend.StatusInvalidToken, "the server did not continue with NTLM", errWrongMech)
	}
	auth, err := p.clientFinish(op, c, resp.ResponseToken)
	if err != nil {
		return nil, err
	}
	out, err := (&spnego.NegTokenResp{NegState: spnego.NegStateAbsent, ResponseToken: auth, MechListMIC: c.sess.Sign(c.mechList)}).Marshal()
	if err != nil {
		return nil, backend.NewError(op, name, backend.StatusInternalError, "building NegTokenResp", err)
	}
	c.awaitingMIC = true
	return out, nil
}

// negotiateServerFinish verifies the client's AUTHENTICATE and mechListMIC
// and answers with its own MIC; c.mu is held. On failure the context is
// not established.
func (p *Process) negotiateServerFinish(op backend.Op, c *ctxEntry, input []backend.Buffer, in []byte) ([]byte, error) {
	name := c.pkg.info.Name
	resp, err := parseResp(op, name, in)
	if err != nil {
		return nil, err
	}
	if len(resp.ResponseToken) == 0 || len(resp.MechListMIC) == 0 {
		return nil, errf(op, name, backend.StatusInvalidToken, "the client's NegTokenResp lacks its AUTHENTICATE or mechListMIC")
	}
	if err := p.serverFinish(op, c, input, resp.ResponseToken); err != nil {
		return nil, err
	}
	fail := func(err error) ([]byte, error) {
		c.established = false // the caller deletes the half-made context
		return nil, err
	}
	if err := c.sess.Verify(c.mechList, resp.MechListMIC); err != nil {
		return fail(backend.NewError(op, name, backend.StatusMessageAltered, "the client's mechListMIC does not verify", err))
	}
	out, err := (&spnego.NegTokenResp{NegState: spnego.AcceptCompleted, MechListMIC: c.sess.Sign(c.mechList)}).Marshal()
	if err != nil {
		return fail(backend.NewError(op, name, backend.StatusInternalError, "building NegTokenResp", err))
	}
	return out, nil
}

// selected returns the package a context of d actually runs: Negotiate
// reports the mechanism it chose.
func (d *pkgDesc) selected() *pkgDesc {
	if d.spnego {
		return ntlmPkg
	}
	return d
}
