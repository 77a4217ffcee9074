package fake_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

var krbEpoch = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// krbWorld is one domain with a client machine WS01 and a server machine
// WEB01 (HTTP/web01.contoso.test registered on WEB01$), each with its own
// clock.
type krbWorld struct {
	dom              *fake.Domain
	domClock, cClock *fake.ManualClock
	sClock           *fake.ManualClock
	ws01, web01      *fake.Machine
	cstore, sstore   *sspictx.Store
	aliceSID         string
}

func newKrbWorld(t *testing.T, cfg fake.DomainConfig) *krbWorld {
	t.Helper()
	w := &krbWorld{
		domClock: fake.NewManualClock(krbEpoch),
		cClock:   fake.NewManualClock(krbEpoch),
		sClock:   fake.NewManualClock(krbEpoch),
	}
	cfg.Name, cfg.DNSName, cfg.Clock = "CONTOSO", "contoso.test", w.domClock.Now
	var err error
	w.dom, err = fake.NewDomain(cfg)
	require.NoError(t, err)
	w.aliceSID, err = w.dom.AddUser("alice", "Passw0rd!", "Web Admins", "Domain Admins")
	require.NoError(t, err)
	w.ws01, err = w.dom.NewMachine(fake.MachineConfig{Name: "WS01", Clock: w.cClock.Now})
	require.NoError(t, err)
	w.web01, err = w.dom.NewMachine(fake.MachineConfig{Name: "WEB01", Clock: w.sClock.Now})
	require.NoError(t, err)
	require.NoError(t, w.dom.AddSPN("WEB01$", "HTTP/web01.contoso.test"))
	w.cstore = sspictx.NewStore(w.ws01.NewProcess())
	w.sstore = sspictx.NewStore(w.web01.NewProcess())
	t.Cleanup(func() {
		assert.NoError(t, w.cstore.CheckLeaks())
		assert.NoError(t, w.sstore.CheckLeaks())
	})
	return w
}

var krbAlice = &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"}

type krbPair struct {
	c        *sspictx.ClientContext
	s        *sspictx.ServerContext
	toServer []byte // the client's first token
}

// handshake runs a Kerberos handshake WS01 -> WEB01; it returns the first
// error, and the contexts (deleted at cleanup).
func (w *krbWorld) handshake(t *testing.T, id *sspictx.AuthIdentity, target string, req flags.ClientReq, cb, sb []byte) (*krbPair, error) {
	t.Helper()
	cc, err := w.cstore.AcquireCredentials("Kerberos", flags.Outbound, id)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Release() })
	sc, err := w.sstore.AcquireCredentials("Kerberos", flags.Inbound, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sc.Release() })
	p := &krbPair{c: cc.NewClientContext(target, req), s: sc.NewServerContext(flags.ServerReqReplayDetect | flags.ServerReqSequenceDetect | flags.ServerReqConfidentiality)}
	t.Cleanup(func() { _ = p.c.Delete(); _ = p.s.Delete() })
	if cb != nil {
		p.c.SetChannelBindings(cb)
	}
	if sb != nil {
		p.s.SetChannelBindings(sb)
	}
	tok, cdone, err := p.c.Step(nil)
	if err != nil {
		return p, err
	}
	p.toServer = tok
	back, sdone, err := p.s.Step(tok)
	if err != nil {
		return p, err
	}
	require.True(t, sdone, "the server is done on the AP-REQ")
	if cdone {
		require.Empty(t, back, "no AP-REP without mutual authentication")
		return p, nil
	}
	require.NotEmpty(t, back)
	out, cdone, err := p.c.Step(back)
	if err != nil {
		return p, err
	}
	require.True(t, cdone)
	require.Empty(t, out)
	return p, nil
}

const stdReq = flags.ClientReqReplayDetect | flags.ClientReqSequenceDetect | flags.ClientReqConfidentiality | flags.ClientReqIntegrity

func statusOf(err error) sspictx.Status { return sspictx.StatusOf(err) }

func TestKerberosHandshakeAcrossMachines(t *testing.T) {
	for _, mutual := range []bool{true, false} {
		t.Run(fmt.Sprintf("mutual=%v", mutual), func(t *testing.T) {
			w := newKrbWorld(t, fake.DomainConfig{})
			req := stdReq
			if mutual {
				req |= flags.ClientReqMutualAuth
			}
			p, err := w.handshake(t, krbAlice, "HTTP/web01.contoso.test", req, nil, nil)
			require.NoError(t, err)
			assert.Equal(t, mutual, p.c.Flags()&flags.ClientRetMutualAuth != 0)
			exchangeMessages(t, p)

			name, err := p.s.UserName()
			require.NoError(t, err)
			assert.Equal(t, `CONTOSO\alice`, name)
			for _, ctx := range []*sspictx.Context{&p.c.Context, &p.s.Context} {
				nn, err := ctx.NativeNames()
				require.NoError(t, err)
				assert.Equal(t, "alice@CONTOSO.TEST", nn.ClientName, "Kerberos principal names")
				assert.Equal(t, "HTTP/web01.contoso.test@CONTOSO.TEST", nn.ServerName)
			}

			ck, err := p.c.SessionKey()
			require.NoError(t, err)
			sk, err := p.s.SessionKey()
			require.NoError(t, err)
			assert.Equal(t, ck, sk, "both sides hold the same session key")
			assert.Len(t, ck, 32, "an aes256 key")

			for _, ctx := range []*sspictx.Context{&p.c.Context, &p.s.Context} {
				sz, err := ctx.Sizes()
				require.NoError(t, err)
				assert.Equal(t, uint32(28), sz.MaxSignature)
				assert.Equal(t, uint32(60), sz.SecurityTrailer)
				assert.Equal(t, uint32(1), sz.BlockSize)
				assert.Equal(t, uint32(48000), sz.MaxToken)
				ls, err := ctx.Lifespan()
				require.NoError(t, err)
				assert.Equal(t, krbEpoch.Add(10*time.Hour), ls.Expiry.UTC(), "the context ends with its ticket")
			}

			tok, err := p.s.AccessToken()
			require.NoError(t, err)
			defer func() { require.NoError(t, tok.Close()) }()
			info, err := tok.Info()
			require.NoError(t, err)
			assert.Equal(t, w.aliceSID, info.SID)
			want := []string{"S-1-1-0", "S-1-5-11", w.dom.SID() + "-513", w.dom.SID() + "-2000", w.dom.SID() + "-512", "S-1-18-1"}
			assert.Empty(t, cmp.Diff(want, info.Groups), "the PAC's groups, and Authentication authority asserted identity")
		})
	}
}

// exchangeMessages signs and seals several messages both ways, and checks
// that tampered and replayed ones are refused.
func exchangeMessages(t *testing.T, p *krbPair) {
	t.Helper()
	for i := range 3 {
		for _, dir := range []struct {
			from, to *sspictx.Context
		}{{&p.c.Context, &p.s.Context}, {&p.s.Context, &p.c.Context}} {
			m := []byte(fmt.Sprintf("message %d", i))
			sig, err := dir.from.Sign(m)
			require.NoError(t, err)
			require.Len(t, sig, 28)
			require.NoError(t, dir.to.Verify(m, sig))
			require.Equal(t, sspictx.StatusOutOfSequence, statusOf(dir.to.Verify(m, sig)), "replayed")

			sig, err = dir.from.Sign(m)
			require.NoError(t, err)
			bad := bytes.Clone(m)
			bad[0] ^= 1
			require.Equal(t, sspictx.StatusMessageAltered, statusOf(dir.to.Verify(bad, sig)), "tampered")
			require.NoError(t, dir.to.Verify(m, sig), "a refused message leaves the session as it was")

			tokn, data, err := dir.from.Seal(m)
			require.NoError(t, err)
			require.NotEqual(t, m, data)
			badData := bytes.Clone(data)
			badData[len(badData)-1] ^= 1
			_, err = dir.to.Unseal(tokn, badData)
			require.Equal(t, sspictx.StatusMessageAltered, statusOf(err), "tampered")
			plain, err := dir.to.Unseal(tokn, data)
			require.NoError(t, err)
			require.Equal(t, m, plain)
			_, err = dir.to.Unseal(tokn, data)
			require.Equal(t, sspictx.StatusOutOfSequence, statusOf(err), "replayed")
		}
	}
}

func TestKerberosRefusals(t *testing.T) {
	cbA := tlsBindings("tls-server-end-point:a")
	cbB := tlsBindings("tls-server-end-point:b")
	tests := []struct {
		name   string
		id     *sspictx.AuthIdentity
		target string
		setup  func(w *krbWorld)
		cb, sb []byte
		want   sspictx.Status
		server bool // the server refuses, not the client
	}{
		{name: "unknown SPN", target: "HTTP/nowhere.contoso.test", want: sspictx.StatusTargetUnknown},
		{name: "wrong password", id: &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"}, want: sspictx.StatusLogonDenied},
		{name: "unknown user", id: &sspictx.AuthIdentity{Domain: "CONTOSO", User: "mallory", Password: "x"}, want: sspictx.StatusLogonDenied},
		{name: "KDC unreachable", setup: func(w *krbWorld) { w.dom.SetReachable(false) }, want: sspictx.StatusNoAuthenticatingAuthority},
		{name: "other domain", id: &sspictx.AuthIdentity{Domain: "FABRIKAM", User: "alice", Password: "Passw0rd!"}, want: sspictx.StatusNoAuthenticatingAuthority},
		{name: "clock skew", setup: func(w *krbWorld) { w.sClock.Advance(6 * time.Minute) }, want: sspictx.StatusTimeSkew, server: true},
		{name: "bindings mismatch", cb: cbA, sb: cbB, want: sspictx.StatusBadBindings, server: true},
		{name: "bindings missing", sb: cbB, want: sspictx.StatusBadBindings, server: true},
		{name: "SPN of another machine", target: "HOST/ws01.contoso.test", want: sspictx.StatusWrongPrincipal, server: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newKrbWorld(t, fake.DomainConfig{})
			if tc.setup != nil {
				tc.setup(w)
			}
			id, target := tc.id, tc.target
			if id == nil {
				id = krbAlice
			}
			if target == "" {
				target = "HTTP/web01.contoso.test"
			}
			p, err := w.handshake(t, id, target, stdReq|flags.ClientReqMutualAuth, tc.cb, tc.sb)
			require.Error(t, err)
			assert.Equal(t, tc.want, statusOf(err), "%v", err)
			assert.Equal(t, tc.server, p.toServer != nil, "which side refused: %v", err)
		})
	}
}

// A ticket that expired more than the allowed skew ago by the server's
// clock is SEC_E_CONTEXT_EXPIRED. Every clock stays within 5 minutes of the
// next (the KDC's behind the client's, the server's ahead), so no skew
// check fires first; the KDC issues one-second tickets.
func TestKerberosTicketExpired(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{TicketLifetime: time.Second})
	w.domClock.Advance(-4*time.Minute - 30*time.Second)
	w.sClock.Advance(4 * time.Minute)
	_, err := w.handshake(t, krbAlice, "HTTP/web01.contoso.test", stdReq, nil, nil)
	require.Error(t, err)
	assert.Equal(t, sspictx.StatusContextExpired, statusOf(err), "%v", err)
}

// Matching channel bindings pass, and a server that allows missing ones
// lets a client without them through.
func TestKerberosBindings(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{})
	cb := tlsBindings("tls-server-end-point:a")
	_, err := w.handshake(t, krbAlice, "HTTP/web01.contoso.test", stdReq, cb, cb)
	require.NoError(t, err)
}

// A machine in no domain has no KDC to ask.
func TestKerberosStandalone(t *testing.T) {
	m := fake.NewMachine(fake.MachineConfig{Name: "LONER"})
	st := sspictx.NewStore(m.NewProcess())
	cc, err := st.AcquireCredentials("Kerberos", flags.Outbound, krbAlice)
	require.NoError(t, err)
	defer func() { _ = cc.Release() }()
	c := cc.NewClientContext("HOST/x", 0)
	_, _, err = c.Step(nil)
	assert.Equal(t, sspictx.StatusNoAuthenticatingAuthority, statusOf(err))
	_ = c.Delete()
}

// Tickets are cached: the second handshake works while the KDC is
// unreachable, until the ticket expires by the client's clock.
func TestKerberosTicketCache(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{})
	_, err := w.handshake(t, krbAlice, "HTTP/web01.contoso.test", stdReq, nil, nil)
	require.NoError(t, err)
	w.dom.SetReachable(false)
	_, err = w.handshake(t, krbAlice, "HTTP/web01.contoso.test", stdReq, nil, nil)
	require.NoError(t, err, "from the cache")
	_, err = w.handshake(t, krbAlice, "HOST/web01.contoso.test", stdReq, nil, nil)
	require.Equal(t, sspictx.StatusNoAuthenticatingAuthority, statusOf(err), "a new SPN needs the KDC")
	for _, c := range []*fake.ManualClock{w.cClock, w.sClock, w.domClock} {
		c.Advance(11 * time.Hour)
	}
	_, err = w.handshake(t, krbAlice, "HTTP/web01.contoso.test", stdReq, nil, nil)
	require.Equal(t, sspictx.StatusNoAuthenticatingAuthority, statusOf(err), "the cached ticket expired")
	w.dom.SetReachable(true)
	_, err = w.handshake(t, krbAlice, "HTTP/web01.contoso.test", stdReq, nil, nil)
	require.NoError(t, err)
	_, err = w.handshake(t, &sspictx.AuthIdentity{Domain: "contoso.test", User: "ALICE", Password: "wrong"}, "HTTP/web01.contoso.test", stdReq, nil, nil)
	require.Equal(t, sspictx.StatusLogonDenied, statusOf(err), "a wrong password never uses the right one's tickets")
}

// A target may name its realm; one with no SPN is unknown.
func TestKerberosTargetForms(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{})
	_, err := w.handshake(t, krbAlice, "HTTP/web01.contoso.test@CONTOSO.TEST", stdReq, nil, nil)
	require.NoError(t, err)
	_, err = w.handshake(t, krbAlice, "", stdReq, nil, nil)
	assert.Equal(t, sspictx.StatusTargetUnknown, statusOf(err))
}

// A UPN names the user and its domain in one.
func TestKerberosUPN(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{})
	p, err := w.handshake(t, &sspictx.AuthIdentity{User: "alice@contoso.test", Password: "Passw0rd!"}, "HTTP/web01.contoso.test", stdReq, nil, nil)
	require.NoError(t, err)
	name, err := p.s.UserName()
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, name)
	_, err = w.handshake(t, &sspictx.AuthIdentity{User: "alice@fabrikam.test", Password: "Passw0rd!"}, "HTTP/web01.contoso.test", stdReq, nil, nil)
	assert.Equal(t, sspictx.StatusNoAuthenticatingAuthority, statusOf(err))
}

// A service account's process accepts tickets to its SPNs; the machine's
// other processes do not hold its keys.
func TestKerberosServiceAccount(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{})
	require.NoError(t, w.dom.AddService("svc-sql", "Svc!pw", "MSSQLSvc/web01.contoso.test:1433"))
	w.sstore = sspictx.NewStore(w.web01.NewProcess(fake.AsUser("CONTOSO", "svc-sql", "Svc!pw")))
	p, err := w.handshake(t, krbAlice, "MSSQLSvc/web01.contoso.test:1433", stdReq, nil, nil)
	require.NoError(t, err)
	name, err := p.s.UserName()
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, name)
	// The same process still accepts tickets to the machine's SPNs.
	_, err = w.handshake(t, krbAlice, "HOST/web01.contoso.test", stdReq, nil, nil)
	require.NoError(t, err)
	w.sstore = sspictx.NewStore(w.web01.NewProcess())
	_, err = w.handshake(t, krbAlice, "MSSQLSvc/web01.contoso.test:1433", stdReq, nil, nil)
	require.Equal(t, sspictx.StatusWrongPrincipal, statusOf(err))
}

// A server credential acquired with a service account's explicit identity
// accepts tickets to that account's SPNs, and only those; with a wrong
// password it accepts none.
func TestKerberosExplicitServerCredential(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{})
	require.NoError(t, w.dom.AddService("svc-sql", "Svc!pw", "MSSQLSvc/web01.contoso.test:1433"))
	accept := func(id *sspictx.AuthIdentity, target string) error {
		cc, err := w.cstore.AcquireCredentials("Kerberos", flags.Outbound, krbAlice)
		require.NoError(t, err)
		defer func() { require.NoError(t, cc.Release()) }()
		sc, err := w.sstore.AcquireCredentials("Kerberos", flags.Inbound, id)
		require.NoError(t, err)
		defer func() { require.NoError(t, sc.Release()) }()
		c, s := cc.NewClientContext(target, stdReq), sc.NewServerContext(0)
		defer func() { _ = c.Delete(); _ = s.Delete() }()
		tok, _, err := c.Step(nil)
		require.NoError(t, err)
		_, _, err = s.Step(tok)
		return err
	}
	svc := &sspictx.AuthIdentity{Domain: "CONTOSO", User: "svc-sql", Password: "Svc!pw"}
	require.NoError(t, accept(svc, "MSSQLSvc/web01.contoso.test:1433"))
	assert.Equal(t, sspictx.StatusWrongPrincipal, statusOf(accept(svc, "HOST/web01.contoso.test")), "not the machine's keys")
	bad := &sspictx.AuthIdentity{Domain: "CONTOSO", User: "svc-sql", Password: "nope"}
	assert.Equal(t, sspictx.StatusWrongPrincipal, statusOf(accept(bad, "MSSQLSvc/web01.contoso.test:1433")))
	assert.Equal(t, sspictx.StatusNoCredentials, statusOf(accept(krbAlice, "HOST/web01.contoso.test")), "alice has no SPN")
}

// Domain users log on with NTLM on every joined machine, besides the
// machine's own accounts.
func TestDomainUsersOverNTLM(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{})
	w.web01.AddUser("WEB01", "local", "pw")
	for _, id := range []*sspictx.AuthIdentity{krbAlice, {Domain: "WEB01", User: "local", Password: "pw"}} {
		cc, err := w.cstore.AcquireCredentials("NTLM", flags.Outbound, id)
		require.NoError(t, err)
		sc, err := w.sstore.AcquireCredentials("NTLM", flags.Inbound, nil)
		require.NoError(t, err)
		c, s := cc.NewClientContext("HOST/web01", stdReq), sc.NewServerContext(0)
		var tok []byte
		for done := false; !done; {
			tok, done, err = c.Step(tok)
			require.NoError(t, err)
			if len(tok) > 0 {
				tok, _, err = s.Step(tok)
				require.NoError(t, err)
			}
		}
		if id == krbAlice {
			at, err := s.AccessToken()
			require.NoError(t, err)
			info, err := at.Info()
			require.NoError(t, err)
			assert.Equal(t, w.aliceSID, info.SID)
			assert.Contains(t, info.Groups, w.dom.SID()+"-512")
			require.NoError(t, at.Close())
		}
		require.NoError(t, c.Delete())
		require.NoError(t, s.Delete())
		require.NoError(t, cc.Release())
		require.NoError(t, sc.Release())
	}
}

func TestDomainErrors(t *testing.T) {
	_, err := fake.NewDomain(fake.DomainConfig{Name: "A.B"})
	assert.Error(t, err)
	_, err = fake.NewDomain(fake.DomainConfig{SID: "nope"})
	assert.Error(t, err)
	d, err := fake.NewDomain(fake.DomainConfig{})
	require.NoError(t, err)
	assert.Equal(t, "CONTOSO.TEST", d.Realm())
	_, err = d.AddUser("a/b", "x")
	assert.Error(t, err)
	_, err = d.AddUser("bob", "x", "S-1-bad")
	assert.Error(t, err)
	_, err = d.AddUser("bob", "x")
	require.NoError(t, err)
	_, err = d.AddUser("BOB", "x")
	assert.Error(t, err, "names are unique without regard to case")
	assert.Error(t, d.AddService("svc", "x"))
	assert.Error(t, d.AddSPN("nobody$", "HTTP/x"))
	_, err = d.NewMachine(fake.MachineConfig{Name: "M1"})
	require.NoError(t, err)
	_, err = d.NewMachine(fake.MachineConfig{Name: "m1"})
	assert.Error(t, err, "one computer account per name")
}

// A domain can send its machines' Kerberos requests over the network: here
// to its own KDC on loopback, as a real KDC would be reached.
func TestKerberosOverLoopbackKDC(t *testing.T) {
	d, err := fake.NewDomain(fake.DomainConfig{Name: "CONTOSO", DNSName: "contoso.test"})
	require.NoError(t, err)
	addr, stop, err := d.ListenLoopback()
	require.NoError(t, err)
	defer func() { require.NoError(t, stop()) }()

	// A second view of the same KDC, configured to reach it by address.
	w := &krbWorld{dom: d}
	_, err = d.AddUser("alice", "Passw0rd!")
	require.NoError(t, err)
	net, err := fake.NewDomain(fake.DomainConfig{Name: "CONTOSO", DNSName: "contoso.test", KDCs: map[string]string{"CONTOSO.TEST": addr}})
	require.NoError(t, err)
	client, err := net.NewMachine(fake.MachineConfig{Name: "WS01"})
	require.NoError(t, err)
	w.web01, err = d.NewMachine(fake.MachineConfig{Name: "WEB01"})
	require.NoError(t, err)
	w.cstore = sspictx.NewStore(client.NewProcess())
	w.sstore = sspictx.NewStore(w.web01.NewProcess())
	p, err := w.handshake(t, krbAlice, "HOST/web01.contoso.test", stdReq|flags.ClientReqMutualAuth, nil, nil)
	require.NoError(t, err, "tickets from the KDC over UDP/TCP")
	name, err := p.s.UserName()
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, name)

	require.NoError(t, stop())
	stop = func() error { return nil }
	_, err = w.handshake(t, krbAlice, "HOST/ws01.contoso.test", stdReq, nil, nil)
	assert.Equal(t, sspictx.StatusNoAuthenticatingAuthority, statusOf(err), "%v", err)
}

// Kerberos contexts move between processes of their machine with every
// export flag: without RESET_NEW the import goes on where the export
// stood, with it from right after the handshake.
func TestKerberosExportImport(t *testing.T) {
	for _, f := range []flags.Export{0, flags.ResetNew, flags.DeleteOld, flags.DeleteOld | flags.ResetNew} {
		for _, server := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/server=%v", f, server), func(t *testing.T) {
				w := newKrbWorld(t, fake.DomainConfig{})
				p, err := w.handshake(t, krbAlice, "HTTP/web01.contoso.test", stdReq|flags.ClientReqMutualAuth, nil, nil)
				require.NoError(t, err)
				exp, peer, m := &p.s.Context, &p.c.Context, w.web01
				if !server {
					exp, peer, m = peer, exp, w.ws01
				}
				sig, err := peer.Sign([]byte("before"))
				require.NoError(t, err)
				require.NoError(t, exp.Verify([]byte("before"), sig))

				blob, err := exp.Export(f)
				require.NoError(t, err)
				st := sspictx.NewStore(m.NewProcess())
				imp, err := st.Import("Kerberos", blob, nil)
				require.NoError(t, err)
				defer func() { require.NoError(t, imp.Delete()) }()
				if f&flags.DeleteOld != 0 {
					_, err = exp.Sign([]byte("x"))
					require.Error(t, err, "the exported context is gone")
				}
				if server {
					name, err := imp.UserName()
					require.NoError(t, err)
					assert.Equal(t, `CONTOSO\alice`, name)
				}
				tok, data, err := peer.Seal([]byte("after"))
				require.NoError(t, err)
				plain, err := imp.Unseal(tok, data)
				if f&flags.ResetNew != 0 {
					require.Equal(t, sspictx.StatusOutOfSequence, statusOf(err), "the import expects the first message after the handshake")
					return
				}
				require.NoError(t, err)
				assert.Equal(t, []byte("after"), plain)
				sig, err = imp.Sign([]byte("back"))
				require.NoError(t, err)
				require.NoError(t, peer.Verify([]byte("back"), sig))
			})
		}
	}
}

// Kerberos is listed between Negotiate and NTLM with what Windows reports
// for it.
func TestKerberosPackageInfo(t *testing.T) {
	st := sspictx.NewStore(fake.NewMachine(fake.MachineConfig{}).NewProcess())
	pkgs, err := st.Packages()
	require.NoError(t, err)
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"Negotiate", "Kerberos", "NTLM"}, names)
	info, err := st.PackageInfo("kerberos")
	require.NoError(t, err)
	assert.Equal(t, sspictx.PackageInfo{Name: "Kerberos", Comment: "Microsoft Kerberos V1.0", Capabilities: 0x000F3FBF, Version: 1, RPCID: 16, MaxToken: 48000}, info)
}

// A domain client's Negotiate context for an SPN no account holds gets
// no ticket and runs NTLM, validated through the domain (Negotiate over
// Kerberos: negotiate_kerberos_test.go).
func TestNegotiateStillNTLMOnDomains(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{})
	cc, err := w.cstore.AcquireCredentials("Negotiate", flags.Outbound, krbAlice)
	require.NoError(t, err)
	defer func() { require.NoError(t, cc.Release()) }()
	sc, err := w.sstore.AcquireCredentials("Negotiate", flags.Inbound, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, sc.Release()) }()
	c, s := cc.NewClientContext("HTTP/nowhere.contoso.test", stdReq), sc.NewServerContext(0)
	defer func() { _ = c.Delete(); _ = s.Delete() }()
	var tok []byte
	for done := false; !done; {
		tok, done, err = c.Step(tok)
		require.NoError(t, err)
		if len(tok) > 0 {
			tok, _, err = s.Step(tok)
			require.NoError(t, err)
		}
	}
	sz, err := s.Sizes()
	require.NoError(t, err)
	assert.Equal(t, uint32(16), sz.MaxSignature, "NTLM's")
	name, err := s.UserName()
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, name, "validated through the domain")
}

// An AP-REQ presented twice is refused the second time (the server's
// replay cache), as a replayed message is.
func TestKerberosAPReqReplay(t *testing.T) {
	w := newKrbWorld(t, fake.DomainConfig{})
	p, err := w.handshake(t, krbAlice, "HTTP/web01.contoso.test", stdReq, nil, nil)
	require.NoError(t, err)
	sc, err := w.sstore.AcquireCredentials("Kerberos", flags.Inbound, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, sc.Release()) }()
	s := sc.NewServerContext(0)
	defer func() { _ = s.Delete() }()
	_, _, err = s.Step(p.toServer)
	assert.Equal(t, sspictx.StatusOutOfSequence, statusOf(err), "%v", err)
}
