package ntlm

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMessagesRoundTrip(t *testing.T) {
	t.Run("NEGOTIATE", func(t *testing.T) {
		for _, m := range []*NegotiateMessage{
			{Flags: DefaultClientFlags, Version: defaultVersion},
			{Flags: NegotiateOEM | NegotiateOEMDomainSupplied | NegotiateOEMWorkstationSupplied, Domain: "DOM", Workstation: "WS"},
			{Flags: NegotiateUnicode},
		} {
			got, err := ParseNegotiate(m.Marshal())
			require.NoError(t, err)
			if d := cmp.Diff(m, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}
	})
	t.Run("CHALLENGE", func(t *testing.T) {
		for _, m := range []*ChallengeMessage{
			{Flags: NegotiateUnicode | NegotiateTargetInfo | NegotiateVersion, TargetName: "DOMÄIN", ServerChallenge: [8]byte{1, 2, 3, 4, 5, 6, 7, 8},
				TargetInfo: AVPairs{{ID: AvNbDomainName, Value: utf16le("D")}, {ID: AvTimestamp, Value: make([]byte, 8)}}, Version: defaultVersion},
			{Flags: NegotiateOEM, TargetName: "SRV"},
			{Flags: NegotiateUnicode},
		} {
			got, err := ParseChallenge(m.Marshal())
			require.NoError(t, err)
			if d := cmp.Diff(m, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}
	})
	t.Run("AUTHENTICATE", func(t *testing.T) {
		for _, m := range []*AuthenticateMessage{
			{LmChallengeResponse: make([]byte, 24), NtChallengeResponse: randomBytes(80), Domain: "D", User: "Üser", Workstation: "W",
				EncryptedRandomSessionKey: randomBytes(16), Flags: DefaultClientFlags, Version: defaultVersion, MIC: randomBytes(16), MICOffset: micOffset},
			{NtChallengeResponse: randomBytes(50), User: "u", Flags: NegotiateOEM},
			{NtChallengeResponse: randomBytes(50), User: "u", Flags: NegotiateUnicode | NegotiateVersion, Version: defaultVersion},
		} {
			got, err := ParseAuthenticate(m.Marshal())
			require.NoError(t, err)
			if d := cmp.Diff(m, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}
	})
}

func TestMarshalRefusesOversizeFields(t *testing.T) {
	big := string(make([]byte, 40000)) // 80000 bytes as UTF-16
	assert.Nil(t, (&AuthenticateMessage{User: big, Flags: NegotiateUnicode}).Marshal())
	assert.Nil(t, (&ChallengeMessage{TargetName: big, Flags: NegotiateUnicode}).Marshal())
	assert.Nil(t, (&NegotiateMessage{Domain: string(make([]byte, 70000))}).Marshal())
	c := NewClient(ClientConfig{User: big})
	neg, err := c.Negotiate()
	require.NoError(t, err)
	ch, err := NewServer(testServerConfig()).Challenge(neg)
	require.NoError(t, err)
	_, err = c.Authenticate(ch)
	assert.Error(t, err)
}

func TestAVPairs(t *testing.T) {
	p := AVPairs{{ID: AvNbComputerName, Value: utf16le("A")}, {ID: AvEOL, Value: []byte{1}}, {ID: AvFlags, Value: []byte{2, 0, 0, 0}}}
	b := p.Marshal()
	got, err := ParseAVPairs(append(b, 0xde, 0xad)) // trailing bytes after EOL are ignored
	require.NoError(t, err)
	assert.Equal(t, AVPairs{p[0], p[2]}, got, "EOL inside the list is skipped when marshalling")
	v, ok := got.Get(AvFlags)
	assert.True(t, ok)
	assert.Equal(t, []byte{2, 0, 0, 0}, v)
	_, ok = got.Get(AvTimestamp)
	assert.False(t, ok)

	for name, b := range map[string][]byte{
		"empty":           nil,
		"no EOL":          {1, 0, 0, 0},
		"short header":    {1, 0, 2},
		"value past end":  {1, 0, 9, 0, 1, 2},
		"EOL cut":         {1, 0, 0, 0, 0, 0},
		"oversize":        make([]byte, MaxTokenSize+1),
		"max length pair": {1, 0, 0xff, 0xff},
	} {
		_, err := ParseAVPairs(b)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
}

func TestParsersRejectMalformed(t *testing.T) {
	x := handshake(t, testClientConfig(), testServerConfig())
	// setField overwrites a (Len, MaxLen, Offset) descriptor.
	setField := func(b []byte, at int, n uint16, off uint32) []byte {
		c := append([]byte(nil), b...)
		binary.LittleEndian.PutUint16(c[at:], n)
		binary.LittleEndian.PutUint16(c[at+2:], n)
		binary.LittleEndian.PutUint32(c[at+4:], off)
		return c
	}
	type parser func([]byte) error
	neg := func(b []byte) error { _, err := ParseNegotiate(b); return err }
	chal := func(b []byte) error { _, err := ParseChallenge(b); return err }
	auth := func(b []byte) error { _, err := ParseAuthenticate(b); return err }
	oddName := setField(x.challenge, 12, 3, uint32(len(x.challenge)-3))
	tests := []struct {
		name  string
		parse parser
		in    []byte
	}{
		{"negotiate: short", neg, x.negotiate[:31]},
		{"negotiate: wrong type", neg, x.challenge},
		{"negotiate: bad signature", neg, flip(x.negotiate, 7)},
		{"negotiate: offset overflow", neg, setField(x.negotiate, 16, 4, 0xffffffff)},
		{"negotiate: field in header", neg, setField(x.negotiate, 16, 4, 8)},
		{"challenge: short", chal, x.challenge[:47]},
		{"challenge: target info past end", chal, setField(x.challenge, 40, 0xffff, 56)},
		{"challenge: offset wraps", chal, setField(x.challenge, 40, 16, 0xfffffff8)},
		{"challenge: odd UTF-16 name", chal, oddName},
		{"challenge: target info without EOL", chal, setField(x.challenge, 40, 4, 56)},
		{"authenticate: short", auth, x.authenticate[:63]},
		{"authenticate: NT response past end", auth, setField(x.authenticate, 20, 0xffff, 88)},
		{"authenticate: user offset overflow", auth, setField(x.authenticate, 36, 2, 0xffffffff)},
		{"authenticate: field in header", auth, setField(x.authenticate, 36, 2, 10)},
		{"authenticate: odd UTF-16 user", auth, setField(x.authenticate, 36, 3, 88)},
		{"authenticate: oversize", auth, make([]byte, MaxTokenSize+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, tt.parse(tt.in), ErrMalformed)
		})
	}
}

func TestParseAuthenticateMICDetection(t *testing.T) {
	m := &AuthenticateMessage{NtChallengeResponse: randomBytes(60), User: "u", Flags: NegotiateUnicode | NegotiateVersion, Version: defaultVersion}
	got, err := ParseAuthenticate(m.Marshal())
	require.NoError(t, err)
	assert.Nil(t, got.MIC, "payload at 72 leaves no room for a MIC")
	assert.Zero(t, got.MICOffset)

	m.MIC = make([]byte, 16)
	got, err = ParseAuthenticate(m.Marshal())
	require.NoError(t, err)
	assert.Equal(t, micOffset, got.MICOffset)

	// Empty fields with bogus offsets do not hide the MIC.
	b := m.Marshal()
	binary.LittleEndian.PutUint32(b[28+4:], 5) // empty DomainName pointing into the header
	got, err = ParseAuthenticate(b)
	require.NoError(t, err)
	assert.Equal(t, micOffset, got.MICOffset)
}

func TestFileTime(t *testing.T) {
	assert.Equal(t, uint64(0), fileTime(timeFromFileTime(0)))
	assert.Equal(t, uint64(0), fileTime(timeFromFileTime(0).Add(-1)), "pre-1601 clamps")
	ft := fileTime(fixedNow())
	assert.True(t, timeFromFileTime(ft).Equal(fixedNow()))
	assert.Equal(t, uint64(116444736000000000), fileTime(timeFromFileTime(116444736000000000)))
}

func TestIsMessage(t *testing.T) {
	neg, err := (&NegotiateMessage{Flags: DefaultClientFlags}).marshal()
	require.NoError(t, err)
	assert.True(t, IsMessage(neg))
	assert.True(t, IsMessage([]byte("NTLMSSP\x00\x09\x00\x00\x00")), "any message type: it only dispatches")
	for _, b := range [][]byte{nil, []byte("NTLMSSP\x00"), []byte("NTLMSSP\x01\x01\x00\x00\x00"), {0x60, 0x48, 0x06, 0x06}, {0xa1, 0x07}} {
		assert.False(t, IsMessage(b), "%x", b)
	}
}
