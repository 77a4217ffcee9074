package ntlm

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/rc4"
)

func TestSessionSignVerifyBothDirections(t *testing.T) {
	client, server := sessions(t)
	for i := 0; i < 5; i++ {
		msg := []byte(fmt.Sprintf("client message %d", i))
		require.NoError(t, server.Verify(msg, client.Sign(msg)), "c->s %d", i)
		msg = []byte(fmt.Sprintf("server message %d", i))
		require.NoError(t, client.Verify(msg, server.Sign(msg)), "s->c %d", i)
	}
	// Sequence numbers count per direction, from 0.
	assert.Equal(t, uint32(5), client.State().SendSeq)
	assert.Equal(t, uint32(5), client.State().RecvSeq)
	assert.Equal(t, uint32(5), server.State().SendSeq)
}

func TestSessionSealUnseal(t *testing.T) {
	client, server := sessions(t)
	for _, n := range []int{0, 1, 16, 1000, 70000} {
		msg := randomBytes(n)
		sealed, sig := client.Seal(msg)
		require.Len(t, sig, SignatureSize)
		if n > 16 {
			assert.NotEqual(t, msg, sealed)
		}
		plain, err := server.Unseal(sealed, sig)
		require.NoError(t, err)
		assert.Equal(t, msg, plain)

		sealed, sig = server.Seal(msg)
		plain, err = client.Unseal(sealed, sig)
		require.NoError(t, err)
		assert.Equal(t, msg, plain)
	}
}

func TestSessionMixedSignAndSeal(t *testing.T) {
	client, server := sessions(t)
	for i := 0; i < 10; i++ {
		msg := []byte(fmt.Sprintf("msg %d", i))
		if i%2 == 0 {
			require.NoError(t, server.Verify(msg, client.Sign(msg)))
			continue
		}
		sealed, sig := client.Seal(msg)
		plain, err := server.Unseal(sealed, sig)
		require.NoError(t, err)
		require.Equal(t, msg, plain)
	}
}

func TestSessionRejectsAndRecovers(t *testing.T) {
	msg := []byte("pay 100 to bob")
	tests := []struct {
		name string
		// attack gets a good (msg, sig) pair the client produced and must
		// feed the server something bad.
		attack func(s *Session, msg, sig []byte) error
		want   error
	}{
		{"tampered message", func(s *Session, m, sig []byte) error { return s.Verify(flip(m, 4), sig) }, ErrMessageAltered},
		{"tampered checksum", func(s *Session, m, sig []byte) error { return s.Verify(m, flip(sig, 5)) }, ErrMessageAltered},
		{"bad version", func(s *Session, m, sig []byte) error { return s.Verify(m, flip(sig, 0)) }, ErrMessageAltered},
		{"short signature", func(s *Session, m, sig []byte) error { return s.Verify(m, sig[:15]) }, ErrMessageAltered},
		{"long signature", func(s *Session, m, sig []byte) error { return s.Verify(m, append(bytes.Clone(sig), 0)) }, ErrMessageAltered},
		{"nil signature", func(s *Session, m, _ []byte) error { return s.Verify(m, nil) }, ErrMessageAltered},
		{"future sequence", func(s *Session, m, sig []byte) error { return s.Verify(m, flip(sig, 12)) }, ErrOutOfSequence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := sessions(t)
			// A first good message so the streams are mid-way.
			require.NoError(t, server.Verify([]byte("warm-up"), client.Sign([]byte("warm-up"))))
			sig := client.Sign(msg)
			before := server.State()
			require.ErrorIs(t, tt.attack(server, msg, sig), tt.want)
			assert.Equal(t, before, server.State(), "a rejected message must not change the state")
			require.NoError(t, server.Verify(msg, sig), "the genuine message still verifies")
			next := []byte("next")
			require.NoError(t, server.Verify(next, client.Sign(next)))
		})
	}
}

func TestSessionReplayAndReorder(t *testing.T) {
	client, server := sessions(t)
	m1, m2, m3 := []byte("one"), []byte("two"), []byte("three")
	s1, s2, s3 := client.Sign(m1), client.Sign(m2), client.Sign(m3)

	require.ErrorIs(t, server.Verify(m2, s2), ErrOutOfSequence, "reordered")
	require.NoError(t, server.Verify(m1, s1))
	require.ErrorIs(t, server.Verify(m1, s1), ErrOutOfSequence, "replayed")
	require.NoError(t, server.Verify(m2, s2))
	require.NoError(t, server.Verify(m3, s3))

	// The same for sealed messages.
	c1, g1 := server.Seal(m1)
	c2, g2 := server.Seal(m2)
	_, err := client.Unseal(c2, g2)
	require.ErrorIs(t, err, ErrOutOfSequence)
	p, err := client.Unseal(c1, g1)
	require.NoError(t, err)
	assert.Equal(t, m1, p)
	_, err = client.Unseal(c1, g1)
	require.ErrorIs(t, err, ErrOutOfSequence)
	_, err = client.Unseal(flip(c2, 0), g2)
	require.ErrorIs(t, err, ErrMessageAltered)
	p, err = client.Unseal(c2, g2)
	require.NoError(t, err)
	assert.Equal(t, m2, p)
}

func TestSessionDirectionsAreIndependent(t *testing.T) {
	client, server := sessions(t)
	msg := []byte("reflect me")
	sig := client.Sign(msg)
	// A client's own signature reflected back to it must not verify.
	assert.ErrorIs(t, client.Verify(msg, sig), ErrMessageAltered)
	require.NoError(t, server.Verify(msg, sig))
}

func TestSessionStateRestore(t *testing.T) {
	client, server := sessions(t)
	for i := 0; i < 3; i++ {
		sealed, sig := client.Seal(randomBytes(100 + i))
		_, err := server.Unseal(sealed, sig)
		require.NoError(t, err)
		m := randomBytes(10)
		require.NoError(t, client.Verify(m, server.Sign(m)))
	}
	st := server.State()
	restored, err := RestoreSession(st)
	require.NoError(t, err)
	if d := cmp.Diff(st, restored.State()); d != "" {
		t.Fatalf("restored state differs:\n%s", d)
	}

	// The original and the restored copy produce identical output...
	m := []byte("after export")
	a1, b1 := server.Seal(m)
	a2, b2 := restored.Seal(m)
	assert.Equal(t, a1, a2)
	assert.Equal(t, b1, b2)
	// ...and the restored one continues the conversation exactly.
	p, err := client.Unseal(a2, b2)
	require.NoError(t, err)
	assert.Equal(t, m, p)
	sealed, sig := client.Seal([]byte("to restored"))
	p, err = restored.Unseal(sealed, sig)
	require.NoError(t, err)
	assert.Equal(t, []byte("to restored"), p)
	// The original is an independent copy at the same position.
	_, err = server.Unseal(sealed, sig)
	require.NoError(t, err)
	// A copy that misses a message falls behind, as with a Windows context
	// exported without DELETE_OLD when both copies are used.
	sealed, sig = client.Seal([]byte("second"))
	_, err = server.Unseal(sealed, sig)
	require.NoError(t, err)
	sealed, sig = client.Seal([]byte("third"))
	_, err = restored.Unseal(sealed, sig)
	require.ErrorIs(t, err, ErrOutOfSequence)
}

func TestRestoreSessionRejectsBadState(t *testing.T) {
	client, _ := sessions(t)
	good := client.State()
	tests := []struct {
		name string
		edit func(*SessionState)
	}{
		{"no ESS", func(s *SessionState) { s.Flags &^= NegotiateExtendedSessionSecurity }},
		{"huge stream", func(s *SessionState) { s.SendStream = MaxRestoreStream + 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := good
			tt.edit(&st)
			_, err := RestoreSession(st)
			assert.Error(t, err)
		})
	}
}

func TestSessionReset(t *testing.T) {
	client, server := sessions(t)
	fresh := server.State()
	for i := 0; i < 3; i++ {
		sealed, sig := client.Seal([]byte("x"))
		_, err := server.Unseal(sealed, sig)
		require.NoError(t, err)
	}
	client.Reset()
	server.Reset()
	assert.Equal(t, fresh, server.State())
	sealed, sig := client.Seal([]byte("after reset"))
	p, err := server.Unseal(sealed, sig)
	require.NoError(t, err)
	assert.Equal(t, []byte("after reset"), p)
}

func TestSessionDestroy(t *testing.T) {
	client, server := sessions(t)
	sig := client.Sign([]byte("m"))
	server.Destroy()
	assert.Equal(t, [16]byte{}, server.State().SessionKey)
	assert.ErrorIs(t, server.Verify([]byte("m"), sig), ErrMessageAltered)
	_, err := server.Unseal([]byte("m"), sig)
	assert.ErrorIs(t, err, ErrMessageAltered)
	assert.Nil(t, server.Sign([]byte("m")))
	s, g := server.Seal([]byte("m"))
	assert.Nil(t, s)
	assert.Nil(t, g)
	server.Reset() // no panic
	server.Destroy()
}

func TestNewSessionValidation(t *testing.T) {
	_, err := NewSession(make([]byte, 15), DefaultClientFlags, true)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = NewSession(make([]byte, 16), DefaultClientFlags&^NegotiateExtendedSessionSecurity, true)
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestSignWithoutKeyExch(t *testing.T) {
	key := randomBytes(16)
	flags := DefaultClientFlags &^ NegotiateKeyExch
	c, err := NewSession(key, flags, true)
	require.NoError(t, err)
	s, err := NewSession(key, flags, false)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		m := []byte{byte(i)}
		require.NoError(t, s.Verify(m, c.Sign(m)))
	}
	assert.Zero(t, c.State().SendStream, "without KEY_EXCH the checksum is not encrypted")
	require.ErrorIs(t, s.Verify([]byte{9}, c.Sign([]byte{8})), ErrMessageAltered)
}

// The in-place variants produce the same bytes as Seal and Unseal, and a
// refused message comes back unchanged with the state untouched.
func TestSealInPlace(t *testing.T) {
	a, b := sessions(t)
	a2, err := RestoreSession(a.State())
	require.NoError(t, err)
	b2, err := RestoreSession(b.State())
	require.NoError(t, err)
	msg := []byte("in place, please")
	sealed, sig := a.Seal(msg)
	buf := bytes.Clone(msg)
	sig2 := make([]byte, SignatureSize)
	require.True(t, a2.SealInPlace(buf, sig2))
	assert.Equal(t, sealed, buf)
	assert.Equal(t, sig, sig2)

	plain, err := b.Unseal(sealed, sig)
	require.NoError(t, err)
	tampered := bytes.Clone(buf)
	tampered[0] ^= 1
	before := bytes.Clone(tampered)
	require.ErrorIs(t, b2.UnsealInPlace(tampered, sig2), ErrMessageAltered)
	assert.Equal(t, before, tampered, "a refused message is restored")
	require.NoError(t, b2.UnsealInPlace(buf, sig2))
	assert.Equal(t, plain, buf)
	assert.False(t, a2.SealInPlace(buf, make([]byte, 4)), "short signature buffer")
}

// After ResetStreams a session protects its next message with a fresh RC4
// stream and the next sequence number: the state a session restored at
// that sequence number and stream position zero has, which is how a
// packed context records it.
func TestSessionResetStreams(t *testing.T) {
	client, server := sessions(t)
	mic := client.Sign([]byte("mechTypes"))
	require.NoError(t, server.Verify([]byte("mechTypes"), mic))
	mic = server.Sign([]byte("mechTypes"))
	require.NoError(t, client.Verify([]byte("mechTypes"), mic))
	client.ResetStreams()
	server.ResetStreams()
	st := client.State()
	assert.Equal(t, uint32(1), st.SendSeq)
	assert.Equal(t, uint32(1), st.RecvSeq)
	assert.Zero(t, st.SendStream)
	assert.Zero(t, st.RecvStream)

	// The same position, restored from scratch, makes the same bytes.
	twin, err := RestoreSession(st)
	require.NoError(t, err)
	msg := []byte("first message after the handshake")
	sealed, sig := client.Seal(msg)
	tSealed, tSig := twin.Seal(msg)
	assert.Equal(t, tSealed, sealed)
	assert.Equal(t, tSig, sig)
	assert.Equal(t, []byte{1, 0, 0, 0}, sig[12:], "sequence number 1: the MIC spent 0")
	plain, err := server.Unseal(sealed, sig)
	require.NoError(t, err)
	assert.Equal(t, msg, plain)

	// Without the reset the server's stream would be 8 bytes on (the
	// encrypted checksum of the MIC) and refuse the message.
	c2, s2 := sessions(t)
	require.NoError(t, s2.Verify([]byte("mechTypes"), c2.Sign([]byte("mechTypes"))))
	c2.ResetStreams()
	sealed, sig = c2.Seal(msg)
	_, err = s2.Unseal(sealed, sig)
	assert.ErrorIs(t, err, ErrMessageAltered)

	client.Destroy()
	client.ResetStreams() // no panic
}

// A state that carries the RC4 states restores to the same session as the
// older state that records only keystream positions and is replayed: the
// two forms are equivalent, so the saved cipher can stand in for any
// amount of traffic.
func TestCipherStateEqualsReplay(t *testing.T) {
	client, server := sessions(t)
	for i := 0; i < 40; i++ {
		sealed, sig := client.Seal(randomBytes(1000 + 7*i))
		_, err := server.Unseal(sealed, sig)
		require.NoError(t, err)
		sealed, sig = server.Seal(randomBytes(333))
		_, err = client.Unseal(sealed, sig)
		require.NoError(t, err)
	}
	st := server.State()
	require.Len(t, st.SendCipher, rc4.StateSize)
	require.Len(t, st.RecvCipher, rc4.StateSize)
	positions := st
	positions.SendCipher, positions.RecvCipher = nil, nil

	fromCipher, err := RestoreSession(st)
	require.NoError(t, err)
	fromReplay, err := RestoreSession(positions)
	require.NoError(t, err)
	if d := cmp.Diff(fromReplay.State(), fromCipher.State()); d != "" {
		t.Fatalf("the saved cipher and the replay differ:\n%s", d)
	}
	if d := cmp.Diff(st, fromCipher.State()); d != "" {
		t.Fatalf("the restored state differs:\n%s", d)
	}
	sealed, sig := client.Seal([]byte("after the export"))
	for _, s := range []*Session{server, fromCipher, fromReplay} {
		p, err := s.Unseal(sealed, sig)
		require.NoError(t, err)
		assert.Equal(t, []byte("after the export"), p)
	}
}

// With the cipher states present the recorded positions are only counted,
// never replayed: a state a gibibyte on, or beyond MaxRestoreStream,
// restores as quickly as one a few bytes on, and continues the same
// stream.
func TestCipherStateIgnoresPosition(t *testing.T) {
	client, server := sessions(t)
	sealed, sig := client.Seal([]byte("some traffic"))
	_, err := server.Unseal(sealed, sig)
	require.NoError(t, err)
	st := server.State()
	require.NotNil(t, st.RecvCipher)
	far := st
	far.RecvStream = 1 << 30
	farther := st
	farther.RecvStream = MaxRestoreStream + 1

	sealed, sig = client.Seal([]byte("next"))
	for _, x := range []SessionState{st, far, farther} {
		s, err := RestoreSession(x)
		require.NoError(t, err)
		assert.Equal(t, x.RecvStream, s.State().RecvStream)
		p, err := s.Unseal(sealed, sig)
		require.NoError(t, err)
		assert.Equal(t, []byte("next"), p)
		assert.Equal(t, x.RecvStream+uint64(len("next"))+8, s.State().RecvStream)
	}
}

// An RC4 state of the wrong length is refused on restore. One that is not
// a permutation is found when the first message loads it (restore only
// copies it, to stay cheap): that message fails and the session is
// destroyed.
func TestRestoreSessionRejectsBadCipher(t *testing.T) {
	client, server := sessions(t)
	sealed, sig := client.Seal([]byte("x"))
	_, err := server.Unseal(sealed, sig)
	require.NoError(t, err)
	st := server.State()
	short := st
	short.RecvCipher = st.RecvCipher[:10]
	_, err = RestoreSession(short)
	assert.ErrorIs(t, err, ErrMalformed)

	bad := st
	bad.RecvCipher = bytes.Clone(st.RecvCipher)
	bad.RecvCipher[0] = bad.RecvCipher[1] // not a permutation
	s, err := RestoreSession(bad)
	require.NoError(t, err)
	sealed, sig = client.Seal([]byte("y"))
	_, err = s.Unseal(sealed, sig)
	assert.ErrorIs(t, err, ErrMalformed)
	assert.Nil(t, s.Sign([]byte("z")), "the session is destroyed")
	assert.Equal(t, [16]byte{}, s.State().SessionKey)

	bad.SendCipher = bytes.Clone(bad.RecvCipher)
	bad.RecvCipher = st.RecvCipher
	s, err = RestoreSession(bad)
	require.NoError(t, err)
	assert.Nil(t, s.Sign([]byte("z")))
	s, err = RestoreSession(bad)
	require.NoError(t, err)
	sealed, sig = s.Seal([]byte("z"))
	assert.Nil(t, sealed)
	assert.Nil(t, sig)
}

// StateAt is the state a replay from the session key reaches: what
// RESET_NEW exports when the handshake left a stream a few bytes on.
func TestStateAt(t *testing.T) {
	client, server := sessions(t)
	mic := client.Sign([]byte("mechTypes"))
	require.NoError(t, server.Verify([]byte("mechTypes"), mic))
	base := server.State()
	for i := 0; i < 3; i++ {
		sealed, sig := client.Seal([]byte("traffic"))
		_, err := server.Unseal(sealed, sig)
		require.NoError(t, err)
	}
	at, err := server.StateAt(base.SendSeq, base.RecvSeq, base.SendStream, base.RecvStream)
	require.NoError(t, err)
	if d := cmp.Diff(base, at); d != "" {
		t.Fatal(d)
	}
	_, err = server.StateAt(0, 0, MaxRestoreStream+1, 0)
	assert.ErrorIs(t, err, ErrMalformed)
}

// Destroy zeroes the RC4 states with the keys.
func TestSessionDestroyZeroesCipher(t *testing.T) {
	client, server := sessions(t)
	sealed, sig := client.Seal([]byte("x"))
	_, err := server.Unseal(sealed, sig)
	require.NoError(t, err)
	c := server.recv.rc4
	server.Destroy()
	assert.Equal(t, rc4.Cipher{}, *c, "zeroed before it is dropped")
	assert.Nil(t, server.recv.rc4)
	assert.Equal(t, [16]byte{}, server.recv.sealKey)
}

// An imported session keeps its RC4 states in one pooled pair until each
// direction's first message loads its own: the pair goes back, zeroed,
// once neither waits, or when the session is destroyed first, and the
// state exported in between is the one imported.
func TestImportedStatesWaitInAPair(t *testing.T) {
	client, server := sessions(t)
	sealed, sig := client.Seal([]byte("to the server"))
	_, err := server.Unseal(sealed, sig)
	require.NoError(t, err)
	sealed, sig = server.Seal([]byte("to the client"))
	_, err = client.Unseal(sealed, sig)
	require.NoError(t, err)
	st := server.State()
	require.NotNil(t, st.SendCipher)
	require.NotNil(t, st.RecvCipher)

	imp, err := RestoreSession(st)
	require.NoError(t, err)
	pair := imp.saved
	require.NotNil(t, pair)
	assert.Same(t, &pair[0], imp.send.saved)
	assert.Same(t, &pair[1], imp.recv.saved)
	again := imp.State()
	assert.Equal(t, st.SendCipher, again.SendCipher, "exported before use: the imported bytes")
	assert.Equal(t, st.RecvCipher, again.RecvCipher)

	sealed, sig = imp.Seal([]byte("send loads its state"))
	plain, err := client.Unseal(sealed, sig)
	require.NoError(t, err)
	assert.Equal(t, []byte("send loads its state"), plain)
	assert.Nil(t, imp.send.saved)
	assert.Equal(t, [rc4.StateSize]byte{}, pair[0], "a loaded state is zeroed")
	assert.Same(t, pair, imp.saved, "receive still waits")

	sealed, sig = client.Seal([]byte("receive loads its state"))
	_, err = imp.Unseal(sealed, sig)
	require.NoError(t, err)
	assert.Nil(t, imp.saved, "neither waits: the pair went back")
	assert.Equal(t, savedPair{}, *pair)

	// Destroyed before any message: both states zeroed, the pair back.
	imp, err = RestoreSession(st)
	require.NoError(t, err)
	pair = imp.saved
	imp.Destroy()
	assert.Nil(t, imp.saved)
	assert.Equal(t, savedPair{}, *pair)

	// Reset drops them too.
	imp, err = RestoreSession(st)
	require.NoError(t, err)
	pair = imp.saved
	imp.Reset()
	assert.Nil(t, imp.saved)
	assert.Equal(t, savedPair{}, *pair)
}
