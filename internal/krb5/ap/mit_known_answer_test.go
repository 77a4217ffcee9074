package ap

import (
	"bufio"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
	"github.com/gosspi/gosspi/internal/krb5/pac"
)

// TestMITRecordedInitiator replays a context that MIT Kerberos 1.20's
// GSSAPI initiator made with this package's acceptor, recorded by the
// real-peer tests of internal/krb5/kdc (GOSSPI_KRB_RECORD=1): MIT's
// AP-REQ, the AP-REP this side answered, and MIT's first MIC and Wrap
// tokens. The service's key comes from its password, so everything is
// checked against what MIT made: string-to-key, the ticket and the
// authenticator, the channel bindings hash, MIT's PAC and its server
// signature, and MIT's per-message tokens.
func TestMITRecordedInitiator(t *testing.T) {
	f, err := os.Open("testdata/mit-initiator.txt")
	require.NoError(t, err)
	defer f.Close()
	rec := map[string][]string{}
	var order []string
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		w := strings.SplitN(s.Text(), " ", 2)
		rec[w[0]] = append(rec[w[0]], w[1])
		order = append(order, w[0])
	}
	require.NoError(t, s.Err())
	dec := func(v string) []byte {
		b, err := base64.StdEncoding.DecodeString(v)
		require.NoError(t, err)
		return b
	}

	const realm, password = "MIT.TEST", "web-secret"
	svc := msg.ParsePrincipal(msg.NTSrvHst, "HTTP/web01.mit.test")
	key, err := kcrypto.StringToKey(kcrypto.AES256CTSHMACSHA196, password, kcrypto.DefaultSalt(realm, svc.NameString...), nil)
	require.NoError(t, err)
	keys := func(r string, sname msg.PrincipalName, e kcrypto.EType, kvno uint32) (*kcrypto.Key, error) {
		require.Equal(t, realm, r)
		require.True(t, sname.Equal(svc))
		require.Equal(t, kcrypto.AES256CTSHMACSHA196, e, "MIT's ticket is in the service's aes256 key")
		return key, nil
	}

	_, inner, err := gss.UnframeToken(dec(rec["ap-req"][0]))
	require.NoError(t, err)
	// First with any clock, to learn the authenticator's time, which is
	// then the clock the acceptor runs on.
	req, err := Verify(VerifyConfig{Key: keys, Usage: kcrypto.UsageAPReqAuthenticator, MaxSkew: 1 << 62}, inner)
	require.NoError(t, err)
	at := req.Authenticator.CTime.Add(time.Duration(req.Authenticator.Cusec) * time.Microsecond)

	cb := gss.ChannelBindingsHash(0, nil, 0, nil, []byte(rec["bindings"][0]))
	acc, err := (&Acceptor{Key: keys, Now: func() time.Time { return at }, StrictBindings: true, RequirePAC: true}).Accept(dec(rec["ap-req"][0]), &cb)
	require.NoError(t, err, "MIT's channel bindings hash is the one ChannelBindingsHash computes")
	assert.Equal(t, "alice", acc.CName.String())
	assert.Equal(t, realm, acc.CRealm)
	want := gss.FlagMutual | gss.FlagReplay | gss.FlagSequence | gss.FlagConf | gss.FlagInteg
	assert.Equal(t, want, acc.Flags&want, "the flags MIT was asked for (it adds 0x100, GSS_C_TRANS_FLAG)")
	require.NotNil(t, acc.PAC, "MIT 1.20's PAC, its server signature checked")
	_, ok := acc.PAC.Find(pac.TypeTicketChecksum)
	assert.True(t, ok, "MIT signs the ticket too")

	// The AP-REP this side sent then; its subkey keys MIT's tokens.
	_, repInner, err := gss.UnframeToken(dec(rec["ap-rep"][0]))
	require.NoError(t, err)
	rep, err := msg.ParseAPRep(repInner)
	require.NoError(t, err)
	plain, err := req.SessionKey.Decrypt(kcrypto.UsageAPRepEncPart, rep.EncPart.Cipher)
	require.NoError(t, err)
	part, err := msg.ParseEncAPRepPart(plain)
	require.NoError(t, err)
	sub, err := kcrypto.NewKey(kcrypto.EType(part.Subkey.KeyType), part.Subkey.KeyValue)
	require.NoError(t, err)
	sess, err := gss.NewSession(gss.Config{Key: sub, AcceptorSubkey: true, Acceptor: true,
		SendSeq: uint64(*part.SeqNumber), RecvSeq: uint64(*req.Authenticator.SeqNumber)})
	require.NoError(t, err)

	n := 0
	for _, op := range order {
		switch op {
		case "mic":
			w := strings.Fields(rec["mic"][0])
			require.NoError(t, sess.VerifyMIC(dec(w[0]), dec(w[1])), "MIT's MIC token")
			n++
		case "wrap":
			w := strings.Fields(rec["wrap"][0])
			rec["wrap"] = rec["wrap"][1:]
			got, _, err := sess.Unwrap(dec(w[1]))
			require.NoError(t, err, "MIT's Wrap token")
			assert.Equal(t, dec(w[0]), got)
			n++
		}
	}
	assert.Equal(t, 3, n)
}
