package msg

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ignoreRaw leaves out what the parser records about the input.
var ignoreRaw = cmpopts.IgnoreFields(KDCReq{}, "RawBody")

func TestRoundTrips(t *testing.T) {
	check := func(name string, want any, b []byte, err error, parse func([]byte) (any, error)) {
		t.Helper()
		require.NoError(t, err, name)
		got, err := parse(b)
		require.NoError(t, err, name)
		assert.Empty(t, cmp.Diff(want, got, ignoreRaw, cmpopts.EquateEmpty()), name)
	}
	tkt := sampleTicket()
	b, err := tkt.Marshal()
	check("Ticket", &tkt, b, err, func(b []byte) (any, error) { return ParseTicket(b) })
	etp := sampleEncTicketPart()
	b, err = etp.Marshal()
	check("EncTicketPart", etp, b, err, func(b []byte) (any, error) { return ParseEncTicketPart(b) })
	for _, r := range []*KDCReq{sampleASReq(), sampleTGSReq()} {
		b, err = r.Marshal()
		check("KDCReq", r, b, err, func(b []byte) (any, error) { return ParseKDCReq(b) })
	}
	rep := sampleKDCRep()
	b, err = rep.Marshal()
	check("AS-REP", rep, b, err, func(b []byte) (any, error) { return ParseKDCRep(b) })
	rep.MsgType = MsgTGSRep
	rep.PAData = nil
	b, err = rep.Marshal()
	check("TGS-REP", rep, b, err, func(b []byte) (any, error) { return ParseKDCRep(b) })
	ekrp := sampleEncKDCRepPart()
	b, err = ekrp.MarshalAS()
	check("EncASRepPart", ekrp, b, err, func(b []byte) (any, error) { return ParseEncKDCRepPart(b) })
	b, err = ekrp.MarshalTGS()
	check("EncTGSRepPart", ekrp, b, err, func(b []byte) (any, error) { return ParseEncKDCRepPart(b) })
	apreq := sampleAPReq()
	b, err = apreq.Marshal()
	check("AP-REQ", apreq, b, err, func(b []byte) (any, error) { return ParseAPReq(b) })
	auth := sampleAuthenticator()
	b, err = auth.Marshal()
	check("Authenticator", auth, b, err, func(b []byte) (any, error) { return ParseAuthenticator(b) })
	aprep := &APRep{EncPart: EncryptedData{EType: 17, KVNO: 0xffffffff, Cipher: []byte{9}}}
	b, err = aprep.Marshal()
	check("AP-REP", aprep, b, err, func(b []byte) (any, error) { return ParseAPRep(b) })
	earp := sampleEncAPRepPart()
	b, err = earp.Marshal()
	check("EncAPRepPart", earp, b, err, func(b []byte) (any, error) { return ParseEncAPRepPart(b) })
	kerr := sampleKRBError()
	b, err = kerr.Marshal()
	check("KRB-ERROR", kerr, b, err, func(b []byte) (any, error) { return ParseKRBError(b) })
	minimal := &KRBError{STime: t0, ErrorCode: KRBAPErrSkew, Realm: realm, SName: http}
	b, err = minimal.Marshal()
	check("KRB-ERROR minimal", minimal, b, err, func(b []byte) (any, error) { return ParseKRBError(b) })
	ts := &PAEncTSEnc{Timestamp: t0, Usec: i32(1)}
	b, err = ts.Marshal()
	check("PA-ENC-TS-ENC", ts, b, err, func(b []byte) (any, error) { return ParsePAEncTSEnc(b) })
	info := sampleETypeInfo2()
	b, err = info.Marshal()
	check("ETYPE-INFO2", info, b, err, func(b []byte) (any, error) { return ParseETypeInfo2(b) })
	pac := &PACRequest{IncludePAC: true}
	b, err = pac.Marshal()
	check("PA-PAC-REQUEST", pac, b, err, func(b []byte) (any, error) { return ParsePACRequest(b) })
	ad := AuthorizationData{{ADType: ADWin2kPAC, ADData: []byte("pac")}, {ADType: 141, ADData: nil}}
	b, err = ad.Marshal()
	check("AuthorizationData", ad, b, err, func(b []byte) (any, error) { return ParseAuthorizationData(b) })
	ed := &EncryptedData{EType: 18, KVNO: 7, Cipher: []byte("ts")}
	b, err = ed.Marshal()
	check("EncryptedData", ed, b, err, func(b []byte) (any, error) { return ParseEncryptedData(b) })
	md := MethodData{{Type: PAETypeInfo2, Value: []byte{1}}, {Type: PAEncTimestamp}}
	b, err = md.Marshal()
	check("METHOD-DATA", md, b, err, func(b []byte) (any, error) { return ParseMethodData(b) })
}

// TestDER checks encodings byte for byte against what RFC 4120's ASN.1
// and the DER rules make of them.
func TestDER(t *testing.T) {
	var b []byte
	der := func(m interface{ Marshal() ([]byte, error) }) string {
		var err error
		b, err = m.Marshal()
		require.NoError(t, err)
		return hex.EncodeToString(b)
	}
	// PA-ENC-TS-ENC { patimestamp [0] "20250314150926Z" }
	assert.Equal(t, "3013a011180f32303235303331343135303932365a", der(&PAEncTSEnc{Timestamp: t0.In(time.FixedZone("x", 3600))}))
	// KERB-PA-PAC-REQUEST { include-pac [0] TRUE }
	assert.Equal(t, "3005a0030101ff", der(&PACRequest{IncludePAC: true}))
	// AuthorizationData with one AD-WIN2K-PAC element of one byte: ad-type
	// 128 needs a leading zero byte to stay positive.
	assert.Equal(t, "300d300ba004020200"+"80a103040101", der(AuthorizationData{{ADType: ADWin2kPAC, ADData: []byte{1}}}))
	// Ticket flags: forwardable and renewable are bits 1 and 8 of a
	// 32-bit BIT STRING: 40 80 00 00.
	etp := EncTicketPart{Flags: TktForwardable | TktRenewable, CName: alice, Key: EncryptionKey{KeyType: 17}}
	assert.Contains(t, der(&etp), "a0070305004080"+"0000")
	// The AP-REQ starts [APPLICATION 14]; the name alice is
	// PrincipalName { [0] 1, [1] { "alice" as GeneralString } }.
	s := der(sampleAPReq())
	assert.Equal(t, "6e", s[:2])
	b, _ = sampleEncKDCRepPart().MarshalTGS()
	assert.Equal(t, byte(0x7a), b[0], "EncTGSRepPart is [APPLICATION 26]")
	b, _ = sampleEncKDCRepPart().MarshalAS()
	assert.Equal(t, byte(0x79), b[0], "EncASRepPart is [APPLICATION 25]")
	a, err := (&Authenticator{CRealm: "R", CName: alice, CTime: t0}).Marshal()
	require.NoError(t, err)
	assert.Contains(t, hex.EncodeToString(a), "3010a003020101a1093007"+"1b05616c696365")
}

func TestNegativeUInt32FromWindows(t *testing.T) {
	// A seq-number of 0xfffffffe written as Windows writes it, the
	// INTEGER -2.
	e := sampleEncAPRepPart()
	b, err := e.Marshal()
	require.NoError(t, err)
	h := hex.EncodeToString(b)
	pos := "a3030201" + "00" // seq-number [3] INTEGER 0
	require.Contains(t, h, pos)
	neg, err := hex.DecodeString(replaceLast(h, pos, "a3030201fe"))
	require.NoError(t, err)
	got, err := ParseEncAPRepPart(neg)
	require.NoError(t, err)
	assert.Equal(t, uint32(0xfffffffe), *got.SeqNumber)
}

func replaceLast(s, old, new string) string {
	i := len(s) - len(old)
	for ; i >= 0; i-- {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

func TestParseRefusals(t *testing.T) {
	good, err := sampleAPReq().Marshal()
	require.NoError(t, err)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte(nil), good...), 0),
		"wrong tag": append([]byte{0x6f}, good[1:]...),
	} {
		_, err := ParseAPReq(b)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
	// Every other message refuses an AP-REQ.
	for name, parse := range map[string]func([]byte) error{
		"Ticket":        func(b []byte) error { _, err := ParseTicket(b); return err },
		"EncTicketPart": func(b []byte) error { _, err := ParseEncTicketPart(b); return err },
		"KDCReq":        func(b []byte) error { _, err := ParseKDCReq(b); return err },
		"KDCRep":        func(b []byte) error { _, err := ParseKDCRep(b); return err },
		"EncKDCRepPart": func(b []byte) error { _, err := ParseEncKDCRepPart(b); return err },
		"Authenticator": func(b []byte) error { _, err := ParseAuthenticator(b); return err },
		"APRep":         func(b []byte) error { _, err := ParseAPRep(b); return err },
		"EncAPRepPart":  func(b []byte) error { _, err := ParseEncAPRepPart(b); return err },
		"KRBError":      func(b []byte) error { _, err := ParseKRBError(b); return err },
		"PAEncTSEnc":    func(b []byte) error { _, err := ParsePAEncTSEnc(b); return err },
		"ETypeInfo2":    func(b []byte) error { _, err := ParseETypeInfo2(b); return err },
		"PACRequest":    func(b []byte) error { _, err := ParsePACRequest(b); return err },
		"AuthData":      func(b []byte) error { _, err := ParseAuthorizationData(b); return err },
		"MethodData":    func(b []byte) error { _, err := ParseMethodData(b); return err },
		"EncryptedData": func(b []byte) error { _, err := ParseEncryptedData(b); return err },
	} {
		assert.ErrorIs(t, parse(good), ErrMalformed, name)
		assert.ErrorIs(t, parse(nil), ErrMalformed, name)
	}
	_, err = ParseETypeInfo2([]byte{0x30, 0x00})
	assert.ErrorIs(t, err, ErrMalformed, "ETYPE-INFO2 needs an entry")
}

func TestFieldsStrictness(t *testing.T) {
	ts := func(h string) error {
		b, err := hex.DecodeString(h)
		require.NoError(t, err)
		_, err = ParsePAEncTSEnc(b)
		return err
	}
	assert.NoError(t, ts("3013a011180f32303235303331343135303932365a"))
	assert.Error(t, ts("3015a013181132303235303331343135303932362e315a"), "fractional seconds")
	assert.Error(t, ts("3013a011180f32303235303331343135303932362b"), "no Z")
	assert.Error(t, ts("3013a011180f32303235313331343135303932365a"), "month 13")
	assert.Error(t, ts("3013a111180f32303235303331343135303932365a"), "wrong tag")
	assert.NoError(t, ts("3018a011180f32303235303331343135303932365aa503020101"), "an unknown later field is an extension")
	assert.Error(t, ts("3018a011180f32303235303331343135303932365a0403020101"), "a universal element is not")
	assert.Error(t, ts("3018a011180f32303235303331343135303932365aa103020101a103020101"), "nor a repeated field")
	assert.Error(t, ts("3018a011180f32303235303331343135303932365aa10302010a"+"00"), "trailing inside")
	assert.Error(t, ts("3019a011180f32303235303331343135303932365aa10402020001"), "non-minimal integer")
	assert.Error(t, ts("3016a011180f32303235303331343135303932365aa1030201ff"), "negative microseconds")
}

func TestFlagsDecoding(t *testing.T) {
	f := &fields{}
	for h, want := range map[string]uint32{
		"03050040800000":   0x40800000,
		"030200" + "00":    0,
		"0302074080"[:8]:   0x00000000, // 8 bits, 7 unused: bit 0 only
		"03030040ff":       0x40ff0000,
		"0306004080000001": 0x40800000, // bits beyond 32 are ignored
		"030201":           0,          // error, below
	} {
		b, _ := hex.DecodeString(h)
		got := f.flags(b, "flags")
		if h == "030201" {
			assert.Error(t, f.err)
			f.err = nil
			continue
		}
		require.NoError(t, f.err, h)
		assert.Equal(t, want, got, h)
	}
	b, _ := hex.DecodeString("030207c0")
	assert.Equal(t, uint32(0x80000000), f.flags(b, "flags"), "unused bits are cleared")
}

func TestErrorCodes(t *testing.T) {
	assert.Equal(t, "KDC_ERR_PREAUTH_FAILED", KDCErrPreauthFailed.Error())
	assert.Equal(t, "KRB_ERR(99)", ErrorCode(99).String())
	e := sampleKRBError()
	var err error = e
	assert.ErrorIs(t, err, KDCErrPreauthRequired)
	assert.NotErrorIs(t, err, KDCErrPreauthFailed)
	assert.Equal(t, "kerberos: KDC_ERR_PREAUTH_REQUIRED: pre-authentication required", err.Error())
	e.EText = ""
	assert.Equal(t, "kerberos: KDC_ERR_PREAUTH_REQUIRED", err.Error())
	wrapped := errors.Join(errors.New("x"), KRBAPErrSkew)
	var code ErrorCode
	require.True(t, errors.As(wrapped, &code))
	assert.Equal(t, KRBAPErrSkew, code)
}

func TestPrincipalName(t *testing.T) {
	p := ParsePrincipal(NTSrvHst, "HTTP/web01.contoso.test")
	assert.Equal(t, []string{"HTTP", "web01.contoso.test"}, p.NameString)
	assert.Equal(t, "HTTP/web01.contoso.test", p.String())
	assert.True(t, p.Equal(NewPrincipal(NTPrincipal, "HTTP", "web01.contoso.test")), "the type does not count")
	assert.False(t, p.Equal(NewPrincipal(NTSrvHst, "http", "web01.contoso.test")))
	assert.True(t, p.EqualFold(NewPrincipal(NTSrvHst, "http", "WEB01.contoso.test")))
	assert.False(t, p.EqualFold(NewPrincipal(NTSrvHst, "http")))
	assert.False(t, p.Equal(NewPrincipal(NTSrvHst, "http")))
	v, ok := FindPAData([]PAData{{Type: 3, Value: []byte{1}}, {Type: 19, Value: []byte{2}}}, 19)
	assert.True(t, ok)
	assert.Equal(t, []byte{2}, v)
	_, ok = FindPAData(nil, 19)
	assert.False(t, ok)
	mt, err := MessageType([]byte{0x6a, 0x00})
	require.NoError(t, err)
	assert.Equal(t, MsgASReq, mt)
	_, err = MessageType([]byte{0x30})
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestMarshalErrors(t *testing.T) {
	_, err := (&KDCReq{MsgType: MsgAPReq}).Marshal()
	assert.Error(t, err)
	_, err = (&KDCRep{MsgType: MsgASReq}).Marshal()
	assert.Error(t, err)
	_, err = (&PAEncTSEnc{Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}).Marshal()
	assert.Error(t, err)
}

func TestRawBodyIsTheReceivedBytes(t *testing.T) {
	r := sampleTGSReq()
	b, err := r.Marshal()
	require.NoError(t, err)
	got, err := ParseKDCReq(b)
	require.NoError(t, err)
	body, err := r.Body.Marshal()
	require.NoError(t, err)
	assert.Equal(t, body, got.RawBody)
}
