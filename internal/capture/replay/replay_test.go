package replay

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/capture"
)

var captureDir = filepath.Join("..", "..", "..", "testdata", "interop")

func load(t *testing.T, name string) *capture.Conversation {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(captureDir, name))
	require.NoError(t, err)
	c, err := capture.Parse(b)
	require.NoError(t, err)
	return c
}

// Every conversation the interop tier captured between a real peer and
// the fake replays: the fake still accepts what the peer sent and says
// what the peer accepted, with no peer installed.
func TestCaptures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(captureDir, "*.txt"))
	require.NoError(t, err)
	n := 0
	for _, f := range files {
		name := filepath.Base(f)
		c := load(t, name)
		if c.Fake == "" {
			continue // two real peers: nothing of the fake's to replay
		}
		n++
		t.Run(strings.TrimSuffix(name, ".txt"), func(t *testing.T) {
			require.NoError(t, Run(c))
		})
	}
	assert.NotZero(t, n)
}

// Replay notices what it exists to notice.
func TestRunRefuses(t *testing.T) {
	t.Run("a tampered message of the peer", func(t *testing.T) {
		c := load(t, "mit-ntlm-to-fake.txt")
		require.NotEmpty(t, c.Messages)
		require.True(t, c.Messages[0].FromInitiator)
		c.Messages[0].Token[len(c.Messages[0].Token)-1] ^= 1
		assert.ErrorContains(t, Run(c), "refused the peer's sealed")
	})
	t.Run("the fake says something else", func(t *testing.T) {
		c := load(t, "mit-ntlm-to-fake.txt")
		c.Machine.Name = "OTHERHOST" // in the CHALLENGE's target info
		assert.ErrorContains(t, Run(c), "in the capture it sent")
	})
	t.Run("the fake as initiator with another password", func(t *testing.T) {
		c := load(t, "fake-to-mit-ntlm.txt")
		c.Account.Password = "not it"
		assert.ErrorContains(t, Run(c), "in the capture it sent")
	})
	t.Run("a token too many", func(t *testing.T) {
		c := load(t, "mit-ntlm-to-fake.txt")
		c.Tokens = append(c.Tokens, capture.Token{FromInitiator: true, Data: []byte("more")})
		assert.ErrorContains(t, Run(c), "more tokens were recorded")
	})
	t.Run("a message of the fake's that differs", func(t *testing.T) {
		c := load(t, "mit-ntlm-to-fake.txt")
		for i, m := range c.Messages {
			if !m.FromInitiator {
				c.Messages[i].Plain = bytes.ToUpper(m.Plain)
				break
			}
		}
		assert.Error(t, Run(c))
	})
	t.Run("not a capture of the fake", func(t *testing.T) {
		assert.Error(t, Run(load(t, "mit-kerberos-first-to-mit.txt")))
	})
}
