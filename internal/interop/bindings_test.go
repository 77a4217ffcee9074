package interop

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// secBindings lays out a SEC_CHANNEL_BINDINGS: the eight-field header, then
// the initiator address, the acceptor address and the application data.
func secBindings(iaType uint32, ia []byte, aaType uint32, aa, app []byte) []byte {
	b := make([]byte, 32)
	add := func(at int, v []byte) {
		binary.LittleEndian.PutUint32(b[at:], uint32(len(v)))
		binary.LittleEndian.PutUint32(b[at+4:], uint32(len(b)))
		b = append(b, v...)
	}
	binary.LittleEndian.PutUint32(b[0:], iaType)
	add(4, ia)
	binary.LittleEndian.PutUint32(b[12:], aaType)
	add(16, aa)
	add(24, app)
	return b
}

// The fake's NTLM client hashes its SEC_CHANNEL_BINDINGS the way
// gss-ntlmssp hashes the gss_channel_bindings_struct, so MIT's acceptor
// with the same bindings takes it, and refuses other bindings.
func TestMITNTLMChannelBindings(t *testing.T) {
	tier(t, toolGSSAPI, toolNTLMSSP)
	app := []byte("tls-server-end-point:" + string(make([]byte, 32)))
	ia, aa := []byte{127, 0, 0, 1}, []byte{127, 0, 0, 2}
	tests := []struct {
		name   string
		fake   []byte
		peer   string
		wantOK bool
	}{
		{"application data", secBindings(0, nil, 0, nil, app), fmt.Sprintf("bindings:0:-:0:-:%s", b64(app)), true},
		// gss-ntlmssp refuses bindings with addresses (GSS_S_BAD_BINDINGS,
		// EINVAL), whatever their hash, so only the refusal is checked;
		// the addresses' place in the hash follows RFC 4121 and MS-NLMP.
		{"addresses", secBindings(2, ia, 2, aa, app), fmt.Sprintf("bindings:2:%s:2:%s:%s", b64(ia), b64(aa), b64(app)), false},
		{"other data", secBindings(0, nil, 0, nil, []byte("tls-server-end-point:other")), fmt.Sprintf("bindings:0:-:0:-:%s", b64(app)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				outcome := outPass
				if t.Failed() {
					outcome = outFail
				}
				record(peerMITNTLM, fakeInitiates, opBindings, outcome)
			}()
			d := newPeerDir(t)
			p := startGSS(t, d.gssEnv(ntlmUsers(testPassword), ""), "", "accept", "ntlm", tc.peer)
			store, _ := fake.NewTestStore(t, fake.User{Domain: testDomain, Name: testUser, Password: testPassword})
			cred, err := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: testDomain, User: testUser, Password: testPassword})
			require.NoError(t, err)
			t.Cleanup(func() { _ = cred.Release() })
			c := cred.NewClientContext(testTarget, flags.ClientReqIntegrity|flags.ClientReqConfidentiality)
			t.Cleanup(func() { _ = c.Delete() })
			c.SetChannelBindings(tc.fake)
			tok, _, err := c.Step(nil)
			require.NoError(t, err)
			tok, _, err = p.step(tok)
			require.NoError(t, err)
			tok, _, err = c.Step(tok)
			require.NoError(t, err)
			_, done, err := p.step(tok)
			if !tc.wantOK {
				assert.Error(t, err, "MIT took different bindings")
				return
			}
			require.NoError(t, err)
			assert.True(t, done)
		})
	}
}
