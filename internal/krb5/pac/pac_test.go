package pac

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// msPACExample reads the PAC of MS-PAC section 3 from testdata: the
// AuthorizationData around it and the PAC itself.
func msPACExample(t testing.TB) (ad, pac []byte) {
	t.Helper()
	f, err := os.Open("testdata/ms-pac-section3.txt")
	require.NoError(t, err)
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		b, err := hex.DecodeString(strings.Join(strings.Fields(line)[1:], ""))
		require.NoError(t, err)
		ad = append(ad, b...)
	}
	require.NoError(t, s.Err())
	entries, err := msg.ParseAuthorizationData(ad)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, int32(msg.ADWin2kPAC), entries[0].ADType)
	return ad, entries[0].ADData
}

// TestMSPACExample decodes the example of MS-PAC section 3 and checks
// what the section says of it, and more of its bytes.
func TestMSPACExample(t *testing.T) {
	_, raw := msPACExample(t)
	p, err := Parse(raw)
	require.NoError(t, err)
	require.Len(t, p.Buffers, 4)
	types := []BufferType{p.Buffers[0].Type, p.Buffers[1].Type, p.Buffers[2].Type, p.Buffers[3].Type}
	assert.Equal(t, []BufferType{TypeLogonInfo, TypeClientInfo, TypeServerChecksum, TypeKDCChecksum}, types)
	assert.Len(t, p.Buffers[0].Data, 0x4b0)
	assert.Equal(t, []int{0x48, 0x4f8, 0x510, 0x528}, p.offsets)
	assert.Equal(t, raw, p.Marshal(), "the PAC container encodes back to the same bytes")

	li, err := p.LogonInfo()
	require.NoError(t, err)
	assert.Equal(t, "lzhu", li.EffectiveName)
	assert.Equal(t, "Liqiang(Larry) Zhu", li.FullName)
	assert.Equal(t, "ntds2.bat", li.LogonScript)
	assert.Equal(t, "", li.ProfilePath)
	assert.Equal(t, "NTDEV-DC-05", li.LogonServer)
	assert.Equal(t, "NTDEV", li.LogonDomainName)
	assert.Equal(t, FileTime(0x01c66a650f6686d1), li.LogonTime)
	assert.Equal(t, Never, li.LogoffTime)
	assert.Equal(t, uint32(0x002c7997), li.UserID)
	assert.Equal(t, uint32(513), li.PrimaryGroupID)
	require.Len(t, li.GroupIDs, 26)
	assert.Equal(t, GroupMembership{RID: 0x0033c461, Attributes: 7}, li.GroupIDs[0], "the first group, as the section calls it out")
	assert.Equal(t, uint32(UserFlagExtraSIDs), li.UserFlags)
	assert.Equal(t, "S-1-5-21-397955417-626881126-188441444", li.LogonDomainID.String())
	assert.Equal(t, "S-1-5-21-397955417-626881126-188441444-3392609", li.LogonDomainID.Child(li.GroupIDs[0].RID).String())
	require.Len(t, li.ExtraSIDs, 13)
	assert.Equal(t, "S-1-5-21-773533881-1816936887-355810188-513", li.ExtraSIDs[0].SID.String())
	assert.Equal(t, uint32(7), li.ExtraSIDs[0].Attributes)
	assert.Equal(t, uint32(SEGroupResource|GroupDefault), li.ExtraSIDs[1].Attributes)
	assert.Nil(t, li.ResourceGroupDomainSID)
	assert.Len(t, li.GroupSIDs(), 26+13)
	assert.Equal(t, "S-1-5-21-397955417-626881126-188441444-2914711", li.UserSID().String())

	// The encoder writes the buffer back byte for byte: the referent IDs,
	// the alignment, the padding, the headers.
	assert.Equal(t, hex.EncodeToString(p.Buffers[0].Data), hex.EncodeToString(li.Marshal()))

	ci, err := p.ClientInfo()
	require.NoError(t, err)
	assert.Equal(t, "lzhu", ci.Name)
	assert.Equal(t, FileTime(0x01c66a650ed94900), ci.ClientID)
	assert.Equal(t, p.Buffers[1].Data, ci.Marshal())
	assert.Equal(t, 2006, ci.ClientID.Time().Year())

	for _, i := range []int{2, 3} {
		s, err := ParseSignature(p.Buffers[i].Data)
		require.NoError(t, err)
		assert.Equal(t, kcrypto.ChecksumType(-138), s.Type, "HMAC-MD5")
		assert.Len(t, s.Value, 16)
		assert.Equal(t, p.Buffers[i].Data, s.Marshal())
	}
	// RC4 keys are not implemented, so neither are their signatures.
	k, _ := kcrypto.RandomKey(kcrypto.AES256CTSHMACSHA196, nil)
	assert.ErrorIs(t, p.VerifyServerSignature(k), ErrSignature)
}

func sampleLogonInfo() *LogonInfo {
	dom := MustParseSID("S-1-5-21-1111111111-2222222222-3333333333")
	return &LogonInfo{
		LogonTime:  NewFileTime(time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)),
		LogoffTime: Never, KickOffTime: Never,
		PasswordLastSet:        NewFileTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
		PasswordMustChange:     Never,
		EffectiveName:          "alice",
		FullName:               "Alice Ünicode 🎉",
		UserID:                 1104,
		PrimaryGroupID:         513,
		GroupIDs:               []GroupMembership{{513, GroupDefault}, {1105, GroupDefault}},
		UserFlags:              UserFlagExtraSIDs | UserFlagResourceGroups,
		LogonServer:            "DC01",
		LogonDomainName:        "CONTOSO",
		LogonDomainID:          dom,
		UserAccountControl:     0x10,
		ExtraSIDs:              []SIDAndAttributes{{SID: MustParseSID("S-1-18-1"), Attributes: GroupDefault}, {SID: nil, Attributes: 1}},
		ResourceGroupDomainSID: MustParseSID("S-1-5-21-9-9-9"),
		ResourceGroupIDs:       []GroupMembership{{RID: 7777, Attributes: GroupDefault | SEGroupResource}},
	}
}

func TestLogonInfoRoundTrip(t *testing.T) {
	for _, li := range []*LogonInfo{sampleLogonInfo(), {}, {EffectiveName: "x", LogonDomainID: MustParseSID("S-1-5-32")}} {
		b := li.Marshal()
		assert.Zero(t, len(b)%8)
		got, err := ParseLogonInfo(b)
		require.NoError(t, err)
		assert.Empty(t, cmp.Diff(li, got))
	}
}

func TestLogonInfoRefusals(t *testing.T) {
	good := sampleLogonInfo().Marshal()
	for i := 0; i < len(good)-8; i++ {
		_, err := ParseLogonInfo(good[:i])
		assert.ErrorIs(t, err, ErrMalformed, "truncated to %d", i)
	}
	bad := append([]byte(nil), good...)
	bad[1] = 0x00 // big-endian
	_, err := ParseLogonInfo(bad)
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestSignAndVerify(t *testing.T) {
	srvKey, err := kcrypto.RandomKey(kcrypto.AES256CTSHMACSHA196, nil)
	require.NoError(t, err)
	kdcKey, err := kcrypto.RandomKey(kcrypto.AES128CTSHMACSHA196, nil)
	require.NoError(t, err)

	p := &PAC{}
	p.Set(TypeLogonInfo, sampleLogonInfo().Marshal())
	p.Set(TypeClientInfo, (&ClientInfo{ClientID: 5, Name: "alice"}).Marshal())
	p.Set(TypeUPNDNSInfo, (&UPNDNSInfo{UPN: "alice@contoso.test", DNSDomainName: "CONTOSO.TEST"}).Marshal())
	raw, err := p.Sign(srvKey, kdcKey)
	require.NoError(t, err)
	require.NoError(t, p.VerifyServerSignature(srvKey))
	require.NoError(t, p.VerifyKDCSignature(kdcKey))

	got, err := Parse(raw)
	require.NoError(t, err)
	require.NoError(t, got.VerifyServerSignature(srvKey))
	require.NoError(t, got.VerifyKDCSignature(kdcKey))
	s, err := got.signature(TypeServerChecksum)
	require.NoError(t, err)
	assert.Equal(t, kcrypto.HMACSHA196AES256, s.Type)
	s, err = got.signature(TypeKDCChecksum)
	require.NoError(t, err)
	assert.Equal(t, kcrypto.HMACSHA196AES128, s.Type)

	assert.ErrorIs(t, got.VerifyServerSignature(kdcKey), ErrSignature, "the wrong key")
	assert.ErrorIs(t, got.VerifyKDCSignature(srvKey), ErrSignature, "the wrong key")

	// Any change to a signed byte breaks the server signature, even
	// padding; a change to the KDC signature breaks only that.
	for i := 0; i < len(raw); i++ {
		bad := append([]byte(nil), raw...)
		bad[i] ^= 0x80
		q, err := Parse(bad)
		if err != nil {
			continue
		}
		inServer := i >= q.offsets[3]+4 && i < q.offsets[3]+16
		inKDC := i >= q.offsets[4]+4 && i < q.offsets[4]+16
		switch {
		case inKDC:
			assert.NoError(t, q.VerifyServerSignature(srvKey), "byte %d", i)
			assert.Error(t, q.VerifyKDCSignature(kdcKey), "byte %d", i)
		case inServer:
			assert.Error(t, q.VerifyServerSignature(srvKey), "byte %d", i)
			assert.Error(t, q.VerifyKDCSignature(kdcKey), "byte %d", i)
		default:
			assert.Error(t, q.VerifyServerSignature(srvKey), "byte %d", i)
		}
	}

	// A PAC built in memory verifies after signing without a parse.
	fresh := &PAC{Buffers: []Buffer{{Type: TypeClientInfo, Data: (&ClientInfo{Name: "x"}).Marshal()}}}
	_, err = fresh.Sign(srvKey, kdcKey)
	require.NoError(t, err)
	fresh.raw = nil
	require.NoError(t, fresh.VerifyServerSignature(srvKey))

	assert.ErrorIs(t, (&PAC{}).VerifyServerSignature(srvKey), ErrSignature, "no signature")
	assert.ErrorIs(t, (&PAC{}).VerifyKDCSignature(srvKey), ErrSignature, "no signature")
}

func TestClientAndUPNInfo(t *testing.T) {
	ci := &ClientInfo{ClientID: NewFileTime(time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC)), Name: "ålice"}
	got, err := ParseClientInfo(ci.Marshal())
	require.NoError(t, err)
	assert.Equal(t, ci, got)
	assert.Equal(t, time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC), got.ClientID.Time())
	_, err = ParseClientInfo([]byte{1, 2, 3})
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = ParseClientInfo(append(ci.Marshal(), 0))
	assert.ErrorIs(t, err, ErrMalformed)

	for _, u := range []*UPNDNSInfo{
		{UPN: "alice@contoso.test", DNSDomainName: "CONTOSO.TEST"},
		{UPN: "alice@contoso.test", DNSDomainName: "CONTOSO.TEST", Flags: UPNConstructed | UPNExtended, SAMName: "alice", SID: MustParseSID("S-1-5-21-1-2-3-1104")},
	} {
		b := u.Marshal()
		got, err := ParseUPNDNSInfo(b)
		require.NoError(t, err)
		assert.Empty(t, cmp.Diff(u, got))
		fixed := uint16(16)
		if u.Flags&UPNExtended != 0 {
			fixed = 24
		}
		assert.Equal(t, fixed, uint16(b[2])|uint16(b[3])<<8, "the UPN starts at the first multiple of 8 after the fixed part")
	}
	_, err = ParseUPNDNSInfo([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestParseRefusals(t *testing.T) {
	_, raw := msPACExample(t)
	for name, b := range map[string][]byte{
		"short":      raw[:7],
		"version":    append(append([]byte{4, 0, 0, 0, 1}, raw[5:8]...), raw[8:]...),
		"too many":   append([]byte{0xff, 0, 0, 0}, raw[4:]...),
		"truncated":  raw[:0x53b],
		"misaligned": func() []byte { b := append([]byte(nil), raw...); b[16] = 0x49; return b }(),
	} {
		_, err := Parse(b)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
	_, err := (&PAC{}).LogonInfo()
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = (&PAC{}).ClientInfo()
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = ParseSignature([]byte{16, 0, 0, 0, 1})
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = ParseSignature([]byte{99, 0, 0, 0, 1})
	assert.ErrorIs(t, err, ErrMalformed)
	id := uint16(7)
	s := &Signature{Type: kcrypto.HMACSHA196AES256, Value: make([]byte, 12), RODCIdentifier: &id}
	got, err := ParseSignature(s.Marshal())
	require.NoError(t, err)
	assert.Equal(t, s, got)
}

func TestSIDs(t *testing.T) {
	for _, s := range []string{"S-1-5-21-397955417-626881126-188441444", "S-1-0-0", "S-1-5-32-544", "S-1-281474976710655-1"} {
		sid, err := ParseSID(s)
		require.NoError(t, err)
		assert.Equal(t, s, sid.String())
		bin, err := parseBinarySID(sid.marshalBinary())
		require.NoError(t, err)
		assert.True(t, sid.Equal(bin))
	}
	for _, s := range []string{"", "S-1", "X-1-5", "S-x-5", "S-1-y", "S-1-5-z", "S-1-5-4294967296"} {
		_, err := ParseSID(s)
		assert.Error(t, err, s)
	}
	assert.Panics(t, func() { MustParseSID("nope") })
	_, err := parseBinarySID([]byte{1, 2, 0, 0, 0, 0, 0, 5})
	assert.ErrorIs(t, err, ErrMalformed)
	assert.True(t, FileTime(0).Time().IsZero())
	assert.True(t, Never.Time().IsZero())
	assert.Equal(t, FileTime(0), NewFileTime(time.Time{}))
	assert.Equal(t, FileTime(0), NewFileTime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, Never, NewFileTime(time.Date(40000, 1, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, FileTime(epochDelta), NewFileTime(time.Unix(0, 0)))
}
