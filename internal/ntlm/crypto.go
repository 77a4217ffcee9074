package ntlm

import (
	"crypto/md5"
	"encoding/binary"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	//lint:ignore SA1019 MD4 is mandated by MS-NLMP for the NT hash; there is no alternative.
	"golang.org/x/crypto/md4"

	"github.com/gosspi/gosspi/internal/rc4"
)

// utf16le encodes s as UTF-16LE, the encoding of every Unicode string in
// NTLM. Invalid UTF-8 becomes U+FFFD, as it would after a round trip through
// a Windows wide string.
func utf16le(s string) []byte {
	return appendUTF16LE(make([]byte, 0, 2*len(s)), s)
}

func appendUTF16LE(dst []byte, s string) []byte {
	for _, r := range s {
		dst = appendRuneUTF16LE(dst, r)
	}
	return dst
}

func appendRuneUTF16LE(dst []byte, r rune) []byte {
	if r >= 0x10000 {
		r1, r2 := utf16.EncodeRune(r)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(r1))
		return binary.LittleEndian.AppendUint16(dst, uint16(r2))
	}
	return binary.LittleEndian.AppendUint16(dst, uint16(r))
}

// utf16Len is len(utf16le(s)).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		}
		n += 2
	}
	return n
}

// fromUTF16LE decodes UTF-16LE; ok is false for an odd length.
// It decodes as utf16.Decode does (an unpaired surrogate becomes U+FFFD)
// into a stack buffer, so the string is the only allocation.
func fromUTF16LE(b []byte) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	var stack [256]byte
	s := stack[:0]
	for i := 0; i < len(b); i += 2 {
		r := rune(binary.LittleEndian.Uint16(b[i:]))
		switch {
		case 0xd800 <= r && r < 0xdc00 && i+4 <= len(b):
			if r2 := rune(binary.LittleEndian.Uint16(b[i+2:])); 0xdc00 <= r2 && r2 < 0xe000 {
				r = utf16.DecodeRune(r, r2)
				i += 2
			} else {
				r = utf8.RuneError
			}
		case 0xd800 <= r && r < 0xe000:
			r = utf8.RuneError
		}
		s = utf8.AppendRune(s, r)
	}
	return string(s), true
}

// oemString decodes an OEM string. The emulation has no code page, so bytes
// are taken as Latin-1, which is lossless and never fails.
func oemString(b []byte) string {
	if isASCII(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// appendOEM appends s encoded as Latin-1; runes outside it become '?', as
// the Windows best-fit conversion would do for characters without a
// mapping.
func appendOEM(b []byte, s string) []byte {
	for _, r := range s {
		if r > 0xff {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return b
}

// NTHash returns the NT one-way function of a password (NTOWFv1, MS-NLMP
// 3.3.1): MD4(UTF16LE(password)). It is what a principal directory stores
// instead of the password.
func NTHash(password string) []byte {
	h := md4.New()
	pw := utf16le(password)
	h.Write(pw)
	clear(pw)
	return h.Sum(nil)
}

// NTOWFv2 returns ResponseKeyNT for NTLMv2 (MS-NLMP 3.3.2):
// HMAC_MD5(MD4(UTF16LE(password)), UTF16LE(Uppercase(user) + domain)).
// The user name is case-insensitive, the domain is not.
func NTOWFv2(password, user, domain string) []byte {
	nt := NTHash(password)
	defer clear(nt)
	return NTOWFv2FromHash(nt, user, domain)
}

// NTOWFv2FromHash is NTOWFv2 from a stored NT hash, so a server (or a client
// holding only the hash) never needs the password.
func NTOWFv2FromHash(ntHash []byte, user, domain string) []byte {
	k := ntowfv2(ntHash, user, domain)
	return k[:]
}

// ntowfv2 is NTOWFv2FromHash in an array. The UTF-16 of the upper-cased
// user and the domain is built in a stack buffer (strings.ToUpper is
// unicode.ToUpper rune by rune, as here), so a handshake does not allocate
// for it.
func ntowfv2(ntHash []byte, user, domain string) [md5.Size]byte {
	var stack [256]byte
	b := stack[:0]
	for _, r := range user {
		b = appendRuneUTF16LE(b, unicode.ToUpper(r))
	}
	for _, r := range domain {
		b = appendRuneUTF16LE(b, r)
	}
	return hmacMD5Sum(ntHash, b)
}

// hmacMD5 is HMAC_MD5(key, concatenation of parts).
func hmacMD5(key []byte, parts ...[]byte) []byte {
	sum := hmacMD5Sum(key, parts...)
	return sum[:]
}

// hmacMD5Sum is HMAC_MD5(key, concatenation of parts) (RFC 2104),
// streamed through an MD5 digest that stays on the stack, instead of
// crypto/hmac, whose hash objects and pads cost five allocations per
// call; the key's pads are cleared before returning.
func hmacMD5Sum(key []byte, parts ...[]byte) [md5.Size]byte {
	var ipad, opad [md5.BlockSize]byte
	if len(key) > md5.BlockSize {
		h := md5.Sum(key)
		copy(ipad[:], h[:])
		clear(h[:])
	} else {
		copy(ipad[:], key)
	}
	for i := 0; i < md5.BlockSize; i += 8 { // a word at a time
		k := binary.LittleEndian.Uint64(ipad[i:])
		binary.LittleEndian.PutUint64(opad[i:], k^0x5c5c5c5c5c5c5c5c)
		binary.LittleEndian.PutUint64(ipad[i:], k^0x3636363636363636)
	}
	h := md5.New()
	h.Write(ipad[:])
	for _, p := range parts {
		h.Write(p)
	}
	var inner, sum [md5.Size]byte
	h.Sum(inner[:0])
	h.Reset()
	h.Write(opad[:])
	h.Write(inner[:])
	h.Sum(sum[:0])
	h.Reset()
	clear(ipad[:])
	clear(opad[:])
	clear(inner[:])
	return sum
}

// hmacSmall is the longest message a session MACs with hmacMD5Sum
// rather than with pads of its own (direction.hmac).
const hmacSmall = 448

// rc4Once is RC4K(key, data) of MS-NLMP 6: a fresh cipher over one buffer.
func rc4Once(key, data []byte) []byte {
	out := make([]byte, len(data))
	if !rc4OnceTo(out, key, data) {
		return nil
	}
	return out
}

// rc4OnceTo is rc4Once into out, which has data's length.
func rc4OnceTo(out, key, data []byte) bool {
	var c rc4.Cipher
	if err := c.Init(key); err != nil { // only for key length 0 or > 256, which callers exclude
		return false
	}
	c.XORKeyStream(out, data)
	c.Reset()
	return true
}

// ntlmv2Temp builds the NTLMv2_CLIENT_CHALLENGE ("temp" in MS-NLMP 3.3.2):
// Responserversion, HiResponserversion, Z(6), Time, ClientChallenge, Z(4),
// AvPairs, Z(4).
func ntlmv2Temp(timestamp uint64, clientChallenge []byte, avPairs []byte) []byte {
	t := make([]byte, 0, 28+len(avPairs)+4)
	t = append(t, 1, 1, 0, 0, 0, 0, 0, 0)
	t = binary.LittleEndian.AppendUint64(t, timestamp)
	t = append(t, clientChallenge[:8]...)
	t = append(t, 0, 0, 0, 0)
	t = append(t, avPairs...)
	t = append(t, 0, 0, 0, 0)
	return t
}

// lmv2Response is HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge)
// || ClientChallenge; for NTLMv2 ResponseKeyLM equals ResponseKeyNT.
func lmv2Response(responseKey *ResponseKey, serverChallenge, clientChallenge []byte) []byte {
	sum := responseKey.pads.sum(serverChallenge, clientChallenge)
	return append(sum[:], clientChallenge...)
}

// Magic constants of SIGNKEY and SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3),
// including the terminating NUL the spec requires.
var (
	clientSignMagic = []byte("session key to client-to-server signing key magic constant\x00")
	serverSignMagic = []byte("session key to server-to-client signing key magic constant\x00")
	clientSealMagic = []byte("session key to client-to-server sealing key magic constant\x00")
	serverSealMagic = []byte("session key to server-to-client sealing key magic constant\x00")
)

// signKey is SIGNKEY for extended session security. It hashes from a
// stack buffer: key derivation runs for every context and must not allocate.
func signKey(exportedSessionKey []byte, fromClient bool) [16]byte {
	magic := serverSignMagic
	if fromClient {
		magic = clientSignMagic
	}
	var buf [16 + 64]byte
	n := copy(buf[:], exportedSessionKey)
	n += copy(buf[n:], magic)
	k := md5.Sum(buf[:n])
	clear(buf[:])
	return k
}

// sealKey is SEALKEY for extended session security: the key is first cut
// to the negotiated strength (128, 56 or 40 bits), then hashed with the
// direction's constant.
func sealKey(exportedSessionKey []byte, flags uint32, fromClient bool) [16]byte {
	key := exportedSessionKey
	switch {
	case flags&Negotiate128 != 0:
	case flags&Negotiate56 != 0:
		key = key[:7]
	default:
		key = key[:5]
	}
	magic := serverSealMagic
	if fromClient {
		magic = clientSealMagic
	}
	var buf [16 + 64]byte
	n := copy(buf[:], key)
	n += copy(buf[n:], magic)
	k := md5.Sum(buf[:n])
	clear(buf[:])
	return k
}

// fileTimeEpochDelta is the number of seconds between 1601-01-01 (FILETIME
// epoch) and 1970-01-01 (Unix epoch).
const fileTimeEpochDelta = 11644473600

// fileTime converts t to a FILETIME (100 ns ticks since 1601). It avoids
// UnixNano, which overflows before 1678; times before 1601 clamp to 0.
func fileTime(t time.Time) uint64 {
	secs := t.Unix() + fileTimeEpochDelta
	if secs < 0 {
		return 0
	}
	return uint64(secs)*1e7 + uint64(t.Nanosecond()/100)
}

// timeFromFileTime is the inverse of fileTime.
func timeFromFileTime(ft uint64) time.Time {
	secs := int64(ft/1e7) - fileTimeEpochDelta
	return time.Unix(secs, int64(ft%1e7)*100).UTC()
}
