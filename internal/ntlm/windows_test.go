package ntlm

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// windowsToken reads a token Windows wrote, from the repository's
// testdata/windows (its README says where each came from).
func windowsToken(t testing.TB, name string) []byte {
	t.Helper()
	s, err := os.ReadFile(filepath.Join("..", "..", "testdata", "windows", name+".hex"))
	require.NoError(t, err)
	b, err := hex.DecodeString(strings.TrimSpace(string(s)))
	require.NoError(t, err)
	return b
}

// Windows NEGOTIATE messages re-marshal to their own bytes: absent domain
// and workstation fields keep offset 0.
func TestWindowsNegotiateRoundTrip(t *testing.T) {
	for _, name := range []string{"negotiate-server2019", "negotiate-xp-responder3"} {
		t.Run(name, func(t *testing.T) {
			b := windowsToken(t, name)
			m, err := ParseNegotiate(b)
			require.NoError(t, err)
			assert.Equal(t, b, m.Marshal())
		})
	}
}

// Windows CHALLENGE messages re-marshal to their own bytes.
func TestWindowsChallengeRoundTrip(t *testing.T) {
	for _, name := range []string{"challenge-dc-server2016", "challenge-standalone-responder3", "challenge-noess-wine"} {
		t.Run(name, func(t *testing.T) {
			b := windowsToken(t, name)
			m, err := ParseChallenge(b)
			require.NoError(t, err)
			assert.Equal(t, b, m.Marshal())
		})
	}
}

// avIDs lists the IDs of an NTLMv2 response's AV pairs in order.
func avIDs(t *testing.T, ntResp []byte) ([]uint16, AVPairs) {
	t.Helper()
	pairs, err := ParseAVPairs(ntResp[16+28:])
	require.NoError(t, err)
	ids := make([]uint16, len(pairs))
	for i, p := range pairs {
		ids[i] = p.ID
	}
	return ids, pairs
}

// Fed a Windows domain controller's CHALLENGE, the client writes the AV
// pairs a Windows 7-11 client writes: the server's, then MsvAvFlags,
// MsvAvSingleHost, an all-zero MsvAvChannelBindings and MsvAvTargetName.
func TestClientAVPairsForWindowsChallenge(t *testing.T) {
	machineID := bytes.Repeat([]byte{0x5a}, 32)
	c := NewClient(ClientConfig{User: "u", Domain: "DOMAIN", Password: "p", TargetSPN: "HTTP/dc01.domain.local", MachineID: machineID})
	_, err := c.Negotiate()
	require.NoError(t, err)
	b, err := c.Authenticate(windowsToken(t, "challenge-dc-server2016"))
	require.NoError(t, err)
	m, err := ParseAuthenticate(b)
	require.NoError(t, err)
	ids, pairs := avIDs(t, m.NtChallengeResponse)
	assert.Equal(t, []uint16{AvNbDomainName, AvNbComputerName, AvDNSDomainName, AvDNSComputerName, AvDNSTreeName,
		AvTimestamp, AvFlags, AvSingleHost, AvChannelBindings, AvTargetName}, ids)
	sh, _ := pairs.Get(AvSingleHost)
	require.Len(t, sh, 48)
	assert.Equal(t, byte(48), sh[0], "Single_Host_Data Size")
	assert.Equal(t, machineID, sh[16:])
	cb, _ := pairs.Get(AvChannelBindings)
	assert.Equal(t, make([]byte, 16), cb)
}

// A stand-alone server answers like the stand-alone Windows server of the
// Responder3 capture: target type server, the same flags for the same
// NEGOTIATE, and the AV pairs in the same order.
func TestStandaloneServerAnswersLikeWindows(t *testing.T) {
	want, err := ParseChallenge(windowsToken(t, "challenge-standalone-responder3"))
	require.NoError(t, err)
	s := NewServer(ServerConfig{NetBIOSDomain: "IAS01", NetBIOSComputer: "IAS01", DNSDomain: "IAS01", DNSComputer: "IAS01", Standalone: true})
	b, err := s.Challenge(windowsToken(t, "negotiate-xp-responder3"))
	require.NoError(t, err)
	got, err := ParseChallenge(b)
	require.NoError(t, err)
	assert.Equal(t, want.Flags, got.Flags)
	assert.Equal(t, want.TargetName, got.TargetName)
	require.Len(t, got.TargetInfo, len(want.TargetInfo))
	for i := range want.TargetInfo {
		assert.Equal(t, want.TargetInfo[i].ID, got.TargetInfo[i].ID)
		if want.TargetInfo[i].ID != AvTimestamp {
			assert.Equal(t, want.TargetInfo[i].Value, got.TargetInfo[i].Value)
		}
	}
}

// The AUTHENTICATE's flags are those of the Windows XP client of the
// Responder3 capture, for its NEGOTIATE flags and the server's CHALLENGE:
// what both asked for, REQUEST_TARGET and TARGET_INFO, no target type.
func TestClientAuthenticateFlagsLikeWindows(t *testing.T) {
	neg, err := ParseNegotiate(windowsToken(t, "negotiate-xp-responder3"))
	require.NoError(t, err)
	c := NewClient(ClientConfig{User: "u", Password: "p", Flags: neg.Flags})
	_, err = c.Negotiate()
	require.NoError(t, err)
	b, err := c.Authenticate(windowsToken(t, "challenge-standalone-responder3"))
	require.NoError(t, err)
	m, err := ParseAuthenticate(b)
	require.NoError(t, err)
	assert.Equal(t, uint32(0xa2888205), m.Flags, "got %#08x", m.Flags)
}
