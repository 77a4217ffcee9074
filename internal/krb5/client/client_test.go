package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/krb5/client"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/kdc"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

const realm = "CONTOSO.TEST"

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func newKDC(t *testing.T) *kdc.KDC {
	k, err := kdc.New(kdc.Config{Realm: realm, Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	require.NoError(t, k.AddUser(kdc.User{Name: "alice", Password: "s3cret"}))
	require.NoError(t, k.AddService(kdc.Service{SPNs: []string{"HTTP/web01"}}))
	return k
}

func TestPasswordKeysDeriveOnce(t *testing.T) {
	kf := client.PasswordKeys("pw")
	a, err := kf(kcrypto.AES256CTSHMACSHA196, "S", nil)
	require.NoError(t, err)
	b, err := kf(kcrypto.AES256CTSHMACSHA196, "S", nil)
	require.NoError(t, err)
	assert.Same(t, a, b, "the second call returns the kept key")
	c, err := kf(kcrypto.AES128CTSHMACSHA196, "S", nil)
	require.NoError(t, err)
	assert.NotSame(t, a, c)
	_, err = kf(23, "S", nil)
	assert.ErrorIs(t, err, kcrypto.ErrUnsupported)
}

// replaying answers every request with the first reply it got, as an
// attacker replaying an old KDC reply would.
func replaying(k *kdc.KDC) client.ExchangeFunc {
	var first []byte
	return func(ctx context.Context, r string, req []byte) ([]byte, error) {
		rep, err := k.Exchange(ctx, r, req)
		if t, _ := msg.MessageType(rep); t == msg.MsgKRBError {
			return rep, err
		}
		if first == nil {
			first = rep
		}
		return first, err
	}
}

func TestReplayedReplyIsRefused(t *testing.T) {
	k := newKDC(t)
	c := client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "alice"), Key: client.PasswordKeys("s3cret"),
		Exchange: replaying(k), Now: func() time.Time { return t0 }})
	_, err := c.GetTGT(context.Background())
	require.NoError(t, err)
	_, err = c.GetTGT(context.Background())
	assert.ErrorIs(t, err, client.ErrModified, "the old reply's nonce is not the new request's")
	assert.ErrorIs(t, err, msg.KRBAPErrModified)
}

func TestTransportErrorsAndWrongReplies(t *testing.T) {
	fail := errors.New("no route to KDC")
	c := client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "alice"), Key: client.PasswordKeys("s3cret"),
		Exchange: func(context.Context, string, []byte) ([]byte, error) { return nil, fail }})
	_, err := c.GetTGT(context.Background())
	assert.ErrorIs(t, err, fail)

	for name, rep := range map[string][]byte{"garbage": {0x30, 0x00}, "bad KRB-ERROR": {0x7e, 0x00}, "AP-REQ": {0x6e, 0x00}} {
		c = client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "alice"), Key: client.PasswordKeys("s3cret"),
			Exchange: func(context.Context, string, []byte) ([]byte, error) { return rep, nil }})
		_, err = c.GetTGT(context.Background())
		assert.Error(t, err, name)
	}

	// A KDC that offers no encryption type the client has.
	k128, err := kdc.New(kdc.Config{Realm: realm, ETypes: []kcrypto.EType{kcrypto.AES128CTSHMACSHA196}, Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	require.NoError(t, k128.AddUser(kdc.User{Name: "alice", Password: "s3cret"}))
	c = client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "alice"), Key: client.PasswordKeys("s3cret"),
		Exchange: k128.Exchange, ETypes: []kcrypto.EType{kcrypto.AES256CTSHMACSHA196}, Now: func() time.Time { return t0 }})
	_, err = c.GetTGT(context.Background())
	assert.ErrorIs(t, err, msg.KDCErrETypeNoSupp)
	c = client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "alice"), Key: client.PasswordKeys("s3cret"),
		Exchange: k128.Exchange, Now: func() time.Time { return t0 }})
	tgt, err := c.GetTGT(context.Background())
	require.NoError(t, err)
	assert.Equal(t, kcrypto.AES128CTSHMACSHA196, tgt.SessionKey.EType())
	assert.False(t, tgt.Valid(t0.Add(-time.Second)))
	assert.False(t, tgt.Valid(tgt.EndTime))
	assert.Equal(t, "krbtgt/R", client.TGSName("R").String())
}

func TestWrongPasswordAfterRememberedSalt(t *testing.T) {
	k := newKDC(t)
	var n int
	ex := func(ctx context.Context, r string, req []byte) ([]byte, error) { n++; return k.Exchange(ctx, r, req) }
	good := client.PasswordKeys("s3cret")
	password := good
	c := client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "alice"), Exchange: ex, Now: func() time.Time { return t0 },
		Key: func(e kcrypto.EType, s string, p []byte) (*kcrypto.Key, error) { return password(e, s, p) }})
	_, err := c.GetTGT(context.Background())
	require.NoError(t, err)
	// The password changes under the client: the remembered salt fails,
	// the client asks afresh, and fails again for good.
	password = client.PasswordKeys("changed")
	n = 0
	_, err = c.GetTGT(context.Background())
	assert.ErrorIs(t, err, msg.KDCErrPreauthFailed)
	assert.Equal(t, 3, n)
}
