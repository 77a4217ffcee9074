package kdc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/krb5/ap"
	"github.com/gosspi/gosspi/internal/krb5/client"
	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/kdc"
	"github.com/gosspi/gosspi/internal/krb5/msg"
	"github.com/gosspi/gosspi/internal/krb5/pac"
)

const (
	realm = "CONTOSO.TEST"
	spn   = "HTTP/web01.contoso.test"
)

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// clock is a settable clock shared by the KDC and its clients.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

type env struct {
	kdc   *kdc.KDC
	clock *clock
	http  msg.PrincipalName
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c := &clock{t: t0}
	k, err := kdc.New(kdc.Config{Realm: realm, Now: c.Now})
	require.NoError(t, err)
	require.NoError(t, k.AddUser(kdc.User{Name: "alice", Password: "s3cret", FullName: "Alice", Groups: []uint32{1105, 1106}}))
	require.NoError(t, k.AddUser(kdc.User{Name: "bob", Password: "hunter2", NoPreauth: true}))
	require.NoError(t, k.AddService(kdc.Service{SPNs: []string{spn, "HTTP/web01"}, Password: "web secret"}))
	return &env{kdc: k, clock: c, http: msg.ParsePrincipal(msg.NTSrvHst, spn)}
}

func (e *env) client(user, password string) *client.Client {
	return client.New(client.Config{
		Realm: realm, Name: msg.NewPrincipal(msg.NTPrincipal, user),
		Key: client.PasswordKeys(password), Exchange: e.kdc.Exchange, Now: e.clock.Now,
	})
}

// counting counts the requests that reach the KDC.
func counting(e *env, n *int) client.ExchangeFunc {
	return func(ctx context.Context, r string, req []byte) ([]byte, error) {
		*n++
		return e.kdc.Exchange(ctx, r, req)
	}
}

func TestASAndTGS(t *testing.T) {
	e := newEnv(t)
	var requests int
	c := client.New(client.Config{
		Realm: realm, Name: msg.NewPrincipal(msg.NTPrincipal, "alice"),
		Key: client.PasswordKeys("s3cret"), Exchange: counting(e, &requests), Now: e.clock.Now,
	})
	ctx := context.Background()
	tgt, err := c.GetTGT(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, requests, "an AS-REQ without pre-authentication, then one with")
	assert.Equal(t, "krbtgt/"+realm, tgt.SName.String())
	assert.Equal(t, kcrypto.AES256CTSHMACSHA196, tgt.SessionKey.EType())
	assert.NotZero(t, tgt.Flags&msg.TktPreAuthent)
	assert.NotZero(t, tgt.Flags&msg.TktInitial)
	assert.NotZero(t, tgt.Flags&msg.TktForwardable)
	assert.NotZero(t, tgt.Flags&msg.TktRenewable)
	assert.Equal(t, t0, tgt.AuthTime)
	assert.Equal(t, t0.Add(10*time.Hour), tgt.EndTime)
	assert.True(t, tgt.Valid(t0))

	requests = 0
	_, err = c.GetTGT(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, requests, "the client remembers the salt and pre-authenticates at once")

	e.clock.t = t0.Add(time.Hour)
	st, err := c.GetServiceTicket(ctx, tgt, e.http)
	require.NoError(t, err)
	assert.Equal(t, spn, st.SName.String())
	assert.Equal(t, t0, st.AuthTime, "the service ticket keeps the TGT's authentication time")
	assert.Equal(t, t0.Add(10*time.Hour), st.EndTime, "and does not outlive the TGT")
	assert.Zero(t, st.Flags&msg.TktInitial)

	// The service accepts it with its keys, and learns alice's groups.
	keys, err := e.kdc.ServiceKeys(spn)
	require.NoError(t, err)
	ini, tok, err := ap.Initiate(ap.InitiatorConfig{Ticket: st.Ticket, SessionKey: st.SessionKey, CRealm: st.CRealm, CName: st.CName,
		Flags: gss.FlagMutual | gss.FlagInteg | gss.FlagSequence, Now: e.clock.Now})
	require.NoError(t, err)
	acc, err := (&ap.Acceptor{Key: keys, Services: []msg.PrincipalName{e.http}, Now: e.clock.Now}).Accept(tok, nil)
	require.NoError(t, err)
	assert.Equal(t, "alice", acc.CName.String())
	require.NotNil(t, acc.LogonInfo)
	li := acc.LogonInfo
	assert.Equal(t, "alice", li.EffectiveName)
	assert.Equal(t, "Alice", li.FullName)
	assert.Equal(t, uint32(1104), li.UserID)
	assert.Equal(t, "CONTOSO", li.LogonDomainName)
	var sids []string
	for _, s := range li.GroupSIDs() {
		sids = append(sids, s.String())
	}
	dom := e.kdc.DomainSID().String()
	assert.Equal(t, []string{dom + "-513", dom + "-1105", dom + "-1106", "S-1-18-1"}, sids)
	upn, ok := acc.PAC.Find(pac.TypeUPNDNSInfo)
	require.True(t, ok)
	u, err := pac.ParseUPNDNSInfo(upn)
	require.NoError(t, err)
	assert.Equal(t, "alice@contoso.test", u.UPN)
	assert.Equal(t, dom+"-1104", u.SID.String())
	_, err = ini.Finish(acc.Output)
	require.NoError(t, err)

	// Another SPN of the same account.
	st2, err := c.GetServiceTicket(ctx, tgt, msg.ParsePrincipal(msg.NTSrvHst, "http/WEB01"))
	require.NoError(t, err)
	assert.Equal(t, "http/WEB01", st2.SName.String())
}

func code(err error) msg.ErrorCode { return ap.ErrorCodeOf(err) }

func TestKDCErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	_, err := e.client("alice", "wrong").GetTGT(ctx)
	assert.Equal(t, msg.KDCErrPreauthFailed, code(err), "%v", err)
	var kerr *msg.KRBError
	require.ErrorAs(t, err, &kerr)
	assert.Equal(t, realm, kerr.Realm)

	_, err = e.client("mallory", "x").GetTGT(ctx)
	assert.Equal(t, msg.KDCErrCPrincipalUnknown, code(err))

	c := e.client("alice", "s3cret")
	tgt, err := c.GetTGT(ctx)
	require.NoError(t, err)
	_, err = c.GetServiceTicket(ctx, tgt, msg.ParsePrincipal(msg.NTSrvHst, "HTTP/nowhere.contoso.test"))
	assert.Equal(t, msg.KDCErrSPrincipalUnknown, code(err))
	require.ErrorAs(t, err, &kerr)
	assert.Equal(t, "HTTP/nowhere.contoso.test", kerr.SName.String())

	// A client whose clock is off.
	skewed := client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "alice"), Key: client.PasswordKeys("s3cret"),
		Exchange: e.kdc.Exchange, Now: func() time.Time { return e.clock.t.Add(10 * time.Minute) }})
	_, err = skewed.GetTGT(ctx)
	assert.Equal(t, msg.KRBAPErrSkew, code(err))

	// An expired TGT.
	e.clock.t = t0.Add(10*time.Hour + 6*time.Minute)
	_, err = c.GetServiceTicket(ctx, tgt, e.http)
	assert.Equal(t, msg.KRBAPErrTktExpired, code(err))

	// A user that needs no pre-authentication gets its TGT at once; with
	// the wrong password it cannot read the reply.
	var n int
	bob := client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "bob"), Key: client.PasswordKeys("hunter2"), Exchange: counting(e, &n), Now: e.clock.Now})
	btgt, err := bob.GetTGT(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Zero(t, btgt.Flags&msg.TktPreAuthent)
	_, err = e.client("bob", "nope").GetTGT(ctx)
	assert.Equal(t, msg.KRBAPErrBadIntegrity, code(err))

	// Garbage and wrong messages get KRB-ERRORs, never panics.
	for _, req := range [][]byte{nil, {0x30}, {0x6e, 0x00}, {0x6a, 0x00}, {0x6c, 0x00}} {
		rep := e.kdc.Handle(req)
		_, err := msg.ParseKRBError(rep)
		require.NoError(t, err)
	}
	_, err = e.kdc.Exchange(ctx, "OTHER.TEST", nil)
	assert.Error(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.kdc.Exchange(cctx, realm, nil)
	assert.Error(t, err)
}

func TestNoPACAndCanonicalize(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(msg.NTEnterprise, "ALICE@contoso.test"),
		Key: client.PasswordKeys("s3cret"), Exchange: e.kdc.Exchange, Now: e.clock.Now, NoPAC: true})
	// An enterprise name resolves to the account; the reply names it.
	tgt, err := c.GetTGT(ctx)
	require.NoError(t, err)
	assert.Equal(t, "alice", tgt.CName.String())

	// Another spelling of the name works too: the KDC sends the salt,
	// which is the account's name.
	c = client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(msg.NTPrincipal, "ALICE"),
		Key: client.PasswordKeys("s3cret"), Exchange: e.kdc.Exchange, Now: e.clock.Now, NoPAC: true,
		Options: msg.OptForwardable})
	tgt, err = c.GetTGT(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ALICE", tgt.CName.String(), "without canonicalize the reply keeps the spelling asked for")

	c = client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(msg.NTPrincipal, "alice"),
		Key: client.PasswordKeys("s3cret"), Exchange: e.kdc.Exchange, Now: e.clock.Now, NoPAC: true})
	tgt, err = c.GetTGT(ctx)
	require.NoError(t, err)
	st, err := c.GetServiceTicket(ctx, tgt, e.http)
	require.NoError(t, err)
	keys, err := e.kdc.ServiceKeys(spn)
	require.NoError(t, err)
	_, tok, err := ap.Initiate(ap.InitiatorConfig{Ticket: st.Ticket, SessionKey: st.SessionKey, CRealm: st.CRealm, CName: st.CName, Now: e.clock.Now})
	require.NoError(t, err)
	acc, err := (&ap.Acceptor{Key: keys, Now: e.clock.Now}).Accept(tok, nil)
	require.NoError(t, err)
	assert.Nil(t, acc.PAC, "PA-PAC-REQUEST false")
}

func TestServiceKeysAndConfig(t *testing.T) {
	e := newEnv(t)
	_, err := e.kdc.ServiceKeys("HTTP/nope")
	assert.Error(t, err)
	_, err = e.kdc.ServiceKeys("alice")
	assert.Error(t, err)
	keys, err := e.kdc.ServiceKeys(spn)
	require.NoError(t, err)
	_, err = keys(realm, msg.ParsePrincipal(2, "HTTP/other"), kcrypto.AES256CTSHMACSHA196, 0)
	assert.Equal(t, msg.KRBAPErrNotUs, code(err))
	_, err = keys(realm, e.http, kcrypto.AES256CTSHMACSHA196, 9)
	assert.Equal(t, msg.KRBAPErrBadKeyVer, code(err))
	_, err = keys(realm, e.http, 23, 2)
	assert.Equal(t, msg.KRBAPErrNoKey, code(err))
	k, err := keys(realm, e.http, kcrypto.AES128CTSHMACSHA196, 2)
	require.NoError(t, err)
	want, err := kcrypto.StringToKey(kcrypto.AES128CTSHMACSHA196, "web secret", realm+"HTTPweb01.contoso.test", nil)
	require.NoError(t, err)
	assert.True(t, want.Equal(k), "keys derive from the password and the first SPN's salt")

	assert.Error(t, e.kdc.AddUser(kdc.User{Name: "ALICE"}), "names are unique without regard to case")
	assert.Error(t, e.kdc.AddUser(kdc.User{Name: "a/b"}))
	assert.Error(t, e.kdc.AddService(kdc.Service{}))
	assert.Error(t, e.kdc.AddService(kdc.Service{SPNs: []string{"HTTP"}}))
	assert.Error(t, e.kdc.AddService(kdc.Service{SPNs: []string{"http/WEB01.contoso.test"}}))
	require.NoError(t, e.kdc.AddService(kdc.Service{SPNs: []string{"CIFS/fs01"}}))
	_, err = kdc.New(kdc.Config{})
	assert.Error(t, err)
	_, err = kdc.New(kdc.Config{Realm: "R", ETypes: []kcrypto.EType{23}})
	assert.Error(t, err)
	assert.Equal(t, realm, e.kdc.Realm())

	// An SPN added to an account shares its keys.
	require.NoError(t, e.kdc.AddSPN(spn, "HTTP/alias.contoso.test"))
	_, err = keys(realm, msg.ParsePrincipal(2, "http/ALIAS.contoso.test"), kcrypto.AES128CTSHMACSHA196, 2)
	require.NoError(t, err, "the alias is the same account")
	assert.Error(t, e.kdc.AddSPN(spn, "HTTP/alias.contoso.test"), "taken")
	assert.Error(t, e.kdc.AddSPN(spn, "HTTP"))
	assert.ErrorIs(t, e.kdc.AddSPN("HTTP/nope", "HTTP/x"), msg.KDCErrSPrincipalUnknown)
}
