package ntlm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandshake(t *testing.T) {
	cb := mustHex("00112233445566778899aabbccddeeff")
	tests := []struct {
		name   string
		client func(*ClientConfig)
		server func(*ServerConfig)
		check  func(t *testing.T, res *AuthResult)
	}{
		{name: "default"},
		{
			name:   "channel bindings and SPN",
			client: func(c *ClientConfig) { c.ChannelBindingsHash = cb },
			check: func(t *testing.T, res *AuthResult) {
				assert.Equal(t, cb, res.ChannelBindings)
				assert.Equal(t, "HTTP/srv1.example.test", res.TargetName)
			},
		},
		{
			name:   "no SPN",
			client: func(c *ClientConfig) { c.TargetSPN = "" },
			check:  func(t *testing.T, res *AuthResult) { assert.Empty(t, res.TargetName) },
		},
		{
			name:   "stand-alone server",
			server: func(s *ServerConfig) { s.NetBIOSDomain, s.DNSDomain = "", "" },
		},
		{
			name: "OEM strings",
			client: func(c *ClientConfig) {
				c.Flags = DefaultClientFlags&^NegotiateUnicode | NegotiateOEM
			},
			check: func(t *testing.T, res *AuthResult) {
				assert.Zero(t, res.Flags&NegotiateUnicode)
				assert.Equal(t, "alice", res.User)
			},
		},
		{
			name:   "no key exchange",
			client: func(c *ClientConfig) { c.Flags = DefaultClientFlags &^ NegotiateKeyExch },
		},
		{
			name:   "56-bit",
			client: func(c *ClientConfig) { c.Flags = DefaultClientFlags &^ Negotiate128 },
		},
		{
			name:   "40-bit",
			client: func(c *ClientConfig) { c.Flags = DefaultClientFlags &^ (Negotiate128 | Negotiate56) },
		},
		{
			name: "unicode names",
			client: func(c *ClientConfig) {
				c.User, c.Password, c.Workstation = "Ürsula😀", "pässwörd", "РАБОЧАЯ"
			},
			server: func(s *ServerConfig) {
				s.Lookup = directory{"ÜRSULA😀": NTHash("pässwörd")}.lookup
			},
			check: func(t *testing.T, res *AuthResult) {
				assert.Equal(t, "Ürsula😀", res.User)
				assert.Equal(t, "РАБОЧАЯ", res.Workstation)
			},
		},
		{
			name:   "clock skew within bounds",
			client: func(c *ClientConfig) { c.Now = fixedNow },
			server: func(s *ServerConfig) { s.Now = fixedNow; s.MaxClockSkew = 5 * time.Minute },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := testClientConfig(), testServerConfig()
			if tt.client != nil {
				tt.client(&cc)
			}
			if tt.server != nil {
				tt.server(&sc)
			}
			x := handshake(t, cc, sc)
			res, err := x.server.Authenticate(x.authenticate)
			require.NoError(t, err)
			assert.Equal(t, cc.Domain, res.Domain)
			assert.Equal(t, cc.Workstation, res.Workstation)
			assert.True(t, res.MIC, "the server sends a timestamp, so the client must send a MIC")
			assert.Equal(t, x.client.SessionKey(), res.SessionKey)
			assert.Len(t, res.SessionKey, 16)
			assert.Equal(t, x.client.NegotiatedFlags(), res.Flags)
			if tt.check != nil {
				tt.check(t, res)
			}

			cs, err := NewSession(x.client.SessionKey(), x.client.NegotiatedFlags(), true)
			require.NoError(t, err)
			ss, err := NewSession(res.SessionKey, res.Flags, false)
			require.NoError(t, err)
			sealed, sig := cs.Seal([]byte("hello"))
			plain, err := ss.Unseal(sealed, sig)
			require.NoError(t, err)
			assert.Equal(t, []byte("hello"), plain)
		})
	}
}

func TestHandshakeTokensLookReal(t *testing.T) {
	x := handshake(t, testClientConfig(), testServerConfig())
	neg, err := ParseNegotiate(x.negotiate)
	require.NoError(t, err)
	assert.Equal(t, DefaultClientFlags, neg.Flags)
	assert.Equal(t, defaultVersion, neg.Version)

	ch, err := ParseChallenge(x.challenge)
	require.NoError(t, err)
	assert.Equal(t, "EXAMPLE", ch.TargetName)
	assert.NotZero(t, ch.Flags&TargetTypeDomain)
	for _, id := range []uint16{AvNbDomainName, AvNbComputerName, AvDNSDomainName, AvDNSComputerName, AvTimestamp} {
		_, ok := ch.TargetInfo.Get(id)
		assert.True(t, ok, "AV pair %d", id)
	}

	auth, err := ParseAuthenticate(x.authenticate)
	require.NoError(t, err)
	assert.Equal(t, micOffset, auth.MICOffset)
	assert.Len(t, auth.MIC, 16)
	assert.Equal(t, make([]byte, 24), auth.LmChallengeResponse, "Z(24) LM response with MsvAvTimestamp")
	pairs, err := ParseAVPairs(auth.NtChallengeResponse[16+28:])
	require.NoError(t, err)
	f, ok := pairs.Get(AvFlags)
	require.True(t, ok)
	assert.Equal(t, AvFlagMICPresent, binary.LittleEndian.Uint32(f))
	ts, _ := ch.TargetInfo.Get(AvTimestamp)
	assert.Equal(t, ts, auth.NtChallengeResponse[16+8:16+16], "the client echoes the server's timestamp")
}

func TestHandshakeFailures(t *testing.T) {
	tests := []struct {
		name   string
		client func(*ClientConfig)
		server func(*ServerConfig)
		edit   func(t *testing.T, x *exchange) []byte
		want   error
	}{
		{name: "wrong password", client: func(c *ClientConfig) { c.Password = "wrong" }, want: ErrLogonDenied},
		{name: "unknown user", client: func(c *ClientConfig) { c.User = "mallory" }, want: ErrLogonDenied},
		{name: "nil lookup", server: func(s *ServerConfig) { s.Lookup = nil }, want: ErrLogonDenied},
		{
			name: "bad hash from directory",
			server: func(s *ServerConfig) {
				s.Lookup = func(string, string) ([]byte, bool) { return []byte{1, 2, 3}, true }
			},
			want: ErrLogonDenied,
		},
		{
			name: "tampered MIC",
			edit: func(_ *testing.T, x *exchange) []byte { return flip(x.authenticate, micOffset+3) },
			want: ErrLogonDenied,
		},
		{
			name: "tampered flags (caught by the MIC)",
			edit: func(_ *testing.T, x *exchange) []byte { return flip(x.authenticate, 60) },
			want: ErrLogonDenied,
		},
		{
			name: "tampered workstation (caught by the MIC)",
			edit: func(_ *testing.T, x *exchange) []byte {
				return bytes.Replace(x.authenticate, utf16le("WS1"), utf16le("WS2"), 1)
			},
			want: ErrLogonDenied,
		},
		{
			name: "MIC stripped",
			edit: func(t *testing.T, x *exchange) []byte {
				m, err := ParseAuthenticate(x.authenticate)
				require.NoError(t, err)
				m.MIC = nil
				return m.Marshal()
			},
			want: ErrLogonDenied,
		},
		{
			name: "MIC-present bit cleared (caught by NTProofStr)",
			edit: func(t *testing.T, x *exchange) []byte {
				flag := append(binary.LittleEndian.AppendUint16([]byte{6, 0}, 4), 2, 0, 0, 0)
				i := bytes.Index(x.authenticate, flag)
				require.Positive(t, i)
				b := bytes.Clone(x.authenticate)
				b[i+4] = 0 // the server would now skip the MIC, but the proof covers the flag
				return b
			},
			want: ErrLogonDenied,
		},
		{
			name: "tampered NTProofStr",
			edit: func(t *testing.T, x *exchange) []byte {
				m, err := ParseAuthenticate(x.authenticate)
				require.NoError(t, err)
				i := bytes.Index(x.authenticate, m.NtChallengeResponse)
				return flip(x.authenticate, i)
			},
			want: ErrLogonDenied,
		},
		{
			name: "clock skew",
			server: func(s *ServerConfig) {
				calls := 0
				s.Now = func() time.Time { // timestamp now, verification an hour later
					calls++
					if calls == 1 {
						return fixedNow()
					}
					return fixedNow().Add(time.Hour)
				}
				s.MaxClockSkew = 5 * time.Minute
			},
			want: ErrLogonDenied,
		},
		{name: "truncated", edit: func(_ *testing.T, x *exchange) []byte { return x.authenticate[:70] }, want: ErrMalformed},
		{name: "cut payload", edit: func(_ *testing.T, x *exchange) []byte { return x.authenticate[:len(x.authenticate)-1] }, want: ErrMalformed},
		{name: "garbage", edit: func(_ *testing.T, _ *exchange) []byte { return randomBytes(300) }, want: ErrMalformed},
		{name: "empty", edit: func(_ *testing.T, _ *exchange) []byte { return nil }, want: ErrMalformed},
		{name: "a NEGOTIATE", edit: func(_ *testing.T, x *exchange) []byte { return x.negotiate }, want: ErrMalformed},
		{
			name: "oversize",
			edit: func(_ *testing.T, x *exchange) []byte {
				return append(bytes.Clone(x.authenticate), make([]byte, MaxTokenSize)...)
			},
			want: ErrMalformed,
		},
		{
			name: "anonymous",
			edit: func(t *testing.T, x *exchange) []byte {
				m, err := ParseAuthenticate(x.authenticate)
				require.NoError(t, err)
				m.NtChallengeResponse, m.LmChallengeResponse, m.User = nil, []byte{0}, ""
				return m.Marshal()
			},
			want: ErrLogonDenied,
		},
		{
			name: "NTLMv1-sized response",
			edit: func(t *testing.T, x *exchange) []byte {
				m, err := ParseAuthenticate(x.authenticate)
				require.NoError(t, err)
				m.NtChallengeResponse = m.NtChallengeResponse[:24]
				return m.Marshal()
			},
			want: ErrMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := testClientConfig(), testServerConfig()
			if tt.client != nil {
				tt.client(&cc)
			}
			if tt.server != nil {
				tt.server(&sc)
			}
			x := handshake(t, cc, sc)
			auth := x.authenticate
			if tt.edit != nil {
				auth = tt.edit(t, x)
			}
			res, err := x.server.Authenticate(auth)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, res)
			for _, other := range []error{ErrMalformed, ErrLogonDenied, ErrMessageAltered, ErrOutOfSequence} {
				if other != tt.want {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

func TestHandshakeBadInputs(t *testing.T) {
	t.Run("server: bad NEGOTIATE", func(t *testing.T) {
		neg, err := NewClient(testClientConfig()).Negotiate()
		require.NoError(t, err)
		for _, b := range [][]byte{nil, neg[:20], randomBytes(64), flip(neg, 0), append(bytes.Clone(neg), make([]byte, MaxTokenSize)...)} {
			_, err := NewServer(testServerConfig()).Challenge(b)
			assert.ErrorIs(t, err, ErrMalformed)
		}
		noStrings := (&NegotiateMessage{Flags: NegotiateNTLM}).Marshal()
		_, err = NewServer(testServerConfig()).Challenge(noStrings)
		assert.ErrorIs(t, err, ErrMalformed)
	})
	t.Run("client: bad CHALLENGE", func(t *testing.T) {
		x := handshake(t, testClientConfig(), testServerConfig())
		for _, b := range [][]byte{nil, x.challenge[:40], x.challenge[:len(x.challenge)-2], randomBytes(100), x.negotiate} {
			c := NewClient(testClientConfig())
			_, err := c.Negotiate()
			require.NoError(t, err)
			_, err = c.Authenticate(b)
			assert.ErrorIs(t, err, ErrMalformed)
		}
	})
	t.Run("call order", func(t *testing.T) {
		c := NewClient(testClientConfig())
		_, err := c.Authenticate(nil)
		assert.ErrorIs(t, err, ErrState)
		neg, err := c.Negotiate()
		require.NoError(t, err)
		_, err = c.Negotiate()
		assert.ErrorIs(t, err, ErrState)

		s := NewServer(testServerConfig())
		_, err = s.Authenticate(nil)
		assert.ErrorIs(t, err, ErrState)
		ch, err := s.Challenge(neg)
		require.NoError(t, err)
		_, err = s.Challenge(neg)
		assert.ErrorIs(t, err, ErrState)
		auth, err := c.Authenticate(ch)
		require.NoError(t, err)
		_, err = c.Authenticate(ch)
		assert.ErrorIs(t, err, ErrState)
		_, err = s.Authenticate(auth)
		require.NoError(t, err)
		_, err = s.Authenticate(auth)
		assert.ErrorIs(t, err, ErrState, "one attempt per challenge")
	})
	t.Run("server spent after a failure", func(t *testing.T) {
		cc := testClientConfig()
		cc.Password = "wrong"
		x := handshake(t, cc, testServerConfig())
		_, err := x.server.Authenticate(x.authenticate)
		require.ErrorIs(t, err, ErrLogonDenied)
		_, err = x.server.Authenticate(x.authenticate)
		assert.ErrorIs(t, err, ErrState)
	})
	t.Run("random source failure", func(t *testing.T) {
		cc := testClientConfig()
		cc.Rand = bytes.NewReader(nil)
		c := NewClient(cc)
		neg, err := c.Negotiate()
		require.NoError(t, err)
		ch, err := NewServer(testServerConfig()).Challenge(neg)
		require.NoError(t, err)
		_, err = c.Authenticate(ch)
		assert.Error(t, err)
		sc := testServerConfig()
		sc.Rand = bytes.NewReader(nil)
		_, err = NewServer(sc).Challenge(neg)
		assert.Error(t, err)
	})
}

func TestDeterministicTokens(t *testing.T) {
	cfg := func() (ClientConfig, ServerConfig) {
		cc, sc := testClientConfig(), testServerConfig()
		cc.Rand, cc.Now = fixedRand(1), fixedNow
		sc.Rand, sc.Now = fixedRand(2), fixedNow
		return cc, sc
	}
	cc, sc := cfg()
	a := handshake(t, cc, sc)
	cc, sc = cfg()
	b := handshake(t, cc, sc)
	if d := cmp.Diff([][]byte{a.negotiate, a.challenge, a.authenticate}, [][]byte{b.negotiate, b.challenge, b.authenticate}); d != "" {
		t.Errorf("tokens differ with fixed Rand and Now:\n%s", d)
	}
}

func TestErrorsWrapSentinels(t *testing.T) {
	_, err := ParseAuthenticate([]byte("NTLMSSP\x00"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrMalformed))
	assert.Contains(t, err.Error(), "shorter than")
}
