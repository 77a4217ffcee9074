package ntlm

import (
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
