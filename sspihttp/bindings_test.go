package sspihttp

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/flags"
)

func TestChannelBindingsLayout(t *testing.T) {
	_, leaf := testCert(t, "a.test")
	b := ChannelBindings(leaf)
	sum := sha256.Sum256(leaf.Raw)
	app := append([]byte("tls-server-end-point:"), sum[:]...)
	want := make([]byte, 32)
	binary.LittleEndian.PutUint32(want[24:], uint32(len(app)))
	binary.LittleEndian.PutUint32(want[28:], 32)
	want = append(want, app...)
	if d := cmp.Diff(want, b); d != "" {
		t.Errorf("SEC_CHANNEL_BINDINGS (-want +got):\n%s", d)
	}
}

func TestEndPointHash(t *testing.T) {
	raw := []byte("certificate")
	s256, s384, s512 := sha256.Sum256(raw), sha512.Sum384(raw), sha512.Sum512(raw)
	for _, tc := range []struct {
		alg  x509.SignatureAlgorithm
		want []byte
	}{
		{x509.MD5WithRSA, s256[:]}, // RFC 5929: MD5 and SHA-1 become SHA-256
		{x509.SHA1WithRSA, s256[:]},
		{x509.ECDSAWithSHA1, s256[:]},
		{x509.SHA256WithRSA, s256[:]},
		{x509.ECDSAWithSHA256, s256[:]},
		{x509.SHA384WithRSA, s384[:]},
		{x509.ECDSAWithSHA384, s384[:]},
		{x509.SHA384WithRSAPSS, s384[:]},
		{x509.SHA512WithRSA, s512[:]},
		{x509.ECDSAWithSHA512, s512[:]},
		{x509.PureEd25519, s256[:]}, // undefined by the RFC; SHA-256 here
	} {
		got := endPointHash(&x509.Certificate{Raw: raw, SignatureAlgorithm: tc.alg})
		assert.Equal(t, tc.want, got, tc.alg.String())
	}
}

// TestExtendedProtection runs the three policies against clients that
// send the right bindings, none, and another certificate's.
func TestExtendedProtection(t *testing.T) {
	_, other := testCert(t, "evil.test")
	type want struct{ match, none, wrong int }
	for _, tc := range []struct {
		policy  ExtendedProtection
		getCert bool
		want    want
	}{
		{ProtectionOff, false, want{200, 200, 200}},
		{ProtectionAllow, false, want{200, 200, 401}},
		{ProtectionAllow, true, want{200, 200, 401}},
		{ProtectionRequire, false, want{200, 401, 401}},
		{ProtectionRequire, true, want{200, 401, 401}},
	} {
		name := tc.policy.String()
		if tc.getCert {
			name += "/GetCertificate"
		}
		t.Run(name, func(t *testing.T) {
			for _, s := range bothSchemes {
				t.Run(string(s), func(t *testing.T) {
					e := newEnv(t, envOpts{tls: true, getCert: tc.getCert, cfg: ServerConfig{ExtendedProtection: tc.policy}})
					try := func(b []byte) int {
						return e.dial().handshake(s, e.clientCtx(s, testPassword, b)).StatusCode
					}
					assert.Equal(t, tc.want.match, try(ChannelBindings(e.cert)), "matching bindings")
					assert.Equal(t, tc.want.none, try(nil), "no bindings")
					assert.Equal(t, tc.want.wrong, try(ChannelBindings(other)), "another certificate's bindings")

					// The Transport binds by itself, or not when told so.
					code, _ := get(t, e.client(ClientConfig{Schemes: []Scheme{s}}), e.ts.URL)
					assert.Equal(t, tc.want.match, code, "Transport with bindings")
					code, _ = get(t, e.client(ClientConfig{Schemes: []Scheme{s}, ExtendedProtection: ProtectionOff}), e.ts.URL)
					assert.Equal(t, tc.want.none, code, "Transport without bindings")
				})
			}
		})
	}
}

func TestRequireRefusesPlainHTTP(t *testing.T) {
	e := newEnv(t, envOpts{cfg: ServerConfig{ExtendedProtection: ProtectionRequire}})
	resp := e.dial().do()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// And a client that requires it refuses to send credentials.
	e2 := newEnv(t, envOpts{})
	_, err := e2.client(ClientConfig{ExtendedProtection: ProtectionRequire}).Get(e2.ts.URL)
	require.ErrorIs(t, err, ErrInsecure)
}

// TestAllowMissingBindingsFlag checks what the security package is told:
// under Allow it may accept a client without bindings
// (ASC_REQ_ALLOW_MISSING_BINDINGS, as .NET's WhenSupported passes it);
// under Require it may not, which Windows enforces for Kerberos too.
func TestAllowMissingBindingsFlag(t *testing.T) {
	for _, p := range []ExtendedProtection{ProtectionAllow, ProtectionRequire, ProtectionOff} {
		e := newEnv(t, envOpts{tls: true, cfg: ServerConfig{ExtendedProtection: p, Flags: flags.ServerReqAllowMissingBindings}})
		code, _ := get(t, e.client(ClientConfig{}), e.ts.URL)
		require.Equal(t, http.StatusOK, code)
		e.proc.mu.Lock()
		for _, f := range e.proc.flags {
			assert.Equal(t, p == ProtectionAllow, f&flags.ServerReqAllowMissingBindings != 0, "%s: %s", p, f)
		}
		e.proc.mu.Unlock()
	}
}
