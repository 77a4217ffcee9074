package ap

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
	"github.com/gosspi/gosspi/internal/krb5/pac"
)

const realm = "CONTOSO.TEST"

var (
	t0    = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	alice = msg.NewPrincipal(msg.NTPrincipal, "alice")
	http  = msg.NewPrincipal(msg.NTSrvHst, "HTTP", "web01.contoso.test")
)

// world is a service, its key, a krbtgt key and a ticket for alice,
// minted the way the KDC mints them.
type world struct {
	svcKey, kdcKey, sessKey *kcrypto.Key
	ticket                  msg.Ticket
	etp                     *msg.EncTicketPart
	now                     time.Time
}

type worldOpt func(*msg.EncTicketPart, *pac.PAC)

func newWorld(t testing.TB, opts ...worldOpt) *world {
	t.Helper()
	w := &world{now: t0.Add(time.Minute)}
	var err error
	w.svcKey, err = kcrypto.StringToKey(kcrypto.AES256CTSHMACSHA196, "service secret", kcrypto.DefaultSalt(realm, "HTTP", "web01.contoso.test"), nil)
	require.NoError(t, err)
	w.kdcKey, err = kcrypto.RandomKey(kcrypto.AES256CTSHMACSHA196, nil)
	require.NoError(t, err)
	w.sessKey, err = kcrypto.RandomKey(kcrypto.AES256CTSHMACSHA196, nil)
	require.NoError(t, err)
	w.etp = &msg.EncTicketPart{
		Flags:     msg.TktForwardable | msg.TktPreAuthent,
		Key:       msg.EncryptionKey{KeyType: int32(w.sessKey.EType()), KeyValue: w.sessKey.Bytes()},
		CRealm:    realm,
		CName:     alice,
		Transited: msg.TransitedEncoding{Contents: []byte{}},
		AuthTime:  t0,
		StartTime: t0,
		EndTime:   t0.Add(10 * time.Hour),
	}
	dom := pac.MustParseSID("S-1-5-21-1-2-3")
	p := &pac.PAC{}
	p.Set(pac.TypeLogonInfo, (&pac.LogonInfo{EffectiveName: "alice", UserID: 1104, PrimaryGroupID: 513,
		GroupIDs:      []pac.GroupMembership{{RID: 513, Attributes: pac.GroupDefault}, {RID: 1105, Attributes: pac.GroupDefault}},
		LogonDomainID: dom, LogonDomainName: "CONTOSO"}).Marshal())
	p.Set(pac.TypeClientInfo, (&pac.ClientInfo{ClientID: pac.NewFileTime(t0), Name: "alice"}).Marshal())
	for _, o := range opts {
		o(w.etp, p)
	}
	if p != nil && len(p.Buffers) > 0 {
		raw, err := p.Sign(w.svcKey, w.kdcKey)
		require.NoError(t, err)
		inner, err := msg.AuthorizationData{{ADType: msg.ADWin2kPAC, ADData: raw}}.Marshal()
		require.NoError(t, err)
		w.etp.AuthData = msg.AuthorizationData{{ADType: msg.ADIfRelevant, ADData: inner}}
	}
	plain, err := w.etp.Marshal()
	require.NoError(t, err)
	ct, err := w.svcKey.Encrypt(kcrypto.UsageTicket, nil, plain)
	require.NoError(t, err)
	w.ticket = msg.Ticket{Realm: realm, SName: http, EncPart: msg.EncryptedData{EType: 18, KVNO: 3, Cipher: ct}}
	return w
}

func noPAC(_ *msg.EncTicketPart, p *pac.PAC) { p.Buffers = nil }

func (w *world) keyFunc(realm string, sname msg.PrincipalName, et kcrypto.EType, kvno uint32) (*kcrypto.Key, error) {
	if !sname.EqualFold(http) {
		return nil, msg.KRBAPErrNotUs
	}
	if kvno != 3 {
		return nil, msg.KRBAPErrBadKeyVer
	}
	if et != w.svcKey.EType() {
		return nil, msg.KRBAPErrNoKey
	}
	return w.svcKey, nil
}

func (w *world) clock() time.Time { return w.now }

func (w *world) initiator(flags gss.Flags) InitiatorConfig {
	return InitiatorConfig{Ticket: w.ticket, SessionKey: w.sessKey, CRealm: realm, CName: alice, Flags: flags, Now: w.clock}
}

func (w *world) acceptor() *Acceptor {
	return &Acceptor{Key: w.keyFunc, Services: []msg.PrincipalName{http}, Now: w.clock, Replay: &MemoryReplayCache{Now: w.clock}}
}

const allFlags = gss.FlagMutual | gss.FlagSequence | gss.FlagReplay | gss.FlagConf | gss.FlagInteg

func exchange(t *testing.T, is, as *gss.Session) {
	t.Helper()
	tok := is.MIC([]byte("to the acceptor"))
	require.NoError(t, as.VerifyMIC([]byte("to the acceptor"), tok))
	w, err := as.Wrap([]byte("to the initiator"), true)
	require.NoError(t, err)
	m, _, err := is.Unwrap(w)
	require.NoError(t, err)
	assert.Equal(t, "to the initiator", string(m))
}

func TestHandshakeMutual(t *testing.T) {
	w := newWorld(t)
	cb := gss.ChannelBindingsHash(0, nil, 0, nil, []byte("tls-server-end-point:xyz"))
	cfg := w.initiator(allFlags)
	cfg.Bindings = cb
	ini, tok, err := Initiate(cfg)
	require.NoError(t, err)
	assert.True(t, ini.NeedsReply())
	_, err = ini.Established()
	assert.Error(t, err)

	acc, err := w.acceptor().Accept(tok, &cb)
	require.NoError(t, err)
	assert.Equal(t, alice, acc.CName)
	assert.Equal(t, realm, acc.CRealm)
	assert.Equal(t, cfg.Ticket.SName, acc.SName, "the service the client named")
	assert.Equal(t, allFlags, acc.Flags)
	require.NotNil(t, acc.LogonInfo)
	assert.Equal(t, uint32(1104), acc.LogonInfo.UserID)
	assert.Equal(t, "S-1-5-21-1-2-3-1105", acc.LogonInfo.GroupSIDs()[1].String())
	assert.Equal(t, t0.Add(10*time.Hour), acc.Expiry)
	require.NotNil(t, acc.Output)
	assert.True(t, acc.Session.AcceptorSubkey)

	est, err := ini.Finish(acc.Output)
	require.NoError(t, err)
	assert.True(t, est.Key.Equal(acc.Key), "both sides hold the acceptor's subkey")
	assert.Equal(t, acc.Session.SendSeq, est.Session.RecvSeq)
	assert.Equal(t, acc.Session.RecvSeq, est.Session.SendSeq)
	_, err = ini.Finish(acc.Output)
	assert.Error(t, err, "twice")

	is, err := gss.NewSession(est.Session)
	require.NoError(t, err)
	as, err := gss.NewSession(acc.Session)
	require.NoError(t, err)
	exchange(t, is, as)
	ini.Zero()
	exchange(t, is, as)
}

func TestHandshakeWithoutMutual(t *testing.T) {
	w := newWorld(t, noPAC)
	ini, tok, err := Initiate(w.initiator(gss.FlagInteg | gss.FlagSequence))
	require.NoError(t, err)
	assert.False(t, ini.NeedsReply())
	est, err := ini.Established()
	require.NoError(t, err)
	acc, err := w.acceptor().Accept(tok, nil)
	require.NoError(t, err)
	assert.Nil(t, acc.Output)
	assert.Nil(t, acc.PAC)
	assert.Nil(t, acc.LogonInfo)
	assert.True(t, est.Key.Equal(acc.Key), "the initiator's subkey")
	is, err := gss.NewSession(est.Session)
	require.NoError(t, err)
	as, err := gss.NewSession(acc.Session)
	require.NoError(t, err)
	exchange(t, is, as)

	_, err = (&Acceptor{Key: w.keyFunc, Now: w.clock, RequirePAC: true}).Accept(tok, nil)
	assert.ErrorIs(t, err, msg.KRBAPErrModified)
}

func TestDelegationAndBareAPReq(t *testing.T) {
	w := newWorld(t)
	cfg := w.initiator(gss.FlagMutual)
	cfg.Deleg = []byte{0x76, 0x00}
	_, tok, err := Initiate(cfg)
	require.NoError(t, err)
	_, inner, err := gss.UnframeToken(tok)
	require.NoError(t, err)
	acc, err := w.acceptor().Accept(inner, nil)
	require.NoError(t, err, "a bare AP-REQ, as DCE style sends it")
	assert.Equal(t, []byte{0x76, 0x00}, acc.Deleg)
	assert.NotZero(t, acc.Flags&gss.FlagDeleg)
}

func code(err error) msg.ErrorCode { return ErrorCodeOf(err) }

func TestAcceptRefusals(t *testing.T) {
	cb := gss.ChannelBindingsHash(0, nil, 0, nil, []byte("a"))
	other := gss.ChannelBindingsHash(0, nil, 0, nil, []byte("b"))
	for _, tc := range []struct {
		name   string
		world  []worldOpt
		cfg    func(*InitiatorConfig)
		acc    func(*Acceptor, *world)
		now    time.Duration // from t0, for the acceptor
		want   msg.ErrorCode
		is     error
		accept *[16]byte
	}{
		{name: "clock skew ahead", now: 7 * time.Minute, cfg: func(c *InitiatorConfig) { c.Now = func() time.Time { return t0 } }, want: msg.KRBAPErrSkew},
		{name: "clock skew behind", now: time.Minute, cfg: func(c *InitiatorConfig) { c.Now = func() time.Time { return t0.Add(7 * time.Minute) } }, want: msg.KRBAPErrSkew},
		{name: "expired ticket", now: 10*time.Hour + 6*time.Minute, cfg: func(c *InitiatorConfig) { c.Now = func() time.Time { return t0.Add(10*time.Hour + 6*time.Minute) } }, want: msg.KRBAPErrTktExpired},
		{name: "not yet valid", world: []worldOpt{func(e *msg.EncTicketPart, _ *pac.PAC) { e.StartTime = t0.Add(time.Hour) }}, now: time.Minute, want: msg.KRBAPErrTktNYV},
		{name: "invalid flag", world: []worldOpt{func(e *msg.EncTicketPart, _ *pac.PAC) { e.Flags |= msg.TktInvalid }}, now: time.Minute, want: msg.KRBAPErrTktNYV},
		{name: "another service", acc: func(a *Acceptor, _ *world) { a.Services = []msg.PrincipalName{msg.NewPrincipal(2, "HTTP", "web02")} }, now: time.Minute, want: msg.KRBAPErrNotUs},
		{name: "wrong service key", acc: func(a *Acceptor, w *world) {
			a.Key = func(string, msg.PrincipalName, kcrypto.EType, uint32) (*kcrypto.Key, error) { return w.kdcKey, nil }
		}, now: time.Minute, want: msg.KRBAPErrBadIntegrity},
		{name: "bindings differ", cfg: func(c *InitiatorConfig) { c.Bindings = cb }, accept: &other, now: time.Minute, want: msg.KRBAPErrModified, is: ErrBindings},
		{name: "no bindings, strict", acc: func(a *Acceptor, _ *world) { a.StrictBindings = true }, accept: &cb, now: time.Minute, want: msg.KRBAPErrModified, is: ErrBindings},
		{name: "PAC for someone else", world: []worldOpt{func(_ *msg.EncTicketPart, p *pac.PAC) {
			p.Set(pac.TypeClientInfo, (&pac.ClientInfo{ClientID: pac.NewFileTime(t0), Name: "mallory"}).Marshal())
		}}, now: time.Minute, want: msg.KRBAPErrModified},
		{name: "PAC without client info", world: []worldOpt{func(_ *msg.EncTicketPart, p *pac.PAC) {
			p.Buffers = p.Buffers[:1]
		}}, now: time.Minute, want: msg.KRBAPErrModified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.world...)
			cfg := w.initiator(allFlags)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			_, tok, err := Initiate(cfg)
			require.NoError(t, err)
			a := w.acceptor()
			if tc.acc != nil {
				tc.acc(a, w)
			}
			w.now = t0.Add(tc.now)
			_, err = a.Accept(tok, tc.accept)
			require.Error(t, err)
			assert.Equal(t, tc.want, code(err), "%v", err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestReplayAndNonGSSAuthenticator(t *testing.T) {
	w := newWorld(t)
	_, tok, err := Initiate(w.initiator(allFlags))
	require.NoError(t, err)
	a := w.acceptor()
	_, err = a.Accept(tok, nil)
	require.NoError(t, err)
	_, err = a.Accept(tok, nil)
	assert.Equal(t, msg.KRBAPErrRepeat, code(err))
	w.now = w.now.Add(3 * time.Minute)
	_, err = a.Accept(tok, nil)
	assert.Equal(t, msg.KRBAPErrRepeat, code(err), "still remembered within the skew")

	// An authenticator whose checksum is not the GSS one.
	auth := msg.Authenticator{CRealm: realm, CName: alice, CTime: w.now}
	plain, err := auth.Marshal()
	require.NoError(t, err)
	ct, err := w.sessKey.Encrypt(kcrypto.UsageAPReqAuthenticator, nil, plain)
	require.NoError(t, err)
	b, err := (&msg.APReq{Ticket: w.ticket, Authenticator: msg.EncryptedData{EType: 18, Cipher: ct}}).Marshal()
	require.NoError(t, err)
	_, err = a.Accept(gss.FrameToken(gss.TokAPReq, b), nil)
	assert.Equal(t, msg.KRBAPErrInappCksum, code(err))

	_, err = a.Accept(gss.FrameToken(gss.TokAPRep, b), nil)
	assert.Equal(t, msg.KRBAPErrMsgType, code(err))
	_, err = a.Accept([]byte{0x60, 0x00}, nil)
	assert.ErrorIs(t, err, gss.ErrMalformed)
}

func TestVerifyBadMatchAndUserToUser(t *testing.T) {
	w := newWorld(t)
	auth := msg.Authenticator{CRealm: realm, CName: msg.NewPrincipal(1, "mallory"), CTime: w.now}
	plain, err := auth.Marshal()
	require.NoError(t, err)
	ct, err := w.sessKey.Encrypt(kcrypto.UsageTGSReqPAAuthenticator, nil, plain)
	require.NoError(t, err)
	req := msg.APReq{Ticket: w.ticket, Authenticator: msg.EncryptedData{EType: 18, Cipher: ct}}
	b, err := req.Marshal()
	require.NoError(t, err)
	cfg := VerifyConfig{Key: w.keyFunc, Usage: kcrypto.UsageTGSReqPAAuthenticator, Now: w.clock}
	_, err = Verify(cfg, b)
	assert.Equal(t, msg.KRBAPErrBadMatch, code(err))
	cfg.Usage = kcrypto.UsageAPReqAuthenticator
	_, err = Verify(cfg, b)
	assert.Equal(t, msg.KRBAPErrBadIntegrity, code(err), "another usage")

	req.Options = msg.APUseSessionKey
	b, err = req.Marshal()
	require.NoError(t, err)
	_, err = Verify(cfg, b)
	assert.Equal(t, msg.KRBAPErrMethod, code(err))

	req.Options = 0
	req.Ticket.EncPart.KVNO = 9
	b, err = req.Marshal()
	require.NoError(t, err)
	_, err = Verify(cfg, b)
	assert.Equal(t, msg.KRBAPErrBadKeyVer, code(err))
	_, err = Verify(cfg, b[:10])
	assert.ErrorIs(t, err, msg.ErrMalformed)
	assert.Equal(t, msg.KRBErrGeneric, code(errors.New("plain")))
}

func TestFinishRefusalsAndErrorToken(t *testing.T) {
	w := newWorld(t)
	ini, tok, err := Initiate(w.initiator(allFlags))
	require.NoError(t, err)
	acc, err := w.acceptor().Accept(tok, nil)
	require.NoError(t, err)

	bad := append([]byte(nil), acc.Output...)
	bad[len(bad)-3] ^= 1
	_, err = ini.Finish(bad)
	assert.Equal(t, msg.KRBAPErrMutFail, code(err))
	_, err = ini.Finish(tok)
	assert.Equal(t, msg.KRBAPErrMsgType, code(err))
	_, err = ini.Finish([]byte{1})
	assert.ErrorIs(t, err, gss.ErrMalformed)

	// An AP-REP that echoes another time.
	part := msg.EncAPRepPart{CTime: t0, Cusec: 1}
	plain, err := part.Marshal()
	require.NoError(t, err)
	ct, err := w.sessKey.Encrypt(kcrypto.UsageAPRepEncPart, nil, plain)
	require.NoError(t, err)
	rep, err := (&msg.APRep{EncPart: msg.EncryptedData{EType: 18, Cipher: ct}}).Marshal()
	require.NoError(t, err)
	_, err = ini.Finish(gss.FrameToken(gss.TokAPRep, rep))
	assert.Equal(t, msg.KRBAPErrMutFail, code(err))

	// The acceptor's refusal reaches the initiator as a KRB-ERROR.
	etok, err := ErrorToken(msg.KRBAPErrSkew, w.now, realm, http)
	require.NoError(t, err)
	_, err = ini.Finish(etok)
	var kerr *msg.KRBError
	require.ErrorAs(t, err, &kerr)
	assert.Equal(t, msg.KRBAPErrSkew, kerr.ErrorCode)
	assert.True(t, kerr.STime.Equal(w.now))
	assert.ErrorIs(t, err, msg.KRBAPErrSkew)

	// An AP-REP without subkey or sequence number: the initiator's
	// subkey and sequence number carry on.
	ini, tok, err = Initiate(w.initiator(allFlags))
	require.NoError(t, err)
	req, err := Verify(VerifyConfig{Key: w.keyFunc, Usage: kcrypto.UsageAPReqAuthenticator, Now: w.clock}, mustUnframe(t, tok))
	require.NoError(t, err)
	part = msg.EncAPRepPart{CTime: req.Authenticator.CTime, Cusec: req.Authenticator.Cusec}
	plain, err = part.Marshal()
	require.NoError(t, err)
	ct, err = w.sessKey.Encrypt(kcrypto.UsageAPRepEncPart, nil, plain)
	require.NoError(t, err)
	rep, err = (&msg.APRep{EncPart: msg.EncryptedData{EType: 18, Cipher: ct}}).Marshal()
	require.NoError(t, err)
	est, err := ini.Finish(gss.FrameToken(gss.TokAPRep, rep))
	require.NoError(t, err)
	assert.False(t, est.Session.AcceptorSubkey)
	assert.Equal(t, est.Session.SendSeq, est.Session.RecvSeq)
	assert.Equal(t, uint64(*req.Authenticator.SeqNumber), est.Session.SendSeq)
}

func mustUnframe(t *testing.T, tok []byte) []byte {
	_, inner, err := gss.UnframeToken(tok)
	require.NoError(t, err)
	return inner
}

func TestMemoryReplayCacheExpires(t *testing.T) {
	now := t0
	c := &MemoryReplayCache{Now: func() time.Time { return now }}
	assert.False(t, c.Seen("a", t0.Add(time.Minute)))
	assert.True(t, c.Seen("a", t0.Add(time.Minute)))
	now = t0.Add(2 * time.Minute)
	assert.False(t, c.Seen("a", now.Add(time.Minute)), "expired entries are forgotten")
	for i := 0; i < 2000; i++ {
		c.Seen(string(rune(i)), now.Add(time.Duration(i)*time.Millisecond))
	}
	now = now.Add(time.Second)
	assert.False(t, c.Seen("b", now.Add(time.Minute)))
	assert.Equal(t, 1002, len(c.seen), "the expired half is swept; the rest, a and b stay")
	assert.Equal(t, len(c.seen), c.byExpiry.Len())
	assert.True(t, c.Seen(string(rune(1999)), now.Add(time.Minute)))
}

func TestFindPAC(t *testing.T) {
	inner, err := msg.AuthorizationData{{ADType: msg.ADWin2kPAC, ADData: []byte{1}}}.Marshal()
	require.NoError(t, err)
	two := msg.AuthorizationData{{ADType: msg.ADIfRelevant, ADData: inner}, {ADType: msg.ADIfRelevant, ADData: inner}}
	_, err = FindPAC(two)
	assert.ErrorIs(t, err, msg.KRBAPErrModified)
	_, err = FindPAC(msg.AuthorizationData{{ADType: msg.ADIfRelevant, ADData: []byte{1}}})
	assert.ErrorIs(t, err, msg.KRBAPErrModified)
	got, err := FindPAC(msg.AuthorizationData{{ADType: 141, ADData: []byte{1}}, two[0]})
	require.NoError(t, err)
	assert.Equal(t, []byte{1}, got)
}
