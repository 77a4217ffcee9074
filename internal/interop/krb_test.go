package interop

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/internal/krb5/gss"
)

// The fake's Kerberos package against MIT krb5, both ways. MIT's GSSAPI
// initiator, holding a ticket MIT's kinit got from a fake domain's KDC
// served on loopback, authenticates to a fake server on a machine of that
// domain; and a fake client on a machine of a fake domain whose Kerberos
// requests go to the throwaway MIT realm (kdc_test.go) authenticates to
// MIT's GSSAPI acceptor, which holds the realm's keytab. Both ask for
// mutual authentication.
//
// The same two setups run SPNEGO over Kerberos (spnego_krb_test.go):
// the fake's Negotiate against MIT's spnego mechanism.

const (
	peerMITKerberosFakeKDC = "MIT GSSAPI, Kerberos (fake domain's KDC)"
	peerMITKerberosMITKDC  = "MIT GSSAPI, Kerberos (MIT KDC)"
)

// The fake domain that MIT's initiator authenticates in, and the service
// it authenticates to: HTTP/web01.contoso.test on WEB01's computer account.
const (
	krbDomain    = "CONTOSO"
	krbDNSDomain = "contoso.test"
	krbRealm     = "CONTOSO.TEST"
	krbServer    = "WEB01"
	krbSPN       = "HTTP/web01.contoso.test"
	krbGSSTarget = "HTTP@web01.contoso.test"
)

// krbChannel is the application data of the channel bindings the rows
// check, as a TLS channel's tls-server-end-point binding looks.
var krbChannel = []byte("tls-server-end-point:" + strings.Repeat("\x5a", 32))

// fakeRealm is a fake domain with the test user and WEB01, its KDC on a
// loopback port, an MIT configuration naming it, and the user's ticket
// from MIT's kinit.
type fakeRealm struct {
	dom    *fake.Domain
	web01  *fake.Machine
	dir    *peerDir
	conf   string // the path of krb5.conf
	ccache string // the test user's TGT
	sid    string // the test user's SID
}

func newFakeRealm(t *testing.T) *fakeRealm {
	t.Helper()
	dom, err := fake.NewDomain(fake.DomainConfig{Name: krbDomain, DNSName: krbDNSDomain})
	if err != nil {
		t.Fatal(err)
	}
	sid, err := dom.AddUser(testUser, testPassword, "Web Admins")
	if err != nil {
		t.Fatal(err)
	}
	web01, err := dom.NewMachine(fake.MachineConfig{Name: krbServer})
	if err != nil {
		t.Fatal(err)
	}
	if err := dom.AddSPN(krbServer+"$", krbSPN); err != nil {
		t.Fatal(err)
	}
	addr, stop, err := dom.ListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	d := newPeerDir(t)
	conf := d.write("krb5.conf", fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
[realms]
	%[1]s = {
		kdc = %[2]s
	}
[domain_realm]
	.%[3]s = %[1]s
	%[3]s = %[1]s
`, krbRealm, addr, krbDNSDomain))
	fr := &fakeRealm{dom: dom, web01: web01, dir: d, conf: conf, sid: sid}
	out, err := fr.kinit("ccache", testPassword)
	if err != nil {
		t.Fatalf("kinit with the fake domain's KDC: %v: %s", err, out)
	}
	fr.ccache = "FILE:" + filepath.Join(d.dir, "ccache")
	return fr
}

// kinit runs MIT's kinit for the test user with password, into the
// ccache file name in the realm's directory.
func (fr *fakeRealm) kinit(name, password string) (string, error) {
	cmd := exec.Command(binPath("kinit"), testUser+"@"+krbRealm)
	cmd.Env = childEnv("KRB5_CONFIG="+fr.conf, "KRB5CCNAME=FILE:"+filepath.Join(fr.dir.dir, name), "HOME="+fr.dir.dir)
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// krbEnv is the environment of an MIT GSSAPI peer with Kerberos only: no
// mechanism module, the configuration conf, and extra (KRB5CCNAME,
// KRB5_KTNAME) after the defaults of none.
func krbEnv(d *peerDir, conf string, extra ...string) []string {
	env := []string{
		"GSS_MECH_CONFIG=" + d.write("gss-mech", ""),
		"KRB5_CONFIG=" + conf,
		"KRB5CCNAME=FILE:" + filepath.Join(d.dir, "no-ccache"),
		"KRB5_KTNAME=FILE:" + filepath.Join(d.dir, "no-keytab"),
		"KRB5RCACHEDIR=" + d.dir,
		"HOME=" + d.dir,
	}
	return childEnv(append(env, extra...)...)
}

// peerBindings is gsspeer.py's argument for channel bindings of app.
func peerBindings(app []byte) string { return "bindings:0:-:0:-:" + b64(app) }

// splitKrbWrap splits MIT's Wrap token of an n-byte message for the
// fake's Unseal: MIT rotates nothing (RRC 0), so the token buffer takes
// all but the last n bytes.
func splitKrbWrap(w []byte, n int) (tok, data []byte, err error) {
	if len(w) <= n {
		return nil, nil, fmt.Errorf("the peer's wrap token has %d bytes for a %d-byte message", len(w), n)
	}
	return append([]byte(nil), w[:len(w)-n]...), append([]byte(nil), w[len(w)-n:]...), nil
}

// wantMutual checks that the handshake was an AP-REQ from the initiator
// answered by an AP-REP: mutual authentication, in both directions.
func wantMutual(t *testing.T, tr transcript) {
	t.Helper()
	want := []struct {
		fromInitiator bool
		id            gss.TokenID
	}{{true, gss.TokAPReq}, {false, gss.TokAPRep}}
	if len(tr) != len(want) {
		t.Errorf("the handshake had %d tokens, want an AP-REQ and an AP-REP", len(tr))
		return
	}
	for i, w := range want {
		id, _, err := gss.UnframeToken(tr[i].tok)
		if err != nil || id != w.id || tr[i].fromInitiator != w.fromInitiator {
			t.Errorf("token %d (from the initiator: %v) is %v (%v), want %v from the initiator: %v", i, tr[i].fromInitiator, id, err, w.id, w.fromInitiator)
		}
	}
}

// wantBadBindings checks that MIT's acceptor refused a handshake with
// GSS_S_BAD_BINDINGS.
func wantBadBindings(err error) error {
	var ge *gssError
	switch {
	case err == nil:
		return errors.New("MIT's acceptor took other channel bindings")
	case !errors.As(err, &ge):
		return fmt.Errorf("want MIT's GSS_S_BAD_BINDINGS, got %w", err)
	case ge.major&0xffff0000 != 4<<16:
		return fmt.Errorf("want MIT's GSS_S_BAD_BINDINGS (major 0x40000), got %w", err)
	}
	return nil
}

// krbRow is one of the rows that run Kerberos between a fake domain and
// MIT: raw (the fake's Kerberos package, MIT's krb5 mechanism) or under
// SPNEGO (the fake's Negotiate, MIT's spnego mechanism).
type krbRow struct {
	peer    string
	fakePkg string // "Kerberos" or "Negotiate"
	mech    string // gsspeer.py's mechanism: "kerberos" or "spnego"
	// peerArgs go to gsspeer.py before any channel bindings ("mutual").
	peerArgs        []string
	checkTranscript func(t *testing.T, tr transcript)
	fakeMech        string // see pairing
	peerMech        string
	// ntlm gives the MIT peer gss-ntlmssp and the test account's NTLM
	// password as well, as a domain member has both: SPNEGO could fall
	// back to NTLM, and the row must show that it did not.
	ntlm bool
}

// peerEnv is the environment of the row's MIT peer: Kerberos with the
// configuration conf, plus NTLM for account domain\alice where the row
// says, and extra.
func (k krbRow) peerEnv(d *peerDir, conf, domain string, extra ...string) []string {
	if !k.ntlm {
		return krbEnv(d, conf, extra...)
	}
	text, err := os.ReadFile(conf)
	if err != nil {
		d.t.Fatal(err)
	}
	users := fmt.Sprintf("%s:%s:%s\n", domain, testUser, testPassword)
	return d.gssEnv(users, string(text), append([]string{"KRB5RCACHEDIR=" + d.dir}, extra...)...)
}

// peerInitiatesFakeKDC holds MIT's initiator, with a ticket from the fake
// domain's KDC, against a fake server on WEB01.
func (k krbRow) peerInitiatesFakeKDC(t *testing.T) {
	fr := newFakeRealm(t)
	serverWith := func(t *testing.T, more moreFlags) *fakeEnd {
		proc := fr.web01.NewProcess()
		store := sspictx.NewStore(proc)
		fake.CheckLeaks(t, store)
		return fakeEndOn(t, store, proc, k.fakePkg, nil, "", moreMutual|more)
	}
	server := func(t *testing.T, _ string) *fakeEnd { return serverWith(t, 0) }
	initiator := func(t *testing.T, bindings ...string) *gssPeer {
		d := newPeerDir(t)
		args := append([]string{"initiate", k.mech, krbGSSTarget, "default"}, k.peerArgs...)
		return startGSS(t, k.peerEnv(d, fr.conf, krbDomain, "KRB5CCNAME="+fr.ccache), "", append(args, bindings...)...)
	}
	converse(t, pairing{
		peer: k.peer, fakePkg: k.fakePkg, newFake: server, checkTranscript: k.checkTranscript,
		fakeMech: k.fakeMech, peerMech: k.peerMech,
		start:        func(t *testing.T, _ string) peer { return initiator(t) },
		client:       krbDomain + `\` + testUser,
		nativeClient: testUser + "@" + krbRealm,
		// The PAC of the ticket MIT got from the fake KDC, and passed
		// on unread, gives the fake server the user's SID and groups.
		checkClient: func(ctx *sspictx.Context) error {
			tok, err := ctx.AccessToken()
			if err != nil {
				return err
			}
			defer func() { _ = tok.Close() }()
			info, err := tok.Info()
			if err != nil {
				return err
			}
			if info.SID != fr.sid {
				return fmt.Errorf("the access token's SID is %s, want %s", info.SID, fr.sid)
			}
			for _, g := range []string{fr.dom.SID() + "-513", fr.dom.SID() + "-2000"} {
				if !slices.Contains(info.Groups, g) {
					return fmt.Errorf("the access token's groups %v lack %s (Domain Users, Web Admins)", info.Groups, g)
				}
			}
			return nil
		},
		split: splitKrbWrap,
		// MIT's kinit asks the fake domain's KDC with the wrong
		// password, which refuses its pre-authentication.
		wrongPassword: func(t *testing.T) error {
			out, err := fr.kinit("bad-ccache", badPassword)
			if err == nil {
				return errors.New("kinit got a ticket with a wrong password")
			}
			if !strings.Contains(out, "Password incorrect") {
				return fmt.Errorf("kinit with a wrong password: want MIT's text for KDC_ERR_PREAUTH_FAILED, got %v: %s", err, out)
			}
			return nil
		},
		// The fake server's bindings are krbChannel's; MIT's differ, or
		// MIT sends none, which the fake takes only when told to
		// (ASC_REQ_ALLOW_MISSING_BINDINGS).
		bindings: func(t *testing.T) error {
			for _, tc := range []struct {
				name string
				peer []string
				more moreFlags
				want sspictx.Status // StatusOK: accepted
			}{
				{"the same bindings", []string{peerBindings(krbChannel)}, 0, sspictx.StatusOK},
				{"other bindings", []string{peerBindings([]byte("tls-server-end-point:another channel"))}, 0, sspictx.StatusBadBindings},
				{"no bindings from MIT", nil, 0, sspictx.StatusBadBindings},
				{"no bindings from MIT, missing allowed", nil, moreAllowMissingBindings, sspictx.StatusOK},
			} {
				fe := serverWith(t, tc.more)
				fe.server.SetChannelBindings(secBindings(0, nil, 0, nil, krbChannel))
				pe := initiator(t, tc.peer...)
				_, err := handshake(pe.step, fe.step, "MIT initiator", "fake acceptor")
				if tc.want == sspictx.StatusOK {
					if err != nil {
						return fmt.Errorf("%s: %w", tc.name, err)
					}
					continue
				}
				if err := wantStatus(err, tc.want, tc.name); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// fakeInitiatesMITKDC holds a fake client on WS01 of a fake domain whose
// Kerberos requests go to the MIT realm's KDC against MIT's acceptor with
// the realm's keytab.
func (k krbRow) fakeInitiatesMITKDC(t *testing.T) {
	r := startRealm(t)
	const domain = "GOSSPI"
	dom, err := fake.NewDomain(fake.DomainConfig{Name: domain, DNSName: strings.ToLower(realmName), KDCs: map[string]string{realmName: r.addr}})
	if err != nil {
		t.Fatal(err)
	}
	ws01, err := dom.NewMachine(fake.MachineConfig{Name: "WS01"})
	if err != nil {
		t.Fatal(err)
	}
	client := func(t *testing.T, password string) *fakeEnd {
		proc := ws01.NewProcess()
		store := sspictx.NewStore(proc)
		fake.CheckLeaks(t, store)
		return fakeEndOn(t, store, proc, k.fakePkg, &sspictx.AuthIdentity{Domain: dom.Name(), User: testUser, Password: password}, realmService, moreMutual)
	}
	acceptor := func(t *testing.T, bindings ...string) *gssPeer {
		d := newPeerDir(t)
		args := append([]string{"accept", k.mech}, bindings...)
		return startGSS(t, k.peerEnv(d, filepath.Join(r.dir, "krb5.conf"), domain, "KRB5_KTNAME=FILE:"+r.keytab), "", args...)
	}
	p := pairing{
		peer: k.peer, fakePkg: k.fakePkg, fakeInitiates: true, newFake: client, checkTranscript: k.checkTranscript,
		fakeMech: k.fakeMech, peerMech: k.peerMech,
		start:  func(t *testing.T, _ string) peer { return acceptor(t) },
		client: testUser + "@" + realmName,
		split:  splitKrbWrap,
		bindings: func(t *testing.T) error {
			for _, other := range []bool{false, true} {
				fe := client(t, testPassword)
				app := krbChannel
				if other {
					app = []byte("tls-server-end-point:another channel")
				}
				fe.client.SetChannelBindings(secBindings(0, nil, 0, nil, app))
				pe := acceptor(t, peerBindings(krbChannel))
				_, err := handshake(fe.step, pe.step, "fake initiator", "MIT acceptor")
				if !other && err != nil {
					return fmt.Errorf("the same bindings: %w", err)
				}
				if other {
					if err := wantBadBindings(err); err != nil {
						return err
					}
					if fe.ctx.Established() {
						return errors.New("the fake initiator is established although MIT refused its bindings")
					}
				}
			}
			return nil
		},
	}
	if k.fakePkg == "Kerberos" {
		// The fake client asks MIT's KDC with the wrong password; MIT
		// refuses its pre-authentication, and the fake says so.
		p.wrongPassword = func(t *testing.T) error {
			fe := client(t, badPassword)
			_, _, err := fe.client.Step(nil)
			return wantStatus(err, sspictx.StatusLogonDenied, "a wrong password")
		}
	}
	// Negotiate gets no ticket with a wrong password and offers NTLM
	// alone, with the same wrong password, which MIT's acceptor refuses:
	// converse's own check of a handshake with it.
	converse(t, p)
}

func TestMITKerberos(t *testing.T) {
	tier(t, toolGSSAPI, toolKDC)
	t.Run("peer initiates, fake KDC", func(t *testing.T) {
		krbRow{peer: peerMITKerberosFakeKDC, fakePkg: "Kerberos", mech: "kerberos", checkTranscript: wantMutual}.peerInitiatesFakeKDC(t)
	})
	t.Run("fake initiates, MIT KDC", func(t *testing.T) {
		krbRow{peer: peerMITKerberosMITKDC, fakePkg: "Kerberos", mech: "kerberos", checkTranscript: wantMutual}.fakeInitiatesMITKDC(t)
	})
}
