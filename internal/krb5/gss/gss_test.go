package gss

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
)

// windowsAPRep is a Windows server's Kerberos AP-REP context token, as it
// appears inside the SPNEGO accept in internal/spnego's real-world
// examples (an SMB session captured by the Responder3 project): the
// framing names the Kerberos OID even though SPNEGO chose the MS one.
const windowsAPRep = "60819706092a864886f71201020202006f8187308184a003020105a10302" +
	"010fa2783076a003020112a26f046d1c984dccd970dac7b140ff6901ced969cb" +
	"2979cd16aee5ded0c930c11f57fd1543dcdec2defb7f5f565c619d336ab86d4b" +
	"d4a89c628dd871e8a9c9b2c31836bdd7565297bfd39ed11548d79b22db3c4ceb" +
	"f597df677e18fcaad58680b1258c8cf67a3d10a0c32d44344dedcfe6"

func TestUnframeWindowsAPRep(t *testing.T) {
	tok, err := hex.DecodeString(windowsAPRep)
	require.NoError(t, err)
	id, msg, err := UnframeToken(tok)
	require.NoError(t, err)
	assert.Equal(t, TokAPRep, id)
	assert.Equal(t, byte(0x6f), msg[0], "[APPLICATION 15] AP-REP")
	assert.Len(t, msg, 0x8a)
	assert.Equal(t, tok, FrameToken(id, msg), "framing again gives the same bytes")
}

func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 100, 116, 117, 127, 128, 255, 256, 300, 70000} {
		msg := bytes.Repeat([]byte{0x5a}, n)
		for _, id := range []TokenID{TokAPReq, TokAPRep, TokError} {
			tok := FrameToken(id, msg)
			gotID, got, err := UnframeToken(tok)
			if n+30 > MaxTokenSize {
				require.ErrorIs(t, err, ErrMalformed)
				continue
			}
			require.NoError(t, err, "%d bytes", n)
			assert.Equal(t, id, gotID)
			assert.Equal(t, msg, []byte(got))
		}
	}
}

func TestUnframeRefuses(t *testing.T) {
	good := FrameToken(TokAPReq, []byte{0x6e, 0x00})
	for name, tok := range map[string][]byte{
		"empty":       nil,
		"not framed":  {0x6e, 0x00},
		"truncated":   good[:len(good)-1],
		"trailing":    append(append([]byte(nil), good...), 0),
		"no token id": {0x60, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02},
		"SPNEGO OID":  {0x60, 0x0a, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0x01, 0x00},
	} {
		_, _, err := UnframeToken(tok)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
	// The MS alias is read as Kerberos.
	ms := []byte{0x60, 0x0e, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00, 0x30}
	id, msg, err := UnframeToken(ms)
	require.NoError(t, err)
	assert.Equal(t, TokAPReq, id)
	assert.Equal(t, []byte{0x30}, []byte(msg))
}

func TestTokenIDNames(t *testing.T) {
	for id, want := range map[TokenID]string{TokAPReq: "AP-REQ", TokAPRep: "AP-REP", TokError: "KRB-ERROR",
		TokMIC: "MIC", TokWrap: "Wrap", 0x0101: "TOK_ID 0101"} {
		assert.Equal(t, want, id.String())
	}
}

func TestAuthChecksum(t *testing.T) {
	cb := ChannelBindingsHash(0, nil, 0, nil, []byte("tls-server-end-point:abc"))
	for _, c := range []AuthChecksum{
		{Flags: FlagMutual | FlagConf | FlagInteg | FlagSequence | FlagReplay},
		{Bindings: cb, Flags: FlagMutual | FlagExtendedError},
		{Bindings: cb, Flags: FlagDeleg | FlagMutual, Deleg: []byte{0x76, 0x01, 0x00}},
		{Flags: FlagInteg, Exts: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
	} {
		b := c.Marshal()
		got, err := ParseAuthChecksum(b)
		require.NoError(t, err)
		assert.Empty(t, cmp.Diff(&c, got))
	}
	// The layout, byte by byte: Lgth 16 little-endian, Bnd, Flags.
	b := (&AuthChecksum{Flags: FlagMutual | FlagInteg}).Marshal()
	assert.Equal(t, "10000000"+"00000000000000000000000000000000"+"22000000", hex.EncodeToString(b))

	for name, v := range map[string][]byte{
		"short":          make([]byte, 23),
		"length 0":       make([]byte, 24),
		"deleg no cred":  append((&AuthChecksum{}).Marshal()[:20], 1, 0, 0, 0),
		"deleg opt 2":    append(append((&AuthChecksum{}).Marshal()[:20], 1, 0, 0, 0), 2, 0, 0, 0),
		"deleg too long": append(append((&AuthChecksum{}).Marshal()[:20], 1, 0, 0, 0), 1, 0, 9, 0, 1),
	} {
		if name != "short" && name != "length 0" {
			v[0] = 16
		}
		_, err := ParseAuthChecksum(v)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
}

func TestChannelBindingsHashLayout(t *testing.T) {
	// With no addresses the hashed struct is five zero-or-length words
	// around the application data.
	app := []byte("tls-server-end-point:0123")
	var want bytes.Buffer
	want.Write(make([]byte, 16))
	binary.Write(&want, binary.LittleEndian, uint32(len(app)))
	want.Write(app)
	got := ChannelBindingsHash(0, nil, 0, nil, app)
	assert.Equal(t, md5.Sum(want.Bytes()), got)

	var addr bytes.Buffer
	for _, v := range []any{uint32(2), uint32(4), []byte{127, 0, 0, 1}, uint32(2), uint32(4), []byte{10, 0, 0, 1}, uint32(0)} {
		binary.Write(&addr, binary.LittleEndian, v)
	}
	assert.Equal(t, md5.Sum(addr.Bytes()), ChannelBindingsHash(2, []byte{127, 0, 0, 1}, 2, []byte{10, 0, 0, 1}, nil))
}

// pair makes the two sessions of one context under key.
func pair(t testing.TB, e kcrypto.EType, acceptorSubkey bool) (initiator, acceptor *Session) {
	t.Helper()
	key, err := kcrypto.RandomKey(e, nil)
	require.NoError(t, err)
	const iseq, aseq = 1000, 77
	initiator, err = NewSession(Config{Key: key, AcceptorSubkey: acceptorSubkey, SendSeq: iseq, RecvSeq: aseq})
	require.NoError(t, err)
	acceptor, err = NewSession(Config{Key: key, AcceptorSubkey: acceptorSubkey, Acceptor: true, SendSeq: aseq, RecvSeq: iseq})
	require.NoError(t, err)
	return initiator, acceptor
}

func TestMICRoundTripBothWays(t *testing.T) {
	for _, e := range []kcrypto.EType{kcrypto.AES128CTSHMACSHA196, kcrypto.AES256CTSHMACSHA196} {
		for _, sub := range []bool{false, true} {
			i, a := pair(t, e, sub)
			for n := 0; n < 5; n++ {
				msg := []byte(fmt.Sprintf("message %d", n))
				tok := i.MIC(msg)
				require.Len(t, tok, MICSize)
				require.NoError(t, a.VerifyMIC(msg, tok))
				tok = a.MIC(msg)
				require.NoError(t, i.VerifyMIC(msg, tok))
			}
			send, recv := i.Seq()
			assert.Equal(t, uint64(1005), send)
			assert.Equal(t, uint64(82), recv)
		}
	}
}

func TestMICLayout(t *testing.T) {
	i, a := pair(t, kcrypto.AES256CTSHMACSHA196, true)
	tok := i.MIC([]byte("x"))
	assert.Equal(t, "0404"+"04"+"ffffffffff"+"00000000000003e8", hex.EncodeToString(tok[:16]))
	tok = a.MIC([]byte("x"))
	assert.Equal(t, "0404"+"05"+"ffffffffff"+"000000000000004d", hex.EncodeToString(tok[:16]))
}

func TestMICRefusals(t *testing.T) {
	i, a := pair(t, kcrypto.AES256CTSHMACSHA196, false)
	msg := []byte("pay 100")
	tok := i.MIC(msg)

	for b := range tok {
		bad := append([]byte(nil), tok...)
		bad[b] ^= 0x01
		err := a.VerifyMIC(msg, bad)
		require.Error(t, err, "byte %d", b)
		assert.NotErrorIs(t, err, ErrOutOfSequence, "byte %d", b)
	}
	assert.ErrorIs(t, a.VerifyMIC([]byte("pay 900"), tok), ErrModified)
	assert.ErrorIs(t, a.VerifyMIC(msg, tok[:MICSize-1]), ErrMalformed)
	assert.ErrorIs(t, i.VerifyMIC(msg, tok), ErrModified, "reflected to its sender")

	require.NoError(t, a.VerifyMIC(msg, tok), "the failures left the session as it was")
	assert.ErrorIs(t, a.VerifyMIC(msg, tok), ErrOutOfSequence, "replay")

	skipped := i.MIC(msg)
	_ = skipped
	next := i.MIC(msg)
	assert.ErrorIs(t, a.VerifyMIC(msg, next), ErrOutOfSequence, "gap")
	require.NoError(t, a.VerifyMIC(msg, skipped))
	require.NoError(t, a.VerifyMIC(msg, next))

	// A peer that keys its tokens differently.
	_, sub := pair(t, kcrypto.AES256CTSHMACSHA196, true)
	assert.ErrorIs(t, sub.VerifyMIC(msg, i.MIC(msg)), ErrModified, "acceptor-subkey flag missing")
}

func TestNoSequenceCheck(t *testing.T) {
	key, err := kcrypto.RandomKey(kcrypto.AES128CTSHMACSHA196, nil)
	require.NoError(t, err)
	i, err := NewSession(Config{Key: key})
	require.NoError(t, err)
	a, err := NewSession(Config{Key: key, Acceptor: true, NoSequenceCheck: true})
	require.NoError(t, err)
	tok := i.MIC(nil)
	require.NoError(t, a.VerifyMIC(nil, tok))
	require.NoError(t, a.VerifyMIC(nil, tok))
	w, err := i.Wrap([]byte("m"), true)
	require.NoError(t, err)
	_, _, err = a.Unwrap(w)
	require.NoError(t, err)
	_, _, err = a.Unwrap(w)
	require.NoError(t, err)
}

func TestWrapRoundTrip(t *testing.T) {
	for _, e := range []kcrypto.EType{kcrypto.AES128CTSHMACSHA196, kcrypto.AES256CTSHMACSHA196} {
		for _, sub := range []bool{false, true} {
			for _, conf := range []bool{false, true} {
				i, a := pair(t, e, sub)
				for n := 0; n < 40; n++ {
					msg := bytes.Repeat([]byte{byte(n)}, n)
					tok, err := i.Wrap(msg, conf)
					require.NoError(t, err)
					if conf {
						assert.Len(t, tok, n+SealTrailerSize)
						assert.False(t, bytes.Contains(tok, msg) && n > 4, "sealed")
					} else {
						assert.Len(t, tok, n+SignTrailerSize)
					}
					got, sealed, err := a.Unwrap(tok)
					require.NoError(t, err, "%v sub=%v conf=%v n=%d", e, sub, conf, n)
					assert.Equal(t, conf, sealed)
					assert.Equal(t, msg, got)

					tok, err = a.Wrap(msg, conf)
					require.NoError(t, err)
					got, _, err = i.Unwrap(tok)
					require.NoError(t, err)
					assert.Equal(t, msg, got)
				}
			}
		}
	}
}

// rotate returns tok with its body (after the header) rotated right by
// rrc more bytes, and RRC updated: the same token as a sender using that
// rotation would have made it.
func rotate(tok []byte, rrc int) []byte {
	out := append([]byte(nil), tok[:HeaderSize]...)
	body := tok[HeaderSize:]
	old := int(binary.BigEndian.Uint16(tok[6:]))
	binary.BigEndian.PutUint16(out[6:], uint16(old+rrc))
	r := rrc % len(body)
	out = append(out, body[len(body)-r:]...)
	return append(out, body[:len(body)-r]...)
}

func TestUnwrapAnyRotation(t *testing.T) {
	for _, conf := range []bool{false, true} {
		i, a := pair(t, kcrypto.AES256CTSHMACSHA196, true)
		for _, rrc := range []int{0, 1, 12, 16, 28, 60, 1000} {
			msg := []byte("rotate me, please")
			tok, err := i.Wrap(msg, conf)
			require.NoError(t, err)
			got, _, err := a.Unwrap(rotate(tok, rrc))
			require.NoError(t, err, "rrc %d conf %v", rrc, conf)
			assert.Equal(t, msg, got)
		}
	}
}

func TestWrapRefusals(t *testing.T) {
	for _, conf := range []bool{false, true} {
		i, a := pair(t, kcrypto.AES256CTSHMACSHA196, false)
		msg := []byte("transfer 100 to bob")
		tok, err := i.Wrap(msg, conf)
		require.NoError(t, err)
		for b := range tok {
			if b == 6 || b == 7 {
				continue // RRC: another rotation of the same token
			}
			bad := append([]byte(nil), tok...)
			bad[b] ^= 0x01
			_, _, err := a.Unwrap(bad)
			require.Error(t, err, "conf %v byte %d", conf, b)
			assert.NotErrorIs(t, err, ErrOutOfSequence)
		}
		_, _, err = i.Unwrap(tok)
		assert.ErrorIs(t, err, ErrModified, "reflected")
		_, _, err = a.Unwrap(tok[:10])
		assert.ErrorIs(t, err, ErrMalformed)

		got, _, err := a.Unwrap(tok)
		require.NoError(t, err, "the failures left the session as it was")
		assert.Equal(t, msg, got)
		_, _, err = a.Unwrap(tok)
		assert.ErrorIs(t, err, ErrOutOfSequence, "replay")

		mic := i.MIC(msg)
		_, _, err = a.Unwrap(mic)
		assert.ErrorIs(t, err, ErrMalformed, "a MIC token is no Wrap token")
		assert.ErrorIs(t, a.VerifyMIC(msg, tok[:MICSize]), ErrMalformed, "nor the other way round")
	}
}

func TestSealInPlaceWindowsLayout(t *testing.T) {
	i, a := pair(t, kcrypto.AES256CTSHMACSHA196, true)
	orig := []byte("the data buffer, encrypted where it lies")
	data := append([]byte(nil), orig...)
	trailer := make([]byte, SealTrailerSize)
	n, err := i.SealInPlace(data, trailer, true)
	require.NoError(t, err)
	assert.Equal(t, 60, n)
	assert.NotEqual(t, orig, data)
	assert.Equal(t, "0504"+"06"+"ff"+"0000"+"001c", hex.EncodeToString(trailer[:8]), "EC 0, RRC 28")

	// The trailer and the data, in that order, are a GSS Wrap token.
	tok := append(append([]byte(nil), trailer...), data...)
	got, sealed, err := a.Unwrap(tok)
	require.NoError(t, err)
	assert.True(t, sealed)
	assert.Equal(t, orig, got)

	// And the other way: a GSS Wrap token split into trailer and data.
	w, err := a.Wrap(orig, true)
	require.NoError(t, err)
	w = rotate(w, sealRRC)
	tr, d := w[:SealTrailerSize], append([]byte(nil), w[SealTrailerSize:]...)
	sealed, err = i.UnsealInPlace(d, tr)
	require.NoError(t, err)
	assert.True(t, sealed)
	assert.Equal(t, orig, d)

	// In place both ways, without confidentiality.
	data = append([]byte(nil), orig...)
	n, err = a.SealInPlace(data, trailer, false)
	require.NoError(t, err)
	assert.Equal(t, SignTrailerSize, n)
	assert.Equal(t, orig, data)
	assert.Equal(t, "0504"+"05"+"ff"+"000c"+"000c", hex.EncodeToString(trailer[:8]), "EC 12, RRC 12")
	sealed, err = i.UnsealInPlace(data, trailer[:n])
	require.NoError(t, err)
	assert.False(t, sealed)
	assert.Equal(t, orig, data)
}

func TestUnsealInPlaceFailureLeavesData(t *testing.T) {
	i, a := pair(t, kcrypto.AES128CTSHMACSHA196, false)
	data := []byte("sixteen bytes!!!and more")
	trailer := make([]byte, SealTrailerSize)
	_, err := i.SealInPlace(data, trailer, true)
	require.NoError(t, err)
	sealedData := append([]byte(nil), data...)

	trailer[20] ^= 1
	_, err = a.UnsealInPlace(data, trailer)
	require.ErrorIs(t, err, ErrModified)
	assert.Equal(t, sealedData, data)
	trailer[20] ^= 1

	_, err = a.UnsealInPlace(data[:len(data)-1], trailer)
	require.Error(t, err)
	assert.Equal(t, sealedData, data)

	_, err = a.UnsealInPlace(data, trailer)
	require.NoError(t, err)
	assert.Equal(t, "sixteen bytes!!!and more", string(data))
	// A trailer too short to hold a header is no token.
	_, err = a.UnsealInPlace(data, trailer[:10])
	assert.ErrorIs(t, err, ErrMalformed)

	_, err = i.SealInPlace(data, trailer[:59], true)
	assert.Error(t, err)
	_, err = i.SealInPlace(data, trailer[:27], false)
	assert.Error(t, err)
}

func TestSessionNeedsKey(t *testing.T) {
	_, err := NewSession(Config{})
	assert.Error(t, err)
	i, _ := pair(t, kcrypto.AES128CTSHMACSHA196, false)
	i.Zero()
}
