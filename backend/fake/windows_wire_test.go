package fake_test

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/ntlm"
	"github.com/gosspi/gosspi/internal/spnego"
)

// windowsToken reads a token Windows wrote, from the repository's
// testdata/windows (its README says where each came from).
func windowsToken(t testing.TB, name string) []byte {
	t.Helper()
	s, err := os.ReadFile(filepath.Join("..", "..", "testdata", "windows", name+".hex"))
	require.NoError(t, err)
	b, err := hex.DecodeString(strings.TrimSpace(string(s)))
	require.NoError(t, err)
	return b
}

// The NEGOTIATE flags follow the request as on Windows: SIGN only for
// integrity, replay or sequence detection, SEAL only for confidentiality
// (Wine's secur32 tests assert these rules on Windows), and the three
// values Windows clients are seen sending.
func TestNTLMNegotiateFlagsFollowRequest(t *testing.T) {
	tests := []struct {
		req  flags.ClientReq
		want uint32
	}{
		{0, 0xa2088207},
		{flags.ClientReqConnection, 0xa2088207},
		{flags.ClientReqExtendedError, 0xa2088207},
		{flags.ClientReqMutualAuth, 0xa2088207},
		{flags.ClientReqUseDCEStyle, 0xa2088207},
		{flags.ClientReqDelegate, 0xa2088207},
		{flags.ClientReqIntegrity, 0xe2088297},
		{flags.ClientReqReplayDetect, 0xe2088297},
		{flags.ClientReqSequenceDetect, 0xe2088297},
		{flags.ClientReqConfidentiality, 0xe20882a7},
		{flags.ClientReqIntegrity | flags.ClientReqConfidentiality, 0xe20882b7},
	}
	store, _ := fake.NewTestStore(t, fake.User{Domain: "WEB01", Name: "alice", Password: "pw"},
		fake.WithMachineConfig(fake.MachineConfig{Name: "WEB01", Domain: "WEB01"}))
	cred, err := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "WEB01", User: "alice", Password: "pw"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cred.Release() })
	for _, tc := range tests {
		c := cred.NewClientContext("HOST/web01", tc.req)
		out, _, err := c.Step(nil)
		require.NoError(t, err)
		neg, err := ntlm.ParseNegotiate(out)
		require.NoError(t, err)
		assert.Equalf(t, tc.want, neg.Flags, "request %v: got %#08x", tc.req, neg.Flags)
		assert.Equal(t, []byte{10, 0, 0x7c, 0x4f, 0, 0, 0, 15}, neg.Version, "Windows Server 2022 by default")
		_ = c.Delete()
	}
}

// The fake's server answers a Windows NEGOTIATE as a Windows server of its
// role does: target type server and its own name for DNS names when
// stand-alone, target type domain without MsvAvDnsTreeName as a member,
// with it as a domain controller.
func TestNTLMChallengeFollowsRole(t *testing.T) {
	tests := []struct {
		name   string
		cfg    fake.MachineConfig
		flag   uint32
		target string
		ids    []uint16
		dns    string
	}{
		{"standalone", fake.MachineConfig{Name: "WEB01", Domain: "WEB01"}, ntlm.TargetTypeServer, "WEB01",
			[]uint16{ntlm.AvNbDomainName, ntlm.AvNbComputerName, ntlm.AvDNSDomainName, ntlm.AvDNSComputerName, ntlm.AvTimestamp}, "WEB01"},
		{"member", fake.MachineConfig{Name: "WEB01", Domain: "CONTOSO", DNSDomain: "contoso.com"}, ntlm.TargetTypeDomain, "CONTOSO",
			[]uint16{ntlm.AvNbDomainName, ntlm.AvNbComputerName, ntlm.AvDNSDomainName, ntlm.AvDNSComputerName, ntlm.AvTimestamp}, "web01.contoso.com"},
		{"dc", fake.MachineConfig{Name: "DC01", Domain: "CONTOSO", DNSDomain: "contoso.com", Role: fake.RoleDomainController, Windows: fake.WindowsServer2016},
			ntlm.TargetTypeDomain, "CONTOSO",
			[]uint16{ntlm.AvNbDomainName, ntlm.AvNbComputerName, ntlm.AvDNSDomainName, ntlm.AvDNSComputerName, ntlm.AvDNSTreeName, ntlm.AvTimestamp}, "dc01.contoso.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"}, fake.WithMachineConfig(tc.cfg))
			cred, err := store.AcquireCredentials("NTLM", flags.Inbound, nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = cred.Release() })
			s := cred.NewServerContext(0)
			t.Cleanup(func() { _ = s.Delete() })
			out, _, err := s.Step(windowsToken(t, "negotiate-server2019"))
			require.NoError(t, err)
			ch, err := ntlm.ParseChallenge(out)
			require.NoError(t, err)
			assert.Equal(t, tc.flag, ch.Flags&(ntlm.TargetTypeServer|ntlm.TargetTypeDomain))
			// A Windows server grants 0xe20882b7 what the Server 2016 DC of
			// the pyspnego capture granted, but for the target type.
			assert.Equal(t, uint32(0xe2888235), ch.Flags&^(ntlm.TargetTypeServer|ntlm.TargetTypeDomain))
			assert.Equal(t, tc.target, ch.TargetName)
			var ids []uint16
			for _, p := range ch.TargetInfo {
				ids = append(ids, p.ID)
			}
			assert.Equal(t, tc.ids, ids)
			v, _ := ch.TargetInfo.Get(ntlm.AvDNSComputerName)
			assert.Equal(t, tc.dns, utf16(v))
			if tc.cfg.Windows == fake.WindowsServer2016 {
				assert.Equal(t, uint16(14393), binary.LittleEndian.Uint16(ch.Version[2:]))
			}
		})
	}
}

func utf16(b []byte) string {
	r := make([]rune, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		r = append(r, rune(binary.LittleEndian.Uint16(b[i:])))
	}
	return string(r)
}

// An SMB client hands the server's NegTokenInit2 (from the SMB2 NEGOTIATE
// response) to its first InitializeSecurityContext (MS-SMB2 3.2.4.2.3).
// The Negotiate client takes the Windows server's token and goes on as
// without it; NTLM still refuses an input token on the first call, and
// Negotiate refuses one that is no NegTokenInit or offers nothing it has.
func TestNegotiateClientTakesServerNegTokenInit2(t *testing.T) {
	store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
	id := &sspictx.AuthIdentity{Domain: "TEST", User: "alice", Password: "pw"}
	ccred, err := store.AcquireCredentials("Negotiate", flags.Outbound, id)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ccred.Release() })
	scred, err := store.AcquireCredentials("Negotiate", flags.Inbound, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = scred.Release() })

	c := ccred.NewClientContext("cifs/testhost", flags.ClientReqIntegrity)
	t.Cleanup(func() { _ = c.Delete() })
	s := scred.NewServerContext(0)
	t.Cleanup(func() { _ = s.Delete() })
	tok, done, err := c.Step(windowsToken(t, "negtokeninit2-smb-server"))
	require.NoError(t, err)
	require.False(t, done)
	for i := 0; !done; i++ {
		var sdone bool
		tok, sdone, err = s.Step(tok)
		require.NoError(t, err)
		if len(tok) == 0 && sdone {
			break
		}
		tok, done, err = c.Step(tok)
		require.NoError(t, err)
		if i == 0 {
			// The AUTHENTICATE goes with negState accept-incomplete, as
			// Windows clients send it beside their mechListMIC.
			resp, err := spnego.ParseNegTokenResp(tok)
			require.NoError(t, err)
			assert.Equal(t, spnego.AcceptIncomplete, resp.NegState)
			assert.NotEmpty(t, resp.MechListMIC)
		}
	}

	ntlmCred, err := store.AcquireCredentials("NTLM", flags.Outbound, id)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ntlmCred.Release() })
	onlyKerberos := "601b06062b0601050502a011300fa00d300b06092a864886f712010202"
	for _, bad := range []struct {
		cred *sspictx.Credentials
		tok  string
	}{
		{ntlmCred, ""},                // the Windows NegTokenInit2, to NTLM
		{ccred, "a1073005a0030a0100"}, // a NegTokenResp
		{ccred, onlyKerberos},
	} {
		b := windowsToken(t, "negtokeninit2-smb-server")
		if bad.tok != "" {
			b, _ = hex.DecodeString(bad.tok)
		}
		_, _, err := bad.cred.NewClientContext("cifs/testhost", 0).Step(b)
		assert.ErrorContains(t, err, "SEC_E_INVALID_TOKEN")
	}
}

// tlsBindings is a SEC_CHANNEL_BINDINGS holding only application data.
func tlsBindings(app string) []byte {
	b := make([]byte, 32, 32+len(app))
	binary.LittleEndian.PutUint32(b[24:], uint32(len(app)))
	binary.LittleEndian.PutUint32(b[28:], 32)
	return append(b, app...)
}

// A server with channel bindings refuses a client without them (an all-zero
// MsvAvChannelBindings, which every Windows client sends then) unless it
// allows missing bindings, as Windows' Extended Protection does; matching
// bindings pass either way, others never.
func TestNTLMServerRequiresBindings(t *testing.T) {
	cbServer := tlsBindings("tls-server-end-point:server")
	tests := []struct {
		name     string
		client   []byte
		allow    bool
		wantFail bool
	}{
		{"missing, required", nil, false, true},
		{"missing, allowed", nil, true, false},
		{"matching", cbServer, false, false},
		{"matching, allowed", cbServer, true, false},
		{"other", tlsBindings("tls-server-end-point:mitm"), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
			cc, err := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "TEST", User: "alice", Password: "pw"})
			require.NoError(t, err)
			t.Cleanup(func() { _ = cc.Release() })
			sc, err := store.AcquireCredentials("NTLM", flags.Inbound, nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = sc.Release() })
			var req flags.ServerReq
			if tc.allow {
				req = flags.ServerReqAllowMissingBindings
			}
			c := cc.NewClientContext("HTTP/testhost", flags.ClientReqIntegrity)
			t.Cleanup(func() { _ = c.Delete() })
			if tc.client != nil {
				c.SetChannelBindings(tc.client)
			}
			s := sc.NewServerContext(req)
			t.Cleanup(func() { _ = s.Delete() })
			s.SetChannelBindings(cbServer)
			tok, _, err := c.Step(nil)
			require.NoError(t, err)
			tok, _, err = s.Step(tok)
			require.NoError(t, err)
			tok, _, err = c.Step(tok)
			require.NoError(t, err)
			_, done, err := s.Step(tok)
			if tc.wantFail {
				assert.ErrorContains(t, err, "SEC_E_BAD_BINDINGS")
				return
			}
			require.NoError(t, err)
			assert.True(t, done)
		})
	}
}

// Fed a Windows domain controller's CHALLENGE, the fake's client writes an
// AUTHENTICATE as a Windows 7-11 client does for the same request: the
// negotiated flags, a MIC, and MsvAvFlags, MsvAvSingleHost, an all-zero
// MsvAvChannelBindings and MsvAvTargetName after the server's pairs.
func TestNTLMClientAnswersWindowsChallenge(t *testing.T) {
	store, _ := fake.NewTestStore(t)
	cred, err := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "DOMAIN", User: "alice", Password: "pw"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cred.Release() })
	for _, tc := range []struct {
		req  flags.ClientReq
		want uint32
	}{
		// 0xe2898235 granted by the DC, less what the request leaves out.
		{flags.ClientReqIntegrity | flags.ClientReqConfidentiality, 0xe2888235},
		{flags.ClientReqIntegrity, 0xe2888215},
		{0, 0xa2888205},
	} {
		c := cred.NewClientContext("HTTP/dc01.domain.local", tc.req)
		_, _, err = c.Step(nil)
		require.NoError(t, err)
		out, done, err := c.Step(windowsToken(t, "challenge-dc-server2016"))
		require.NoError(t, err)
		require.True(t, done)
		m, err := ntlm.ParseAuthenticate(out)
		require.NoError(t, err)
		assert.Equalf(t, tc.want, m.Flags, "request %v: got %#08x", tc.req, m.Flags)
		assert.NotNil(t, m.MIC)
		pairs, err := ntlm.ParseAVPairs(m.NtChallengeResponse[16+28:])
		require.NoError(t, err)
		var ids []uint16
		for _, p := range pairs {
			ids = append(ids, p.ID)
		}
		assert.Equal(t, []uint16{ntlm.AvNbDomainName, ntlm.AvNbComputerName, ntlm.AvDNSDomainName, ntlm.AvDNSComputerName,
			ntlm.AvDNSTreeName, ntlm.AvTimestamp, ntlm.AvFlags, ntlm.AvSingleHost, ntlm.AvChannelBindings, ntlm.AvTargetName}, ids)
		cb, _ := pairs.Get(ntlm.AvChannelBindings)
		assert.Equal(t, make([]byte, 16), cb)
		spn, _ := pairs.Get(ntlm.AvTargetName)
		assert.Equal(t, "HTTP/dc01.domain.local", utf16(spn))
		_ = c.Delete()
	}
}

// Fed a CHALLENGE without extended session security (Wine's capture of a
// Windows server's, which Wine's tests hand to Windows' own client), the
// client completes, as Windows does, and protects messages as MS-NLMP
// 3.4.4.1 describes for that case; an exported context goes on after
// import. Before, the client failed with SEC_E_INTERNAL_ERROR.
func TestNTLMClientWithoutExtendedSessionSecurity(t *testing.T) {
	store, _ := fake.NewTestStore(t)
	cred, err := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "WORKGROUP", User: "testuser", Password: "testpass"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cred.Release() })
	c := cred.NewClientContext("HOST/casino01", flags.ClientReqIntegrity|flags.ClientReqConfidentiality)
	t.Cleanup(func() { _ = c.Delete() })
	_, _, err = c.Step(nil)
	require.NoError(t, err)
	out, done, err := c.Step(windowsToken(t, "challenge-noess-wine"))
	require.NoError(t, err)
	require.True(t, done)
	m, err := ntlm.ParseAuthenticate(out)
	require.NoError(t, err)
	assert.Zero(t, m.Flags&ntlm.NegotiateExtendedSessionSecurity)

	key, err := c.SessionKey()
	require.NoError(t, err)
	peer, err := ntlm.NewNoESSSession(key, m.Flags)
	require.NoError(t, err)
	tok, data, err := c.Seal([]byte("Hello, world!"))
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 0, 0, 0, 0, 0, 0, 0}, tok[:8], "Version 1 and a zero RandomPad, as Windows writes")
	plain, err := peer.Unseal(data, tok)
	require.NoError(t, err)
	assert.Equal(t, "Hello, world!", string(plain))
	sealed, sig := peer.Seal([]byte("reply"))
	got, err := c.Unseal(sig, sealed)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(got))

	blob, err := c.Export(0)
	require.NoError(t, err)
	c2, err := store.Import("NTLM", blob, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c2.Delete() })
	msig, err := c2.Sign([]byte("after import"))
	require.NoError(t, err)
	require.NoError(t, peer.Verify([]byte("after import"), msig))
}

// A client that asks for no extended session security gets none from the
// fake's server, and both ends protect messages without it.
func TestNTLMServerWithoutExtendedSessionSecurity(t *testing.T) {
	store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
	sc, err := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sc.Release() })
	s := sc.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
	t.Cleanup(func() { _ = s.Delete() })
	cl := ntlm.NewClient(ntlm.ClientConfig{User: "alice", Domain: "TEST", Password: "pw",
		Flags: ntlm.DefaultClientFlags &^ (ntlm.NegotiateExtendedSessionSecurity | ntlm.NegotiateLMKey)})
	neg, err := cl.Negotiate()
	require.NoError(t, err)
	ch, _, err := s.Step(neg)
	require.NoError(t, err)
	auth, err := cl.Authenticate(ch)
	require.NoError(t, err)
	_, done, err := s.Step(auth)
	require.NoError(t, err)
	require.True(t, done)
	peer, err := ntlm.NewNoESSSession(cl.SessionKey(), cl.NegotiatedFlags())
	require.NoError(t, err)
	sealed, sig := peer.Seal([]byte("ping"))
	got, err := s.Unseal(sig, sealed)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got))
}
