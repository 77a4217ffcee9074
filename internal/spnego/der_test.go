package spnego

import (
	"encoding/asn1"
	"fmt"
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// marshalRespASN1 is NegTokenResp.Marshal as it was written on
// encoding/asn1, kept as the reference the hand-written encoder must
// match byte for byte.
func marshalRespASN1(t *NegTokenResp) ([]byte, error) {
	var body []byte
	var err error
	if t.NegState != NegStateAbsent {
		if body, err = appendField(body, 0, asn1.Enumerated(t.NegState)); err != nil {
			return nil, err
		}
	}
	if t.SupportedMech != nil {
		if body, err = appendField(body, 1, t.SupportedMech); err != nil {
			return nil, err
		}
	}
	if t.ResponseToken != nil {
		if body, err = appendField(body, 2, t.ResponseToken); err != nil {
			return nil, err
		}
	}
	if t.MechListMIC != nil {
		if body, err = appendField(body, 3, t.MechListMIC); err != nil {
			return nil, err
		}
	}
	seq, err := sequence(body)
	if err != nil {
		return nil, err
	}
	out, err := explicit(tagNegTokenResp, seq)
	if err != nil {
		return nil, err
	}
	return checkOutput(out, "NegTokenResp")
}

func randomOID(r *rand.Rand) asn1.ObjectIdentifier {
	oid := asn1.ObjectIdentifier{r.Intn(3), 0}
	if oid[0] < 2 {
		oid[1] = r.Intn(40)
	} else {
		oid[1] = r.Intn(1 << uint(r.Intn(40)))
	}
	for n := r.Intn(8); n > 0; n-- {
		oid = append(oid, r.Intn(1<<uint(r.Intn(62))))
	}
	return oid
}

func randomOctets(r *rand.Rand) []byte {
	switch r.Intn(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	// Lengths around the one-, two- and three-byte length forms.
	sizes := []int{1, 127, 128, 255, 256, 1000, 65535 - 64, 70000}
	b := make([]byte, sizes[r.Intn(len(sizes))])
	r.Read(b)
	return b
}

// The hand-written encoder makes the bytes encoding/asn1 makes, for every
// field combination, OID and length form, and refuses what it refuses; and
// whatever it makes parses back to the same token (within what the
// parser takes).
func TestNegTokenRespMarshalMatchesASN1(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := []*NegTokenResp{
		{NegState: NegStateAbsent},
		{NegState: AcceptIncomplete, SupportedMech: OIDNTLMSSP},
		{NegState: AcceptCompleted, MechListMIC: []byte{}},
		{NegState: RequestMIC, SupportedMech: asn1.ObjectIdentifier{2, 999, 1 << 40}},
		{NegState: Reject, SupportedMech: asn1.ObjectIdentifier{1}},     // too short
		{NegState: Reject, SupportedMech: asn1.ObjectIdentifier{3, 1}},  // first arc
		{NegState: Reject, SupportedMech: asn1.ObjectIdentifier{1, 40}}, // second arc
		{NegState: Reject, ResponseToken: make([]byte, MaxTokenSize)},   // too large
	}
	for i := 0; i < 500; i++ {
		tok := &NegTokenResp{NegState: NegState(r.Intn(5) - 1)}
		if r.Intn(2) == 0 {
			tok.SupportedMech = randomOID(r)
		}
		tok.ResponseToken = randomOctets(r)
		tok.MechListMIC = randomOctets(r)
		cases = append(cases, tok)
	}
	for i, tok := range cases {
		want, wantErr := marshalRespASN1(tok)
		got, err := tok.Marshal()
		if wantErr != nil {
			assert.Error(t, err, "case %d: encoding/asn1 refused it: %v", i, wantErr)
			continue
		}
		require.NoError(t, err, "case %d", i)
		require.Equal(t, want, got, "case %d", i)
		back, err := ParseNegTokenResp(got)
		if err != nil {
			// encoding/asn1 parses arcs up to 31 bits only; larger ones
			// are held to the same bytes above and no further.
			require.ErrorContains(t, err, "base 128 integer too large", "case %d", i)
			continue
		}
		if d := cmp.Diff(tok, back); d != "" {
			t.Fatalf("case %d does not round-trip:\n%s", i, d)
		}
	}
}

func TestMarshalRefusesNegativeArcs(t *testing.T) {
	_, err := (&NegTokenResp{NegState: AcceptIncomplete, SupportedMech: asn1.ObjectIdentifier{1, 2, -3}}).Marshal()
	assert.Error(t, err)
}

func BenchmarkMarshalNegTokenResp(b *testing.B) {
	tok := &NegTokenResp{NegState: AcceptIncomplete, SupportedMech: OIDNTLMSSP, ResponseToken: make([]byte, 200), MechListMIC: make([]byte, 16)}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = tok.Marshal()
		}
	})
	b.Run("asn1", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = marshalRespASN1(tok)
		}
	})
}

// MechTypeListDER makes the bytes encoding/asn1 makes for a SEQUENCE OF
// OID, and refuses what it refuses.
func TestMechTypeListDERMatchesASN1(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	lists := [][]asn1.ObjectIdentifier{
		{OIDNTLMSSP},
		{{1, 2, 840, 48018, 1, 2, 2}, {1, 2, 840, 113554, 1, 2, 2}, OIDNTLMSSP},
		{{1, 40}},
	}
	for i := 0; i < 300; i++ {
		l := make([]asn1.ObjectIdentifier, 1+r.Intn(40))
		for j := range l {
			l[j] = randomOID(r)
		}
		lists = append(lists, l)
	}
	for i, l := range lists {
		want, wantErr := asn1.Marshal(l)
		got, err := MechTypeListDER(l)
		if wantErr != nil {
			assert.Error(t, err, "list %d", i)
			continue
		}
		require.NoError(t, err, "list %d", i)
		require.Equal(t, want, got, "list %d", i)
	}
}

// marshalInitASN1 is NegTokenInit.Marshal as it was written on
// encoding/asn1, the reference for the hand-written encoder.
func marshalInitASN1(t *NegTokenInit) ([]byte, error) {
	mechs, err := asn1.Marshal(t.MechTypes)
	if err != nil || len(t.MechTypes) == 0 {
		return nil, fmt.Errorf("mechanism list: %v", err)
	}
	body, err := explicit(0, mechs)
	if err != nil {
		return nil, err
	}
	if t.ReqFlags != nil {
		bits, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBitString, Bytes: t.ReqFlags})
		if err != nil {
			return nil, err
		}
		var check asn1.BitString
		if _, err := asn1.Unmarshal(bits, &check); err != nil {
			return nil, err
		}
		f, err := explicit(1, bits)
		if err != nil {
			return nil, err
		}
		body = append(body, f...)
	}
	if t.MechToken != nil {
		if body, err = appendField(body, 2, t.MechToken); err != nil {
			return nil, err
		}
	}
	if t.MechListMIC != nil {
		if body, err = appendField(body, 3, t.MechListMIC); err != nil {
			return nil, err
		}
	}
	seq, err := sequence(body)
	if err != nil {
		return nil, err
	}
	choice, err := explicit(tagNegTokenInit, seq)
	if err != nil {
		return nil, err
	}
	oid, err := asn1.Marshal(OIDSPNEGO)
	if err != nil {
		return nil, err
	}
	out, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: 0, IsCompound: true, Bytes: append(oid, choice...)})
	if err != nil {
		return nil, err
	}
	return checkOutput(out, "NegTokenInit")
}

// The hand-written NegTokenInit encoder makes the bytes encoding/asn1
// makes and refuses what it refuses; what it makes parses back.
func TestNegTokenInitMarshalMatchesASN1(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	cases := []*NegTokenInit{
		{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}},
		{MechTypes: []asn1.ObjectIdentifier{OIDMSKerberos, OIDKerberos, OIDNTLMSSP}, MechToken: []byte("tok")},
		{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, ReqFlags: []byte{0x01, 0x42}, MechListMIC: []byte{}},
		{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, ReqFlags: []byte{0x01, 0x43}}, // padding bit set
		{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, ReqFlags: []byte{}},           // empty BIT STRING
		{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, ReqFlags: []byte{0x08, 0x00}}, // unused-bits count
		{MechTypes: nil},
		{MechTypes: []asn1.ObjectIdentifier{{1, 40}}},
		{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, MechToken: make([]byte, MaxTokenSize)},
	}
	for i := 0; i < 500; i++ {
		tok := &NegTokenInit{}
		for n := 1 + r.Intn(4); n > 0; n-- {
			tok.MechTypes = append(tok.MechTypes, randomOID(r))
		}
		if r.Intn(3) == 0 {
			tok.ReqFlags = []byte{byte(r.Intn(3)), byte(r.Intn(256))}
		}
		tok.MechToken = randomOctets(r)
		tok.MechListMIC = randomOctets(r)
		cases = append(cases, tok)
	}
	for i, tok := range cases {
		want, wantErr := marshalInitASN1(tok)
		got, err := tok.Marshal()
		if wantErr != nil {
			assert.Error(t, err, "case %d: encoding/asn1 refused it: %v", i, wantErr)
			continue
		}
		require.NoError(t, err, "case %d", i)
		require.Equal(t, want, got, "case %d", i)
		back, err := ParseNegTokenInit(got)
		if err != nil {
			require.ErrorContains(t, err, "base 128 integer too large", "case %d", i)
			continue
		}
		if d := cmp.Diff(tok, back); d != "" {
			t.Fatalf("case %d does not round-trip:\n%s", i, d)
		}
	}
}

// The precomputed content octets of the known OIDs are encoding/asn1's,
// and parsing them gives the OID back, through the table or arc by arc.
func TestKnownOIDs(t *testing.T) {
	for _, k := range knownOIDs {
		full, err := asn1.Marshal(k.oid)
		require.NoError(t, err)
		var rv asn1.RawValue
		_, err = asn1.Unmarshal(full, &rv)
		require.NoError(t, err)
		assert.Equal(t, rv.Bytes, k.content, "%v", k.oid)
		e, rest, err := readTLV(full)
		require.NoError(t, err)
		require.Empty(t, rest)
		got, err := decodeOID(e, "oid")
		require.NoError(t, err)
		assert.True(t, got.Equal(k.oid), "%v", got)
		arcs, err := parseOID(nil, k.content)
		require.NoError(t, err)
		assert.True(t, arcs.Equal(k.oid), "%v", arcs)
		assert.Nil(t, knownOIDOf(k.content[:len(k.content)-1]), "a prefix is not the OID")
	}
}
