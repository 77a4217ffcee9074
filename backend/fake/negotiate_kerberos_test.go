package fake_test

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/ntlm"
	"github.com/gosspi/gosspi/internal/spnego"
)

// Negotiate between machines of one domain picks Kerberos (MS-SPNG, as
// Windows does in a domain), and falls back to NTLM where Kerberos cannot
// run. The world: CONTOSO with alice, a client machine WS01 and a server
// WEB01 holding HTTP/web01.contoso.test, and a service account svc-other
// holding HTTP/other.contoso.test, which no process here runs as.

var negKrbEpoch = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

type negKrbWorld struct {
	dom            *fake.Domain
	clock          *fake.ManualClock
	ws01, web01    *fake.Machine
	cstore, sstore *sspictx.Store
	aliceSID       string
}

func newNegKrbWorld(t *testing.T) *negKrbWorld {
	t.Helper()
	w := &negKrbWorld{clock: fake.NewManualClock(negKrbEpoch)}
	var err error
	w.dom, err = fake.NewDomain(fake.DomainConfig{Name: "CONTOSO", DNSName: "contoso.test", Clock: w.clock.Now})
	require.NoError(t, err)
	w.aliceSID, err = w.dom.AddUser("alice", "Passw0rd!", "Domain Admins")
	require.NoError(t, err)
	w.ws01, err = w.dom.NewMachine(fake.MachineConfig{Name: "WS01"})
	require.NoError(t, err)
	w.web01, err = w.dom.NewMachine(fake.MachineConfig{Name: "WEB01"})
	require.NoError(t, err)
	require.NoError(t, w.dom.AddSPN("WEB01$", "HTTP/web01.contoso.test"))
	require.NoError(t, w.dom.AddService("svc-other", "", "HTTP/other.contoso.test"))
	w.cstore = sspictx.NewStore(w.ws01.NewProcess())
	w.sstore = sspictx.NewStore(w.web01.NewProcess())
	t.Cleanup(func() {
		assert.NoError(t, w.cstore.CheckLeaks())
		assert.NoError(t, w.sstore.CheckLeaks())
	})
	return w
}

var negAlice = &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"}

const negWebSPN = "HTTP/web01.contoso.test"

// negRun is a Negotiate handshake and the tokens each side sent.
type negRun struct {
	c                  *sspictx.ClientContext
	s                  *sspictx.ServerContext
	toServer, toClient [][]byte
}

// negPair makes a Negotiate client context on cstore and a server context
// on sstore, deleted at cleanup.
func negPair(t *testing.T, cstore, sstore *sspictx.Store, id *sspictx.AuthIdentity, target string, req flags.ClientReq) *negRun {
	t.Helper()
	cc, err := cstore.AcquireCredentials("Negotiate", flags.Outbound, id)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Release() })
	sc, err := sstore.AcquireCredentials("Negotiate", flags.Inbound, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sc.Release() })
	r := &negRun{c: cc.NewClientContext(target, req), s: sc.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality | flags.ServerReqReplayDetect | flags.ServerReqSequenceDetect)}
	t.Cleanup(func() { _ = r.c.Delete(); _ = r.s.Delete() })
	return r
}

// run steps both sides until both are done, or returns the first error;
// it records the tokens each side sent. A client done on its first token
// never takes the server's answer.
func (r *negRun) run() error {
	var toC []byte
	cdone, sdone := false, false
	for i := 0; i < 10 && !(cdone && sdone); i++ {
		var toS []byte
		if !cdone {
			var err error
			if toS, cdone, err = r.c.Step(toC); err != nil {
				return fmt.Errorf("client: %w", err)
			}
			if len(toS) > 0 {
				r.toServer = append(r.toServer, toS)
			}
		}
		if len(toS) == 0 {
			if !sdone {
				return fmt.Errorf("the client is done and sent nothing, the server is not done")
			}
			continue
		}
		var err error
		if toC, sdone, err = r.s.Step(toS); err != nil {
			return fmt.Errorf("server: %w", err)
		}
		r.toClient = append(r.toClient, toC)
	}
	if !cdone || !sdone {
		return fmt.Errorf("not done after 10 rounds")
	}
	return nil
}

func (w *negKrbWorld) pair(t *testing.T, id *sspictx.AuthIdentity, target string, req flags.ClientReq) *negRun {
	return negPair(t, w.cstore, w.sstore, id, target, req)
}

const negKrbReq = flags.ClientReqIntegrity | flags.ClientReqConfidentiality | flags.ClientReqReplayDetect | flags.ClientReqSequenceDetect

var windowsMechs = []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos, spnego.OIDNTLMSSP}

// negotiated returns the package a context's NegotiationInfo names and
// its state (0: complete).
func negotiated(t *testing.T, ctx *sspictx.Context) (string, uint32) {
	t.Helper()
	var info backend.NegotiationInfo
	require.NoError(t, ctx.Raw(func(b backend.Backend, h backend.Handle) error {
		v, err := b.(*fake.Process).QueryContextAttributes(h, backend.AttrNegotiationInfo)
		if err == nil {
			info = v.(backend.NegotiationInfo)
		}
		return err
	}))
	return info.Package.Name, info.State
}

// Two machines of one domain: the NegTokenInit offers {MS-KRB5, KRB5,
// NTLM} with the AP-REQ inside, and the server answers in one
// NegTokenResp: accept-completed, supportedMech the client's first OID,
// the AP-REP with mutual authentication (none without), and no
// mechListMIC (the client's first choice was taken, RFC 4178 section 5).
// Without mutual authentication the client is done on its first call.
func TestNegotiateKerberos(t *testing.T) {
	for _, mutual := range []bool{true, false} {
		t.Run(fmt.Sprintf("mutual=%v", mutual), func(t *testing.T) {
			w := newNegKrbWorld(t)
			req := negKrbReq
			if mutual {
				req |= flags.ClientReqMutualAuth
			}
			r := w.pair(t, negAlice, negWebSPN, req)
			first, cdone, err := r.c.Step(nil)
			require.NoError(t, err)
			assert.Equal(t, !mutual, cdone, "without mutual authentication the client is done on its first token")
			init, err := spnego.ParseNegTokenInit(first)
			require.NoError(t, err)
			assert.Equal(t, windowsMechs, init.MechTypes)
			assert.Nil(t, init.MechListMIC)
			id, apreq, err := gss.UnframeToken(init.MechToken)
			require.NoError(t, err)
			assert.Equal(t, gss.TokAPReq, id)
			assert.NotEmpty(t, apreq)

			reply, sdone, err := r.s.Step(first)
			require.NoError(t, err)
			require.True(t, sdone, "the server is done on the AP-REQ")
			resp, err := spnego.ParseNegTokenResp(reply)
			require.NoError(t, err)
			assert.Equal(t, spnego.AcceptCompleted, resp.NegState)
			assert.Equal(t, spnego.OIDMSKerberos, resp.SupportedMech, "the OID the client listed first")
			assert.Nil(t, resp.MechListMIC)
			if mutual {
				id, _, err := gss.UnframeToken(resp.ResponseToken)
				require.NoError(t, err)
				assert.Equal(t, gss.TokAPRep, id)
				out, cdone, err := r.c.Step(reply)
				require.NoError(t, err)
				require.True(t, cdone)
				assert.Empty(t, out)
			} else {
				assert.Nil(t, resp.ResponseToken, "no AP-REP without mutual authentication")
			}
			assert.Equal(t, mutual, r.c.Flags()&flags.ClientRetMutualAuth != 0)

			for _, ctx := range []*sspictx.Context{&r.c.Context, &r.s.Context} {
				pkg, state := negotiated(t, ctx)
				assert.Equal(t, "Kerberos", pkg)
				assert.Equal(t, uint32(0), state, "SECPKG_NEGOTIATION_COMPLETE")
				info, err := ctx.PackageInfo()
				require.NoError(t, err)
				assert.Equal(t, "Kerberos", info.Name)
				assert.Equal(t, "Negotiate", ctx.Package())
				sz, err := ctx.Sizes()
				require.NoError(t, err)
				assert.Equal(t, uint32(28), sz.MaxSignature, "Kerberos' sizes")
				ls, err := ctx.Lifespan()
				require.NoError(t, err)
				assert.Equal(t, negKrbEpoch.Add(10*time.Hour), ls.Expiry.UTC(), "the context ends with its ticket")
			}
			name, err := r.s.UserName()
			require.NoError(t, err)
			assert.Equal(t, `CONTOSO\alice`, name)
			tok, err := r.s.AccessToken()
			require.NoError(t, err)
			ti, err := tok.Info()
			require.NoError(t, err)
			require.NoError(t, tok.Close())
			assert.Equal(t, w.aliceSID, ti.SID)
			assert.Contains(t, ti.Groups, w.dom.SID()+"-512", "Domain Admins, from the PAC")
			for _, ctx := range []*sspictx.Context{&r.c.Context, &r.s.Context} {
				nn, err := ctx.NativeNames()
				require.NoError(t, err)
				assert.Equal(t, "alice@CONTOSO.TEST", nn.ClientName, "Kerberos principal names, as the Kerberos package reports")
				assert.Equal(t, negWebSPN+"@CONTOSO.TEST", nn.ServerName)
			}

			ck, err := r.c.SessionKey()
			require.NoError(t, err)
			sk, err := r.s.SessionKey()
			require.NoError(t, err)
			assert.Equal(t, ck, sk)
			negProtectBothWays(t, r)
		})
	}
}

// negProtectBothWays signs and seals a message each way, and checks that a
// tampered one is refused.
func negProtectBothWays(t *testing.T, r *negRun) {
	t.Helper()
	for _, dir := range []struct {
		name     string
		from, to *sspictx.Context
	}{{"client to server", &r.c.Context, &r.s.Context}, {"server to client", &r.s.Context, &r.c.Context}} {
		msg := []byte("over Negotiate, " + dir.name)
		sig, err := dir.from.Sign(msg)
		require.NoError(t, err, dir.name)
		require.NoError(t, dir.to.Verify(msg, sig), dir.name)
		tok, data, err := dir.from.Seal(msg)
		require.NoError(t, err, dir.name)
		plain, err := dir.to.Unseal(tok, bytes.Clone(data))
		require.NoError(t, err, dir.name)
		assert.Equal(t, msg, plain, dir.name)
		sig, err = dir.from.Sign(msg)
		require.NoError(t, err)
		bad := bytes.Clone(msg)
		bad[0] ^= 1
		assert.ErrorIs(t, dir.to.Verify(bad, sig), sspictx.StatusMessageAltered, dir.name)
	}
}

// requireNTLMFallback checks a handshake that fell back to NTLM: the
// NegTokenInit offered NTLM alone with its NEGOTIATE_MESSAGE, and both
// sides report NTLM and the right names.
func requireNTLMFallback(t *testing.T, r *negRun, target string) {
	t.Helper()
	init, err := spnego.ParseNegTokenInit(r.toServer[0])
	require.NoError(t, err)
	assert.Equal(t, []asn1.ObjectIdentifier{spnego.OIDNTLMSSP}, init.MechTypes, "Kerberos is left out of the offer")
	assert.True(t, ntlm.IsMessage(init.MechToken), "the optimistic token is NTLM's NEGOTIATE")
	for _, ctx := range []*sspictx.Context{&r.c.Context, &r.s.Context} {
		pkg, _ := negotiated(t, ctx)
		assert.Equal(t, "NTLM", pkg)
	}
	name, err := r.s.UserName()
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, name)
	nn, err := r.c.NativeNames()
	require.NoError(t, err)
	assert.Equal(t, target, nn.ServerName)
	negProtectBothWays(t, r)
}

// Where the client cannot get a ticket it offers NTLM alone, as Windows
// leaves Kerberos out: an SPN the KDC does not know
// (KDC_ERR_S_PRINCIPAL_UNKNOWN), a client machine in no domain, the KDC
// unreachable.
func TestNegotiateKerberosFallsBackToNTLM(t *testing.T) {
	t.Run("unknown SPN", func(t *testing.T) {
		w := newNegKrbWorld(t)
		r := w.pair(t, negAlice, "HTTP/nowhere.contoso.test", negKrbReq|flags.ClientReqMutualAuth)
		require.NoError(t, r.run())
		requireNTLMFallback(t, r, "HTTP/nowhere.contoso.test")
		assert.Zero(t, r.c.Flags()&flags.ClientRetMutualAuth, "NTLM grants no mutual authentication")
	})
	t.Run("client outside the domain", func(t *testing.T) {
		w := newNegKrbWorld(t)
		outside := sspictx.NewStore(fake.NewMachine(fake.MachineConfig{Name: "KIOSK", Domain: "KIOSK"}).NewProcess())
		t.Cleanup(func() { assert.NoError(t, outside.CheckLeaks()) })
		r := negPair(t, outside, w.sstore, negAlice, negWebSPN, negKrbReq)
		require.NoError(t, r.run())
		requireNTLMFallback(t, r, negWebSPN)
	})
	t.Run("KDC unreachable", func(t *testing.T) {
		w := newNegKrbWorld(t)
		w.dom.SetReachable(false)
		r := w.pair(t, negAlice, negWebSPN, negKrbReq)
		require.NoError(t, r.run())
		requireNTLMFallback(t, r, negWebSPN)
	})
	t.Run("identity of another domain", func(t *testing.T) {
		// No KDC for a local account of WS01: NTLM, which WEB01 then
		// refuses, as it does not know WS01's accounts.
		w := newNegKrbWorld(t)
		w.ws01.AddUser("WS01", "bob", "pw")
		r := w.pair(t, &sspictx.AuthIdentity{Domain: "WS01", User: "bob", Password: "pw"}, negWebSPN, negKrbReq)
		err := r.run()
		require.ErrorIs(t, err, sspictx.StatusLogonDenied)
		assert.ErrorContains(t, err, "server:")
		init, err := spnego.ParseNegTokenInit(r.toServer[0])
		require.NoError(t, err)
		assert.Equal(t, []asn1.ObjectIdentifier{spnego.OIDNTLMSSP}, init.MechTypes)
	})
}

// A wrong password is no reason to try NTLM: the client fails with
// SEC_E_LOGON_DENIED on its first call, as the Kerberos package does.
func TestNegotiateKerberosWrongPassword(t *testing.T) {
	w := newNegKrbWorld(t)
	r := w.pair(t, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"}, negWebSPN, negKrbReq)
	_, _, err := r.c.Step(nil)
	require.ErrorIs(t, err, sspictx.StatusLogonDenied)
}

// When neither mechanism can work the client says so where it finds out:
// a process that runs as no user has no outbound Negotiate credentials
// (SEC_E_NO_CREDENTIALS), as for NTLM and Kerberos.
func TestNegotiateNeitherMechanism(t *testing.T) {
	w := newNegKrbWorld(t)
	_, err := w.cstore.AcquireCredentials("Negotiate", flags.Outbound, nil)
	require.ErrorIs(t, err, sspictx.StatusNoCredentials)
}

// A ticket for an SPN the server holds no key of (here svc-other's,
// though the process runs as WEB01$) is declined: the server answers
// request-mic and NTLM, the fake client starts NTLM in its next token,
// and both mechListMICs are exchanged over NTLM.
func TestNegotiateKerberosDeclinedSteersToNTLM(t *testing.T) {
	w := newNegKrbWorld(t)
	r := w.pair(t, negAlice, "HTTP/other.contoso.test", negKrbReq|flags.ClientReqMutualAuth)
	require.NoError(t, r.run())
	init, err := spnego.ParseNegTokenInit(r.toServer[0])
	require.NoError(t, err)
	assert.Equal(t, windowsMechs, init.MechTypes, "the client had a ticket")
	resp, err := spnego.ParseNegTokenResp(r.toClient[0])
	require.NoError(t, err)
	assert.Equal(t, &spnego.NegTokenResp{NegState: spnego.RequestMIC, SupportedMech: spnego.OIDNTLMSSP}, resp)
	last, err := spnego.ParseNegTokenResp(r.toClient[len(r.toClient)-1])
	require.NoError(t, err)
	assert.Equal(t, spnego.AcceptCompleted, last.NegState)
	assert.NotEmpty(t, last.MechListMIC)
	for _, ctx := range []*sspictx.Context{&r.c.Context, &r.s.Context} {
		pkg, _ := negotiated(t, ctx)
		assert.Equal(t, "NTLM", pkg)
	}
	name, err := r.s.UserName()
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, name)
	negProtectBothWays(t, r)
}

// A Kerberos-only offer whose ticket the server declines has nothing to
// fall back to: the Kerberos refusal, SEC_E_WRONG_PRINCIPAL.
func TestNegotiateKerberosOnlyDeclined(t *testing.T) {
	w := newNegKrbWorld(t)
	r := w.pair(t, negAlice, "HTTP/other.contoso.test", negKrbReq)
	first, _, err := r.c.Step(nil)
	require.NoError(t, err)
	init, err := spnego.ParseNegTokenInit(first)
	require.NoError(t, err)
	init.MechTypes = init.MechTypes[:2]
	krbOnly, err := init.Marshal()
	require.NoError(t, err)
	_, _, err = r.s.Step(krbOnly)
	require.ErrorIs(t, err, sspictx.StatusWrongPrincipal)
}

// A server outside the domain cannot accept Kerberos at all: a domain
// client's Kerberos-first offer is steered to NTLM, which the server
// checks against its own directory.
func TestNegotiateKerberosServerOutsideDomain(t *testing.T) {
	w := newNegKrbWorld(t)
	m := fake.NewMachine(fake.MachineConfig{Name: "WEB01", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	outside := sspictx.NewStore(m.NewProcess())
	t.Cleanup(func() { assert.NoError(t, outside.CheckLeaks()) })
	r := negPair(t, w.cstore, outside, negAlice, negWebSPN, negKrbReq|flags.ClientReqMutualAuth)
	require.NoError(t, r.run())
	resp, err := spnego.ParseNegTokenResp(r.toClient[0])
	require.NoError(t, err)
	assert.Equal(t, spnego.RequestMIC, resp.NegState)
	pkg, _ := negotiated(t, &r.s.Context)
	assert.Equal(t, "NTLM", pkg)
	negProtectBothWays(t, r)
}

// An MIT client's AP-REQ for a realm the fake does not have (a capture
// from a real MIT realm) is declined by a domain-joined server too: the
// answer is MIT's own, request-mic and NTLM.
func TestNegotiateKerberosMITRealmSteered(t *testing.T) {
	w := newNegKrbWorld(t)
	mit := readCapture(t, "mit-kerberos-first-to-fake.txt")
	want := readCapture(t, "mit-kerberos-first-to-mit.txt")
	sc, err := w.sstore.AcquireCredentials("Negotiate", flags.Inbound, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, sc.Release()) }()
	s := sc.NewServerContext(0)
	defer func() { _ = s.Delete() }()
	out, done, err := s.Step(mit.Tokens[0].Data)
	require.NoError(t, err)
	require.False(t, done)
	assert.Equal(t, want.Tokens[1].Data, out)
}

// A tampered AP-REQ inside SPNEGO is refused with the status the Kerberos
// package gives the same AP-REQ, not steered to NTLM.
func TestNegotiateKerberosTamperedAPReq(t *testing.T) {
	w := newNegKrbWorld(t)
	r := w.pair(t, negAlice, negWebSPN, negKrbReq|flags.ClientReqMutualAuth)
	first, _, err := r.c.Step(nil)
	require.NoError(t, err)
	init, err := spnego.ParseNegTokenInit(first)
	require.NoError(t, err)
	init.MechToken[len(init.MechToken)-3] ^= 1 // in the authenticator's ciphertext
	bad, err := init.Marshal()
	require.NoError(t, err)
	_, _, err = r.s.Step(bad)
	require.Error(t, err)
	st := sspictx.StatusOf(err)

	sc, err := w.sstore.AcquireCredentials("Kerberos", flags.Inbound, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, sc.Release()) }()
	plain := sc.NewServerContext(0)
	defer func() { _ = plain.Delete() }()
	_, _, err = plain.Step(init.MechToken)
	require.Error(t, err)
	assert.Equal(t, sspictx.StatusOf(err), st, "the status of the Kerberos package")
	assert.NotEqual(t, sspictx.StatusInvalidToken, st)
	assert.False(t, r.s.Established())
}

// The server checks a mechListMIC the client sends with its AP-REQ (here
// made with the client's own session, which a client without mutual
// authentication has on its first call) and answers with its own; a
// tampered one fails with SEC_E_MESSAGE_ALTERED.
func TestNegotiateKerberosMechListMIC(t *testing.T) {
	for _, tamper := range []bool{false, true} {
		t.Run(fmt.Sprintf("tampered=%v", tamper), func(t *testing.T) {
			w := newNegKrbWorld(t)
			r := w.pair(t, negAlice, negWebSPN, negKrbReq)
			first, done, err := r.c.Step(nil)
			require.NoError(t, err)
			require.True(t, done)
			init, err := spnego.ParseNegTokenInit(first)
			require.NoError(t, err)
			list, err := spnego.MechTypeListDER(init.MechTypes)
			require.NoError(t, err)
			init.MechListMIC, err = r.c.Sign(list)
			require.NoError(t, err)
			if tamper {
				init.MechListMIC[len(init.MechListMIC)-1] ^= 1
			}
			withMIC, err := init.Marshal()
			require.NoError(t, err)
			reply, done, err := r.s.Step(withMIC)
			if tamper {
				require.ErrorIs(t, err, sspictx.StatusMessageAltered)
				return
			}
			require.NoError(t, err)
			require.True(t, done)
			resp, err := spnego.ParseNegTokenResp(reply)
			require.NoError(t, err)
			assert.Equal(t, spnego.AcceptCompleted, resp.NegState)
			require.NotEmpty(t, resp.MechListMIC)
			require.NoError(t, r.c.Verify(list, resp.MechListMIC), "the server's MIC, with its session")
		})
	}
}

// The fake client takes a server's mechListMIC beside the AP-REP, and
// refuses a tampered one with SEC_E_MESSAGE_ALTERED.
func TestNegotiateKerberosServerMIC(t *testing.T) {
	for _, tamper := range []bool{false, true} {
		t.Run(fmt.Sprintf("tampered=%v", tamper), func(t *testing.T) {
			w := newNegKrbWorld(t)
			r := w.pair(t, negAlice, negWebSPN, negKrbReq|flags.ClientReqMutualAuth)
			first, _, err := r.c.Step(nil)
			require.NoError(t, err)
			reply, _, err := r.s.Step(first)
			require.NoError(t, err)
			resp, err := spnego.ParseNegTokenResp(reply)
			require.NoError(t, err)
			list, err := spnego.MechTypeListDER(windowsMechs)
			require.NoError(t, err)
			resp.MechListMIC, err = r.s.Sign(list)
			require.NoError(t, err)
			if tamper {
				resp.MechListMIC[len(resp.MechListMIC)-1] ^= 1
			}
			withMIC, err := resp.Marshal()
			require.NoError(t, err)
			_, done, err := r.c.Step(withMIC)
			if tamper {
				require.ErrorIs(t, err, sspictx.StatusMessageAltered)
				assert.False(t, r.c.Established())
				return
			}
			require.NoError(t, err)
			require.True(t, done)
		})
	}
}

// A Negotiate context over Kerberos exports and imports under Negotiate,
// on both sides, and goes on where it was, or, with RESET_NEW, where the
// handshake left it.
func TestNegotiateKerberosExportImport(t *testing.T) {
	for _, server := range []bool{true, false} {
		t.Run(fmt.Sprintf("server=%v", server), func(t *testing.T) {
			w := newNegKrbWorld(t)
			r := w.pair(t, negAlice, negWebSPN, negKrbReq|flags.ClientReqMutualAuth)
			require.NoError(t, r.run())
			exporter, peer, store := &r.s.Context, &r.c.Context, w.sstore
			if !server {
				exporter, peer, store = peer, exporter, w.cstore
			}
			sig, err := exporter.Sign([]byte("before"))
			require.NoError(t, err)
			require.NoError(t, peer.Verify([]byte("before"), sig))
			blob, err := exporter.Export(flags.DeleteOld)
			require.NoError(t, err)
			imp, err := store.Import("Negotiate", blob, nil)
			require.NoError(t, err)
			defer func() { require.NoError(t, imp.Delete()) }()
			info, err := imp.PackageInfo()
			require.NoError(t, err)
			assert.Equal(t, "Kerberos", info.Name)
			sig, err = peer.Sign([]byte("after"))
			require.NoError(t, err)
			require.NoError(t, imp.Verify([]byte("after"), sig))
			tok, data, err := imp.Seal([]byte("back"))
			require.NoError(t, err)
			plain, err := peer.Unseal(tok, data)
			require.NoError(t, err)
			assert.Equal(t, "back", string(plain))
			if server {
				name, err := imp.UserName()
				require.NoError(t, err)
				assert.Equal(t, `CONTOSO\alice`, name)
			}
		})
	}
}

// A client without mutual authentication is done on its AP-REQ, so it
// cannot follow a server that steers it to NTLM (here one outside the
// domain): the server answers request-mic and waits for an NTLM token
// that never comes. With mutual authentication the client follows
// (TestNegotiateKerberosServerOutsideDomain).
func TestNegotiateKerberosNotMutualCannotBeSteered(t *testing.T) {
	w := newNegKrbWorld(t)
	m := fake.NewMachine(fake.MachineConfig{Name: "WEB01", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	outside := sspictx.NewStore(m.NewProcess())
	t.Cleanup(func() { assert.NoError(t, outside.CheckLeaks()) })
	r := negPair(t, w.cstore, outside, negAlice, negWebSPN, negKrbReq)
	first, cdone, err := r.c.Step(nil)
	require.NoError(t, err)
	require.True(t, cdone)
	reply, sdone, err := r.s.Step(first)
	require.NoError(t, err)
	assert.False(t, sdone)
	resp, err := spnego.ParseNegTokenResp(reply)
	require.NoError(t, err)
	assert.Equal(t, &spnego.NegTokenResp{NegState: spnego.RequestMIC, SupportedMech: spnego.OIDNTLMSSP}, resp)
	assert.True(t, r.c.Established())
	assert.False(t, r.s.Established())
}

// fake.Handshake drives Negotiate over Kerberos both ways: with mutual
// authentication the client finishes last on the AP-REP; without it the
// client finishes first and the server's accept-completed is dropped.
func TestNegotiateKerberosWithHandshakeHelper(t *testing.T) {
	for _, mutual := range []bool{true, false} {
		t.Run(fmt.Sprintf("mutual=%v", mutual), func(t *testing.T) {
			w := newNegKrbWorld(t)
			req := negKrbReq
			if mutual {
				req |= flags.ClientReqMutualAuth
			}
			r := w.pair(t, negAlice, negWebSPN, req)
			require.NoError(t, fake.Handshake(r.c, r.s))
			pkg, _ := negotiated(t, &r.c.Context)
			assert.Equal(t, "Kerberos", pkg)
			negProtectBothWays(t, r)
		})
	}
}

// A Negotiate server context over Kerberos names the client, and gives
// its access token the groups, exactly as the Kerberos package does.
func TestNegotiateKerberosSameIdentityAsKerberos(t *testing.T) {
	w := newNegKrbWorld(t)
	identity := func(pkg string) (sspictx.NativeNames, sspictx.TokenInfo, string) {
		cc, err := w.cstore.AcquireCredentials(pkg, flags.Outbound, negAlice)
		require.NoError(t, err)
		defer func() { require.NoError(t, cc.Release()) }()
		sc, err := w.sstore.AcquireCredentials(pkg, flags.Inbound, nil)
		require.NoError(t, err)
		defer func() { require.NoError(t, sc.Release()) }()
		c := cc.NewClientContext(negWebSPN, negKrbReq|flags.ClientReqMutualAuth)
		s := sc.NewServerContext(0)
		defer func() { _, _ = c.Delete(), s.Delete() }()
		require.NoError(t, fake.Handshake(c, s))
		nn, err := s.NativeNames()
		require.NoError(t, err)
		name, err := s.UserName()
		require.NoError(t, err)
		tok, err := s.AccessToken()
		require.NoError(t, err)
		defer func() { require.NoError(t, tok.Close()) }()
		ti, err := tok.Info()
		require.NoError(t, err)
		return nn, ti, name
	}
	knn, kti, kname := identity("Kerberos")
	nnn, nti, nname := identity("Negotiate")
	assert.Equal(t, knn, nnn)
	assert.Equal(t, kti, nti)
	assert.Equal(t, kname, nname)
	assert.Equal(t, `CONTOSO\alice`, nname)
}

// A Negotiate server credential acquired for a service account accepts
// Kerberos tickets to that account's SPNs; a ticket to the machine's is
// not for it, and a credential of an account without SPNs has no Kerberos
// keys: both steer the client to NTLM.
func TestNegotiateKerberosExplicitServerCredential(t *testing.T) {
	w := newNegKrbWorld(t)
	require.NoError(t, w.dom.AddService("svc-sql", "Svc!pw", "MSSQLSvc/web01.contoso.test:1433"))
	run := func(id *sspictx.AuthIdentity, target string) string {
		cc, err := w.cstore.AcquireCredentials("Negotiate", flags.Outbound, negAlice)
		require.NoError(t, err)
		defer func() { require.NoError(t, cc.Release()) }()
		sc, err := w.sstore.AcquireCredentials("Negotiate", flags.Inbound, id)
		require.NoError(t, err)
		defer func() { require.NoError(t, sc.Release()) }()
		c := cc.NewClientContext(target, negKrbReq|flags.ClientReqMutualAuth)
		s := sc.NewServerContext(0)
		defer func() { _, _ = c.Delete(), s.Delete() }()
		require.NoError(t, fake.Handshake(c, s))
		name, err := s.UserName()
		require.NoError(t, err)
		assert.Equal(t, `CONTOSO\alice`, name)
		pkg, _ := negotiated(t, &s.Context)
		return pkg
	}
	svc := &sspictx.AuthIdentity{Domain: "CONTOSO", User: "svc-sql", Password: "Svc!pw"}
	assert.Equal(t, "Kerberos", run(svc, "MSSQLSvc/web01.contoso.test:1433"))
	assert.Equal(t, "NTLM", run(svc, "HOST/web01.contoso.test"), "not the account's SPN")
	assert.Equal(t, "NTLM", run(negAlice, "HOST/web01.contoso.test"), "alice has no SPN, so no Kerberos keys")
}

// The acceptor takes Kerberos under either OID and names in supportedMech
// the one the client listed first: RFC 4121's, as MIT clients list it. A
// client that offers Kerberos without its token gets accept-incomplete
// and sends the AP-REQ next; the server completes on it with the AP-REP.
func TestNegotiateKerberosEitherOID(t *testing.T) {
	mitMechs := []asn1.ObjectIdentifier{spnego.OIDKerberos, spnego.OIDNTLMSSP}
	t.Run("optimistic", func(t *testing.T) {
		w := newNegKrbWorld(t)
		r := w.pair(t, negAlice, negWebSPN, negKrbReq|flags.ClientReqMutualAuth)
		first, _, err := r.c.Step(nil)
		require.NoError(t, err)
		init, err := spnego.ParseNegTokenInit(first)
		require.NoError(t, err)
		init.MechTypes = mitMechs
		tok, err := init.Marshal()
		require.NoError(t, err)
		reply, done, err := r.s.Step(tok)
		require.NoError(t, err)
		require.True(t, done)
		resp, err := spnego.ParseNegTokenResp(reply)
		require.NoError(t, err)
		assert.Equal(t, spnego.OIDKerberos, resp.SupportedMech)
		_, done, err = r.c.Step(reply)
		require.NoError(t, err)
		require.True(t, done, "the fake client takes either OID")
		negProtectBothWays(t, r)
	})
	t.Run("token later", func(t *testing.T) {
		w := newNegKrbWorld(t)
		r := w.pair(t, negAlice, negWebSPN, negKrbReq|flags.ClientReqMutualAuth)
		first, _, err := r.c.Step(nil)
		require.NoError(t, err)
		init, err := spnego.ParseNegTokenInit(first)
		require.NoError(t, err)
		apreq := init.MechToken
		init.MechTypes, init.MechToken = mitMechs, nil
		tok, err := init.Marshal()
		require.NoError(t, err)
		reply, done, err := r.s.Step(tok)
		require.NoError(t, err)
		require.False(t, done)
		assert.Equal(t, &spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, SupportedMech: spnego.OIDKerberos}, parseResp(t, reply))
		reply, done, err = r.s.Step(marshalResp(t, &spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, ResponseToken: apreq}))
		require.NoError(t, err)
		require.True(t, done)
		resp := parseResp(t, reply)
		assert.Equal(t, spnego.AcceptCompleted, resp.NegState)
		assert.Nil(t, resp.SupportedMech, "supportedMech is only in the first reply")
		assert.Nil(t, resp.MechListMIC)
		require.NotEmpty(t, resp.ResponseToken, "the AP-REP")
		// The fake client waits for a first reply naming the mechanism.
		resp.SupportedMech = spnego.OIDKerberos
		_, done, err = r.c.Step(marshalResp(t, resp))
		require.NoError(t, err)
		require.True(t, done)
		negProtectBothWays(t, r)
	})
}

// Kerberos as the client's second choice (after a mechanism the server
// does not have): request-mic and Kerberos; the AP-REQ in the next token
// is answered with accept-incomplete, the AP-REP and the server's
// mechListMIC, and the client's MIC completes the negotiation (RFC 4178
// section 5).
func TestNegotiateKerberosSecondChoice(t *testing.T) {
	for _, tamper := range []bool{false, true} {
		t.Run(fmt.Sprintf("tampered=%v", tamper), func(t *testing.T) {
			w := newNegKrbWorld(t)
			r := w.pair(t, negAlice, negWebSPN, negKrbReq|flags.ClientReqMutualAuth)
			first, _, err := r.c.Step(nil)
			require.NoError(t, err)
			init, err := spnego.ParseNegTokenInit(first)
			require.NoError(t, err)
			apreq := init.MechToken
			negoEx := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 30}
			mechs := []asn1.ObjectIdentifier{negoEx, spnego.OIDKerberos}
			list, err := spnego.MechTypeListDER(mechs)
			require.NoError(t, err)
			tok, err := (&spnego.NegTokenInit{MechTypes: mechs, MechToken: []byte("negoex")}).Marshal()
			require.NoError(t, err)
			reply, done, err := r.s.Step(tok)
			require.NoError(t, err)
			require.False(t, done)
			assert.Equal(t, &spnego.NegTokenResp{NegState: spnego.RequestMIC, SupportedMech: spnego.OIDKerberos}, parseResp(t, reply))

			reply, done, err = r.s.Step(marshalResp(t, &spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, ResponseToken: apreq}))
			require.NoError(t, err)
			require.False(t, done, "the client's MIC is due")
			resp := parseResp(t, reply)
			assert.Equal(t, spnego.AcceptIncomplete, resp.NegState)
			require.NotEmpty(t, resp.ResponseToken, "the AP-REP")
			require.NotEmpty(t, resp.MechListMIC)
			// The fake client checks the AP-REP (it offered Kerberos first,
			// so it takes it as completing), then MICs go over the list
			// this client sent.
			_, done, err = r.c.Step(marshalResp(t, &spnego.NegTokenResp{NegState: spnego.AcceptCompleted, SupportedMech: spnego.OIDMSKerberos, ResponseToken: resp.ResponseToken}))
			require.NoError(t, err)
			require.True(t, done)
			require.NoError(t, r.c.Verify(list, resp.MechListMIC), "the server's MIC")
			mic, err := r.c.Sign(list)
			require.NoError(t, err)
			if tamper {
				mic[len(mic)-1] ^= 1
			}
			reply, done, err = r.s.Step(marshalResp(t, &spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, MechListMIC: mic}))
			if tamper {
				require.ErrorIs(t, err, sspictx.StatusMessageAltered)
				return
			}
			require.NoError(t, err)
			require.True(t, done)
			assert.Equal(t, &spnego.NegTokenResp{NegState: spnego.AcceptCompleted}, parseResp(t, reply))
			name, err := r.s.UserName()
			require.NoError(t, err)
			assert.Equal(t, `CONTOSO\alice`, name)
			pkg, _ := negotiated(t, &r.s.Context)
			assert.Equal(t, "Kerberos", pkg)
			negProtectBothWays(t, r)
		})
	}
}

// A server that sends its mechListMIC beside the AP-REP without completing
// gets the fake client's MIC back, and the client is done.
func TestNegotiateKerberosClientAnswersServerMIC(t *testing.T) {
	w := newNegKrbWorld(t)
	r := w.pair(t, negAlice, negWebSPN, negKrbReq|flags.ClientReqMutualAuth)
	first, _, err := r.c.Step(nil)
	require.NoError(t, err)
	reply, _, err := r.s.Step(first)
	require.NoError(t, err)
	resp := parseResp(t, reply)
	list, err := spnego.MechTypeListDER(windowsMechs)
	require.NoError(t, err)
	resp.NegState = spnego.AcceptIncomplete
	resp.MechListMIC, err = r.s.Sign(list)
	require.NoError(t, err)
	out, done, err := r.c.Step(marshalResp(t, resp))
	require.NoError(t, err)
	require.True(t, done)
	last := parseResp(t, out)
	assert.Nil(t, last.ResponseToken)
	require.NoError(t, r.s.Verify(list, last.MechListMIC), "the client's MIC")
	negProtectBothWays(t, r)
}
