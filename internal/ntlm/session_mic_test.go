package ntlm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SignMIC and VerifyMIC make and accept the bytes Sign and Verify do,
// whether the streams then restart or not, and keep the state exact:
// sequence numbers, keystream positions, exports.
func TestSignMICIsSign(t *testing.T) {
	mechList := []byte("mechTypes")
	for _, reset := range []bool{true, false} {
		c, s := sessions(t) // the stack-cipher path
		refC, refS := twins(t, c), twins(t, s)
		sig := make([]byte, SignatureSize)
		require.True(t, c.SignMIC(mechList, sig))
		assert.Equal(t, refC.Sign(mechList), sig, "client MIC")
		require.NoError(t, s.VerifyMIC(mechList, sig))
		require.NoError(t, refS.Verify(mechList, sig))
		require.True(t, s.SignMIC(mechList, sig))
		assert.Equal(t, refS.Sign(mechList), sig, "server MIC")
		bad := append([]byte(nil), sig...)
		bad[5] ^= 1
		assert.ErrorIs(t, c.VerifyMIC(mechList, bad), ErrMessageAltered)
		require.NoError(t, c.VerifyMIC(mechList, sig), "a refused MIC changes nothing")
		require.NoError(t, refC.Verify(mechList, sig))
		if reset {
			for _, x := range []*Session{c, s, refC, refS} {
				x.ResetStreams()
			}
		}
		// Without the restart, the plain path holds started ciphers and
		// this one positions; the streams below show they agree.
		for _, p := range [][2]*Session{{refC, c}, {refS, s}} {
			want, got := p[0].State(), p[1].State()
			if !reset {
				want.SendCipher, want.RecvCipher = nil, nil
			}
			assert.Equal(t, want, got, "reset %v", reset)
		}

		// The streams go on from where the MICs left them.
		for i, msg := range [][]byte{[]byte("first"), []byte("second, sealed")} {
			sealed, seal := c.Seal(msg)
			refSealed, refSeal := refC.Seal(msg)
			assert.Equal(t, refSealed, sealed, "reset %v, message %d", reset, i)
			assert.Equal(t, refSeal, seal)
			plain, err := s.Unseal(sealed, seal)
			require.NoError(t, err, "reset %v, message %d", reset, i)
			assert.Equal(t, msg, plain)
			_, err = refS.Unseal(sealed, seal)
			require.NoError(t, err)
			require.NoError(t, c.Verify(msg, s.Sign(msg)))
			require.NoError(t, refC.Verify(msg, refS.Sign(msg)))
		}
	}
}

// A session exported between a MIC and the restart, its stream unstarted
// but moved on, imports to one that goes on with the same bytes.
func TestSignMICExportBeforeRestart(t *testing.T) {
	c, s := sessions(t)
	sig := make([]byte, SignatureSize)
	require.True(t, c.SignMIC([]byte("mechTypes"), sig))
	require.NoError(t, s.VerifyMIC([]byte("mechTypes"), sig))
	st := c.State()
	assert.Equal(t, uint64(8), st.SendStream)
	twin, err := RestoreSession(st)
	require.NoError(t, err)
	msg := []byte("after the MIC, no restart")
	sealed, seal := twin.Seal(msg)
	plain, err := s.Unseal(sealed, seal)
	require.NoError(t, err)
	assert.Equal(t, msg, plain)
}

// Without KEY_EXCH the checksum is not encrypted, and the MIC calls are
// Sign and Verify.
func TestSignMICWithoutKeyExch(t *testing.T) {
	key := make([]byte, 16)
	flags := DefaultClientFlags &^ NegotiateKeyExch
	c, err := NewSession(key, flags, true)
	require.NoError(t, err)
	s, err := NewSession(key, flags, false)
	require.NoError(t, err)
	sig := make([]byte, SignatureSize)
	require.True(t, c.SignMIC([]byte("m"), sig))
	require.NoError(t, s.VerifyMIC([]byte("m"), sig))
	c.Destroy()
	assert.False(t, c.SignMIC([]byte("m"), sig), "destroyed")
	assert.False(t, s.SignMIC([]byte("m"), sig[:8]), "short signature buffer")
}

// twins is a new session with x's key, flags and side.
func twins(t *testing.T, x *Session) *Session {
	t.Helper()
	y, err := NewSession(x.key[:], x.flags, x.client)
	require.NoError(t, err)
	return y
}

// countingHolder counts Releases and checks that the kept bytes are zero
// by then.
type countingHolder struct {
	t        *testing.T
	kept     [][]byte
	releases int
}

func (h *countingHolder) Release() {
	h.releases++
	for _, b := range h.kept {
		assert.Equal(h.t, make([]byte, len(b)), b, "kept bytes zeroed before Release")
	}
}

// A session restored with a Holder keeps the RC4 states in the holder's
// memory, goes on with the same bytes as one that copied them, and
// releases the holder once, when both are loaded, reset or destroyed;
// a failed Restore never does.
func TestRestoreWithHolder(t *testing.T) {
	client, server := sessions(t)
	for i := 0; i < 3; i++ {
		sealed, sig := client.Seal([]byte("traffic"))
		_, err := server.Unseal(sealed, sig)
		require.NoError(t, err)
		require.NoError(t, client.Verify([]byte("back"), server.Sign([]byte("back"))))
	}
	st := server.State()
	require.NotNil(t, st.SendCipher)
	require.NotNil(t, st.RecvCipher)

	for _, end := range []string{"messages", "reset", "destroy"} {
		held := st
		held.SendCipher = append([]byte(nil), st.SendCipher...)
		held.RecvCipher = append([]byte(nil), st.RecvCipher...)
		h := &countingHolder{t: t, kept: [][]byte{held.SendCipher, held.RecvCipher}}
		held.Holder = h
		s, err := RestoreSession(held)
		require.NoError(t, err)
		copied, err := RestoreSession(st)
		require.NoError(t, err)
		switch end {
		case "messages":
			msg := []byte("after the import")
			sig := s.Sign(msg)
			assert.Equal(t, copied.Sign(msg), sig)
			assert.Zero(t, h.releases, "the receive state still waits")
			sealed, seal := client.Seal(msg)
			plain, err := s.Unseal(sealed, seal)
			require.NoError(t, err)
			assert.Equal(t, msg, plain)
			require.NoError(t, client.Verify(msg, sig))
			assert.Equal(t, 1, h.releases)
			s.Destroy()
		case "reset":
			s.Reset()
			assert.Equal(t, 1, h.releases)
			s.Destroy()
		case "destroy":
			s.Destroy()
			assert.Equal(t, 1, h.releases)
		}
		assert.Equal(t, 1, h.releases, "released once (%s)", end)
		copied.Destroy()
	}

	bad := st
	bad.SendCipher = st.SendCipher[:10]
	h := &countingHolder{t: t}
	bad.Holder = h
	_, err := RestoreSession(bad)
	assert.ErrorIs(t, err, ErrMalformed)
	assert.Zero(t, h.releases, "a failed Restore keeps nothing")
}
