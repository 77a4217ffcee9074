package spnego

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// tlv builds one DER element from a raw identifier octet and its content,
// so the malformed-input tests can assemble any structure, valid or not.
func tlv(id byte, parts ...[]byte) []byte {
	content := bytes.Join(parts, nil)
	out := []byte{id}
	switch n := len(content); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, content...)
}

// Building blocks for hand-assembled tokens.
var (
	derSPNEGO   = []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}
	derKerberos = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	derNTLM     = []byte{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}
	derMechs    = tlv(0x30, derNTLM)
	derToken    = tlv(0x04, []byte("tok"))
)

// initToken frames NegTokenInit fields as ParseNegTokenInit expects.
func initToken(fields ...[]byte) []byte {
	return tlv(0x60, derSPNEGO, tlv(0xa0, tlv(0x30, fields...)))
}

// respToken wraps NegTokenResp fields.
func respToken(fields ...[]byte) []byte {
	return tlv(0xa1, tlv(0x30, fields...))
}

// The hand-assembled tokens above must be right for the malformed cases
// built from them to mean anything.
func TestHandBuiltTokensAreValid(t *testing.T) {
	tok, err := ParseNegTokenInit(initToken(tlv(0xa0, derMechs), tlv(0xa2, derToken)))
	require.NoError(t, err)
	assert.Equal(t, &NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, MechToken: []byte("tok")}, tok)

	resp, err := ParseNegTokenResp(respToken(tlv(0xa0, []byte{0x0a, 0x01, 0x01}), tlv(0xa1, derNTLM), tlv(0xa2, derToken)))
	require.NoError(t, err)
	assert.Equal(t, &NegTokenResp{NegState: AcceptIncomplete, SupportedMech: OIDNTLMSSP, ResponseToken: []byte("tok")}, resp)
}

func TestNegTokenInitRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, 3000) // forces long-form lengths
	tests := []struct {
		name string
		tok  NegTokenInit
	}{
		{"ntlm only", NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}}},
		{"ntlm with token", NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, MechToken: []byte("NTLMSSP\x00\x01\x00\x00\x00")}},
		{"windows list", NegTokenInit{
			MechTypes: []asn1.ObjectIdentifier{OIDMSKerberos, OIDKerberos, OIDNTLMSSP},
			MechToken: big,
		}},
		{"all fields", NegTokenInit{
			MechTypes:   []asn1.ObjectIdentifier{OIDNTLMSSP, OIDKerberos},
			ReqFlags:    []byte{0x01, 0x42}, // mutualFlag | integFlag
			MechToken:   []byte{1, 2, 3},
			MechListMIC: []byte{4, 5, 6},
		}},
		{"present but empty", NegTokenInit{
			MechTypes:   []asn1.ObjectIdentifier{OIDNTLMSSP},
			ReqFlags:    []byte{0x00},
			MechToken:   []byte{},
			MechListMIC: []byte{},
		}},
		{"large arcs", NegTokenInit{MechTypes: []asn1.ObjectIdentifier{{2, 999, 1 << 30}, {1, 39, 0}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.tok.Marshal()
			require.NoError(t, err)
			require.True(t, IsNegTokenInit(b))
			require.False(t, IsNegTokenResp(b))
			got, err := ParseNegTokenInit(b)
			require.NoError(t, err)
			if d := cmp.Diff(&tc.tok, got); d != "" {
				t.Fatalf("round trip (-want +got):\n%s", d)
			}
			b2, err := got.Marshal()
			require.NoError(t, err)
			assert.Equal(t, b, b2)
		})
	}
}

func TestNegTokenRespRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		tok  NegTokenResp
	}{
		{"empty", NegTokenResp{NegState: NegStateAbsent}},
		{"accept-completed", NegTokenResp{NegState: AcceptCompleted}},
		{"accept-incomplete", NegTokenResp{NegState: AcceptIncomplete, SupportedMech: OIDNTLMSSP, ResponseToken: []byte("challenge")}},
		{"reject", NegTokenResp{NegState: Reject}},
		{"request-mic", NegTokenResp{NegState: RequestMIC, MechListMIC: []byte{1, 2, 3, 4}}},
		{"initiator reply", NegTokenResp{NegState: NegStateAbsent, ResponseToken: bytes.Repeat([]byte{7}, 300), MechListMIC: make([]byte, 16)}},
		{"all fields", NegTokenResp{NegState: AcceptCompleted, SupportedMech: OIDKerberos, ResponseToken: []byte{9}, MechListMIC: []byte{8}}},
		{"present but empty", NegTokenResp{NegState: NegStateAbsent, ResponseToken: []byte{}, MechListMIC: []byte{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.tok.Marshal()
			require.NoError(t, err)
			require.True(t, IsNegTokenResp(b))
			require.False(t, IsNegTokenInit(b))
			got, err := ParseNegTokenResp(b)
			require.NoError(t, err)
			if d := cmp.Diff(&tc.tok, got); d != "" {
				t.Fatalf("round trip (-want +got):\n%s", d)
			}
			b2, err := got.Marshal()
			require.NoError(t, err)
			assert.Equal(t, b, b2)
		})
	}
}

func TestMarshalEncoding(t *testing.T) {
	// Known encodings, checked byte by byte against RFC 4178's ASN.1.
	b, err := (&NegTokenResp{NegState: AcceptCompleted}).Marshal()
	require.NoError(t, err)
	assert.Equal(t, mustHex(t, "a1073005a0030a0100"), b)

	b, err = (&NegTokenResp{NegState: NegStateAbsent}).Marshal()
	require.NoError(t, err)
	assert.Equal(t, mustHex(t, "a1023000"), b)

	b, err = (&NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, ReqFlags: []byte{0x01, 0x42}, MechListMIC: []byte{0xee}}).Marshal()
	require.NoError(t, err)
	assert.Equal(t, mustHex(t, "602706062b0601050502 a01d 301b a00e300c060a2b06010401823702020a a1040302 0142 a3030401ee"), b)
}

func TestParseDoesNotAlias(t *testing.T) {
	b, err := (&NegTokenResp{NegState: NegStateAbsent, ResponseToken: []byte("abc")}).Marshal()
	require.NoError(t, err)
	tok, err := ParseNegTokenResp(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = 0
	}
	assert.Equal(t, []byte("abc"), tok.ResponseToken)
}

func TestMechTypeListDER(t *testing.T) {
	b, err := MechTypeListDER([]asn1.ObjectIdentifier{OIDMSKerberos, OIDKerberos, OIDNTLMSSP})
	require.NoError(t, err)
	assert.Equal(t, mustHex(t, "302206092a864882f71201020206092a864886f712010202060a2b06010401823702020a"), b)

	_, err = MechTypeListDER(nil)
	assert.Error(t, err)
	_, err = MechTypeListDER([]asn1.ObjectIdentifier{{1}})
	assert.Error(t, err)
}

func TestIsTokenKind(t *testing.T) {
	tests := []struct {
		in         []byte
		init, resp bool
	}{
		{nil, false, false},
		{[]byte{}, false, false},
		{[]byte{0x60}, true, false},
		{[]byte{0xa1, 0x00}, false, true},
		{[]byte{0xa0}, false, false},
		{[]byte("NTLMSSP\x00"), false, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.init, IsNegTokenInit(tc.in), "%x", tc.in)
		assert.Equal(t, tc.resp, IsNegTokenResp(tc.in), "%x", tc.in)
	}
}

func TestNegStateString(t *testing.T) {
	assert.Equal(t, "absent", NegStateAbsent.String())
	assert.Equal(t, "accept-completed", AcceptCompleted.String())
	assert.Equal(t, "accept-incomplete", AcceptIncomplete.String())
	assert.Equal(t, "reject", Reject.String())
	assert.Equal(t, "request-mic", RequestMIC.String())
	assert.Equal(t, "NegState(9)", NegState(9).String())
}

// sizedResp returns a NegTokenResp whose encoding is exactly n bytes.
func sizedResp(t *testing.T, n int) *NegTokenResp {
	t.Helper()
	for k := n; k > n-20; k-- {
		tok := &NegTokenResp{NegState: NegStateAbsent, ResponseToken: make([]byte, k)}
		if b, err := tok.Marshal(); err == nil && len(b) == n {
			return tok
		}
	}
	return nil
}

func TestSizeLimit(t *testing.T) {
	at := sizedResp(t, MaxTokenSize)
	require.NotNil(t, at)
	b, err := at.Marshal()
	require.NoError(t, err)
	_, err = ParseNegTokenResp(b)
	require.NoError(t, err, "a token of exactly MaxTokenSize is allowed")

	over := &NegTokenResp{NegState: NegStateAbsent, ResponseToken: make([]byte, len(at.ResponseToken)+1)}
	_, err = over.Marshal()
	require.Error(t, err)

	// Well-formed but one byte too long: only the size check rejects it.
	big := tlv(0xa1, tlv(0x30, tlv(0xa2, tlv(0x04, make([]byte, MaxTokenSize)))))
	_, err = ParseNegTokenResp(big)
	require.ErrorIs(t, err, ErrMalformed)
	assert.Contains(t, err.Error(), "exceeds")

	bigInit := initToken(tlv(0xa0, derMechs), tlv(0xa2, tlv(0x04, make([]byte, MaxTokenSize))))
	_, err = ParseNegTokenInit(bigInit)
	require.ErrorIs(t, err, ErrMalformed)
	assert.Contains(t, err.Error(), "exceeds")
	_, err = (&NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, MechToken: make([]byte, MaxTokenSize)}).Marshal()
	require.Error(t, err)
}

func TestMarshalRejectsWhatParseWould(t *testing.T) {
	ntlm := []asn1.ObjectIdentifier{OIDNTLMSSP}
	inits := map[string]NegTokenInit{
		"nil mechTypes":        {},
		"empty mechTypes":      {MechTypes: []asn1.ObjectIdentifier{}},
		"invalid OID":          {MechTypes: []asn1.ObjectIdentifier{{3, 1}}},
		"empty reqFlags":       {MechTypes: ntlm, ReqFlags: []byte{}},
		"reqFlags padding > 7": {MechTypes: ntlm, ReqFlags: []byte{0x08, 0x00}},
		"reqFlags pad bit set": {MechTypes: ntlm, ReqFlags: []byte{0x01, 0x01}},
	}
	for name, tok := range inits {
		_, err := tok.Marshal()
		assert.Error(t, err, name)
	}
	resps := map[string]NegTokenResp{
		"negState 4":      {NegState: 4},
		"negState -2":     {NegState: -2},
		"zero value mech": {NegState: NegStateAbsent, SupportedMech: asn1.ObjectIdentifier{}},
		"invalid mech":    {NegState: NegStateAbsent, SupportedMech: asn1.ObjectIdentifier{1, 40}},
	}
	for name, tok := range resps {
		_, err := tok.Marshal()
		assert.Error(t, err, name)
	}
}

func TestParseNegTokenInitMalformed(t *testing.T) {
	mechs := tlv(0xa0, derMechs)
	tests := map[string][]byte{
		"nil":                        nil,
		"empty":                      {},
		"only tag":                   {0x60},
		"wrong application tag":      tlv(0x61, derSPNEGO, tlv(0xa0, tlv(0x30, mechs))),
		"primitive framing":          tlv(0x40, derSPNEGO, tlv(0xa0, tlv(0x30, mechs))),
		"bare NegotiationToken":      tlv(0xa0, tlv(0x30, mechs)),
		"Kerberos framing OID":       tlv(0x60, derKerberos, tlv(0xa0, tlv(0x30, mechs))),
		"framing OID not an OID":     tlv(0x60, tlv(0x04, derSPNEGO[2:]), tlv(0xa0, tlv(0x30, mechs))),
		"framing without token":      tlv(0x60, derSPNEGO),
		"empty framing":              tlv(0x60),
		"negTokenResp in framing":    tlv(0x60, derSPNEGO, tlv(0xa1, tlv(0x30, mechs))),
		"two tokens in framing":      tlv(0x60, derSPNEGO, tlv(0xa0, tlv(0x30, mechs)), tlv(0xa0, tlv(0x30, mechs))),
		"trailing bytes in framing":  tlv(0x60, derSPNEGO, tlv(0xa0, tlv(0x30, mechs)), []byte{0, 0}),
		"trailing bytes in choice":   tlv(0x60, derSPNEGO, tlv(0xa0, tlv(0x30, mechs), []byte{0x05, 0x00})),
		"SET instead of SEQUENCE":    tlv(0x60, derSPNEGO, tlv(0xa0, tlv(0x31, mechs))),
		"trailing bytes after token": append(initToken(mechs), 0),
		"indefinite length":          append(append([]byte{0x60, 0x80}, initToken(mechs)[2:]...), 0, 0),
		"non-minimal length":         append([]byte{0x60, 0x81, initToken(mechs)[1]}, initToken(mechs)[2:]...),
		"length past end":            append([]byte{0x60, 0x7f}, initToken(mechs)[2:]...),
		"missing mechTypes":          initToken(tlv(0xa2, derToken)),
		"empty NegTokenInit":         initToken(),
		"empty mechTypes":            initToken(tlv(0xa0, tlv(0x30))),
		"mechTypes not a SEQUENCE":   initToken(tlv(0xa0, derNTLM)),
		"mechTypes holds non-OID":    initToken(tlv(0xa0, tlv(0x30, derToken))),
		"mechTypes OID not DER":      initToken(tlv(0xa0, tlv(0x30, []byte{0x06, 0x03, 0x2b, 0x80, 0x01}))),
		"empty OID in mechTypes":     initToken(tlv(0xa0, tlv(0x30, []byte{0x06, 0x00}))),
		"mechTypes trailing":         initToken(tlv(0xa0, derMechs, []byte{0x05, 0x00})),
		"empty field":                initToken(mechs, tlv(0xa2)),
		"fields out of order":        initToken(tlv(0xa2, derToken), mechs),
		"repeated field":             initToken(mechs, mechs),
		"unknown field [5]":          initToken(mechs, tlv(0xa5, derToken)),
		"universal element as field": initToken(mechs, derToken),
		"primitive context tag":      initToken(mechs, tlv(0x82, []byte("tok"))),
		"mechToken not OCTET STRING": initToken(mechs, tlv(0xa2, tlv(0x03, []byte{0, 1}))),
		"constructed OCTET STRING":   initToken(mechs, tlv(0xa2, tlv(0x24, derToken))),
		"reqFlags not BIT STRING":    initToken(mechs, tlv(0xa1, derToken)),
		"reqFlags empty BIT STRING":  initToken(mechs, tlv(0xa1, tlv(0x03))),
		"reqFlags padding 8":         initToken(mechs, tlv(0xa1, tlv(0x03, []byte{0x08, 0x00}))),
		"reqFlags padding not zero":  initToken(mechs, tlv(0xa1, tlv(0x03, []byte{0x01, 0x43}))),
		"field [3] is INTEGER":       initToken(mechs, tlv(0xa3, []byte{0x02, 0x01, 0x00})),
		"MIC at [3] and [4]":         initToken(mechs, tlv(0xa3, derToken), tlv(0xa4, derToken)),
		"MIC [4] not OCTET STRING":   initToken(mechs, tlv(0xa3, tlv(0x30)), tlv(0xa4, derNTLM)),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			tok, err := ParseNegTokenInit(in)
			require.ErrorIs(t, err, ErrMalformed)
			assert.Nil(t, tok)
		})
	}
}

func TestParseNegTokenInitAcceptsInit2Layouts(t *testing.T) {
	mechs := tlv(0xa0, derMechs)
	hints := tlv(0xa3, tlv(0x30, tlv(0xa0, tlv(0x1b, []byte("not_defined_in_RFC4178@please_ignore")))))
	tests := map[string]struct {
		in   []byte
		want NegTokenInit
	}{
		"hints only":      {initToken(mechs, hints), NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}}},
		"hints and MIC":   {initToken(mechs, tlv(0xa2, derToken), hints, tlv(0xa4, tlv(0x04, []byte{1}))), NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, MechToken: []byte("tok"), MechListMIC: []byte{1}}},
		"MIC at [4] only": {initToken(mechs, tlv(0xa4, tlv(0x04, []byte{1}))), NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, MechListMIC: []byte{1}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tok, err := ParseNegTokenInit(tc.in)
			require.NoError(t, err)
			assert.Equal(t, &tc.want, tok)
		})
	}
}

func TestParseNegTokenRespMalformed(t *testing.T) {
	state := tlv(0xa0, []byte{0x0a, 0x01, 0x01})
	tests := map[string][]byte{
		"nil":                        nil,
		"empty":                      {},
		"only tag":                   {0xa1},
		"negTokenInit choice":        tlv(0xa0, tlv(0x30, state)),
		"primitive choice":           tlv(0x81, tlv(0x30, state)),
		"framed NegTokenInit":        initToken(tlv(0xa0, derMechs)),
		"empty choice":               tlv(0xa1),
		"SET instead of SEQUENCE":    tlv(0xa1, tlv(0x31, state)),
		"trailing bytes in choice":   tlv(0xa1, tlv(0x30, state), []byte{0x05, 0x00}),
		"trailing bytes after token": append(respToken(state), 0),
		"indefinite length":          {0xa1, 0x80, 0x30, 0x00, 0x00, 0x00},
		"non-minimal length":         {0xa1, 0x81, 0x02, 0x30, 0x00},
		"length past end":            {0xa1, 0x05, 0x30, 0x00},
		"negState 4":                 respToken(tlv(0xa0, []byte{0x0a, 0x01, 0x04})),
		"negState -1":                respToken(tlv(0xa0, []byte{0x0a, 0x01, 0xff})),
		"negState huge":              respToken(tlv(0xa0, []byte{0x0a, 0x04, 0x01, 0x00, 0x00, 0x01})),
		"negState non-minimal":       respToken(tlv(0xa0, []byte{0x0a, 0x02, 0x00, 0x01})),
		"negState empty":             respToken(tlv(0xa0, []byte{0x0a, 0x00})),
		"negState is INTEGER":        respToken(tlv(0xa0, []byte{0x02, 0x01, 0x01})),
		"negState trailing":          respToken(tlv(0xa0, []byte{0x0a, 0x01, 0x01, 0x05, 0x00})),
		"supportedMech not OID":      respToken(state, tlv(0xa1, derToken)),
		"supportedMech empty OID":    respToken(state, tlv(0xa1, []byte{0x06, 0x00})),
		"supportedMech not DER":      respToken(state, tlv(0xa1, []byte{0x06, 0x03, 0x2b, 0x80, 0x01})),
		"responseToken not OCTETS":   respToken(state, tlv(0xa2, derNTLM)),
		"mechListMIC not OCTETS":     respToken(state, tlv(0xa3, tlv(0x30))),
		"unknown field [4]":          respToken(state, tlv(0xa4, derToken)),
		"fields out of order":        respToken(tlv(0xa2, derToken), state),
		"repeated field":             respToken(state, state),
		"empty field":                respToken(state, tlv(0xa2)),
		"universal element as field": respToken(state, derToken),
		"primitive context tag":      respToken(state, tlv(0x82, []byte("tok"))),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			tok, err := ParseNegTokenResp(in)
			require.ErrorIs(t, err, ErrMalformed)
			assert.Nil(t, tok)
		})
	}
}

// validTokens returns every valid token the tests know, by kind.
func validTokens(t testing.TB) (inits, resps [][]byte) {
	for _, h := range []string{responder3InitNTLM, responder3Init2, pikeInit2} {
		inits = append(inits, mustHex(t, h))
	}
	for _, h := range []string{responder3RespChallenge, responder3RespAuth, responder3RespDone, responder3RespKerberos} {
		resps = append(resps, mustHex(t, h))
	}
	b, err := (&NegTokenInit{
		MechTypes: []asn1.ObjectIdentifier{OIDKerberos, OIDNTLMSSP}, ReqFlags: []byte{0x01, 0x42},
		MechToken: []byte{1}, MechListMIC: []byte{2},
	}).Marshal()
	require.NoError(t, err)
	inits = append(inits, b)
	b, err = (&NegTokenResp{NegState: RequestMIC, SupportedMech: OIDNTLMSSP, ResponseToken: []byte{1}, MechListMIC: []byte{2}}).Marshal()
	require.NoError(t, err)
	resps = append(resps, b)
	return inits, resps
}

func TestTruncatedAndExtendedTokens(t *testing.T) {
	inits, resps := validTokens(t)
	check := func(t *testing.T, parse func([]byte) error, tok []byte) {
		require.NoError(t, parse(tok))
		for n := 0; n < len(tok); n++ {
			err := parse(tok[:n:n])
			require.ErrorIs(t, err, ErrMalformed, "truncated to %d of %d bytes", n, len(tok))
		}
		for _, extra := range [][]byte{{0}, {0x05, 0x00}, tok} {
			err := parse(append(tok[:len(tok):len(tok)], extra...))
			require.ErrorIs(t, err, ErrMalformed, "with %d trailing bytes", len(extra))
		}
	}
	parseInit := func(b []byte) error { _, err := ParseNegTokenInit(b); return err }
	parseResp := func(b []byte) error { _, err := ParseNegTokenResp(b); return err }
	for i, tok := range inits {
		check(t, parseInit, tok)
		require.ErrorIs(t, parseResp(tok), ErrMalformed, "init %d as resp", i)
	}
	for i, tok := range resps {
		check(t, parseResp, tok)
		require.ErrorIs(t, parseInit(tok), ErrMalformed, "resp %d as init", i)
	}
}

func TestErrorsWrapOnlyErrMalformed(t *testing.T) {
	_, err := ParseNegTokenResp([]byte{0xa1, 0x03, 0x30, 0x01})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrMalformed))
	assert.True(t, strings.HasPrefix(err.Error(), "spnego: malformed token: "), err.Error())
}
