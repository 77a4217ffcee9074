package ntlm

import (
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// NoESSSession is NTLM session security without extended session security
// (MS-NLMP 3.4.4.1), in connection-oriented mode: the session a Windows
// client and server keep when the CHALLENGE did not grant
// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY. Both directions use the same
// sealing key, each with its own RC4 handle, and a signature is the CRC32
// of the message, RC4-encrypted with the sequence number, behind a zero
// RandomPad (Windows zeroes it; Wine's tests assert that on Windows).
//
// A failed Verify or Unseal leaves the session as it was. It is not safe
// for concurrent use.
type NoESSSession struct {
	key                    [16]byte
	flags                  uint32
	send, recv             *rc4.Cipher
	sendSeq, recvSeq       uint32
	sendStream, recvStream uint64 // keystream bytes consumed, for State
}

// NoESSState is what RestoreNoESSSession needs to rebuild a session: the
// key, the flags, and each direction's sequence number and keystream
// position.
type NoESSState struct {
	SessionKey             [16]byte
	Flags                  uint32
	SendSeq, RecvSeq       uint32
	SendStream, RecvStream uint64
}

// State returns the session's state; the caller should clear SessionKey.
func (s *NoESSSession) State() NoESSState {
	return NoESSState{SessionKey: s.key, Flags: s.flags, SendSeq: s.sendSeq, RecvSeq: s.recvSeq, SendStream: s.sendStream, RecvStream: s.recvStream}
}

// RestoreNoESSSession rebuilds a session from its state, running each RC4
// handle forward to its position.
func RestoreNoESSSession(st NoESSState) (*NoESSSession, error) {
	if st.SendStream > MaxRestoreStream || st.RecvStream > MaxRestoreStream {
		return nil, fmt.Errorf("%w: keystream position beyond %d", ErrMalformed, uint64(MaxRestoreStream))
	}
	s, err := NewNoESSSession(st.SessionKey[:], st.Flags)
	if err != nil {
		return nil, err
	}
	skipNoESS(s.send, st.SendStream)
	skipNoESS(s.recv, st.RecvStream)
	s.sendSeq, s.recvSeq, s.sendStream, s.recvStream = st.SendSeq, st.RecvSeq, st.SendStream, st.RecvStream
	return s, nil
}

// skipNoESS advances c by n keystream bytes.
func skipNoESS(c *rc4.Cipher, n uint64) {
	var buf [4096]byte
	for n > 0 {
		k := uint64(len(buf))
		if n < k {
			k = n
		}
		c.XORKeyStream(buf[:k], buf[:k])
		n -= k
	}
}

// NewNoESSSession derives the session for the negotiated flags from the
// ExportedSessionKey (MS-NLMP 3.4.5.3: the sealing key is the session key,
// weakened to 56 or 40 bits when LM_KEY was negotiated).
func NewNoESSSession(exportedSessionKey []byte, flags uint32) (*NoESSSession, error) {
	if len(exportedSessionKey) != 16 {
		return nil, fmt.Errorf("%w: session key of %d bytes, want 16", ErrMalformed, len(exportedSessionKey))
	}
	if flags&NegotiateExtendedSessionSecurity != 0 {
		return nil, fmt.Errorf("%w: extended session security is negotiated; use NewSession", ErrState)
	}
	s := &NoESSSession{flags: flags}
	copy(s.key[:], exportedSessionKey)
	seal := s.key
	if flags&NegotiateLMKey != 0 {
		if flags&Negotiate56 != 0 {
			seal[7] = 0xa0
			clear(seal[8:])
		} else {
			seal[5], seal[6], seal[7] = 0xe5, 0x38, 0xb0
			clear(seal[8:])
		}
		s.send, _ = rc4.NewCipher(seal[:8])
		s.recv, _ = rc4.NewCipher(seal[:8])
	} else {
		s.send, _ = rc4.NewCipher(seal[:])
		s.recv, _ = rc4.NewCipher(seal[:])
	}
	clear(seal[:])
	return s, nil
}

// SessionKey returns a copy of the ExportedSessionKey.
func (s *NoESSSession) SessionKey() []byte { return append([]byte(nil), s.key[:]...) }

// mac writes the signature of msg with handle c and sequence number seq
// (MS-NLMP 3.4.4.1).
func mac(c *rc4.Cipher, seq uint32, msg []byte, sig []byte) {
	var pad, sum, sn [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc32.ChecksumIEEE(msg))
	c.XORKeyStream(pad[:], pad[:]) // RandomPad: consumed, then zeroed
	c.XORKeyStream(sum[:], sum[:])
	c.XORKeyStream(sn[:], sn[:])
	binary.LittleEndian.PutUint32(sig[0:], 1)
	clear(sig[4:8])
	copy(sig[8:12], sum[:])
	binary.LittleEndian.PutUint32(sig[12:], binary.LittleEndian.Uint32(sn[:])^seq)
}

// Sign returns the signature of msg and advances the send state.
func (s *NoESSSession) Sign(msg []byte) []byte {
	sig := make([]byte, SignatureSize)
	mac(s.send, s.sendSeq, msg, sig)
	s.sendSeq++
	s.sendStream += 12
	return sig
}

// Verify checks a signature of the peer's.
func (s *NoESSSession) Verify(msg, sig []byte) error {
	c := *s.recv
	if err := s.check(&c, msg, sig); err != nil {
		return err
	}
	*s.recv = c
	s.recvSeq++
	s.recvStream += 12
	return nil
}

func (s *NoESSSession) check(c *rc4.Cipher, msg, sig []byte) error {
	if len(sig) != SignatureSize || binary.LittleEndian.Uint32(sig) != 1 {
		return fmt.Errorf("%w: not an NTLM signature", ErrMessageAltered)
	}
	var want [SignatureSize]byte
	mac(c, s.recvSeq, msg, want[:])
	if subtle.ConstantTimeCompare(want[8:12], sig[8:12]) != 1 {
		return fmt.Errorf("%w: checksum does not match", ErrMessageAltered)
	}
	if subtle.ConstantTimeCompare(want[12:], sig[12:]) != 1 {
		return fmt.Errorf("%w: sequence number %d expected", ErrOutOfSequence, s.recvSeq)
	}
	return nil
}

// Seal encrypts msg and signs its plaintext with the same handle, the data
// first (MS-NLMP 3.4.3).
func (s *NoESSSession) Seal(msg []byte) (sealed, sig []byte) {
	sealed = make([]byte, len(msg))
	s.send.XORKeyStream(sealed, msg)
	sig = make([]byte, SignatureSize)
	mac(s.send, s.sendSeq, msg, sig)
	s.sendSeq++
	s.sendStream += uint64(len(msg)) + 12
	return sealed, sig
}

// Unseal decrypts sealed and checks its signature.
func (s *NoESSSession) Unseal(sealed, sig []byte) ([]byte, error) {
	c := *s.recv
	plain := make([]byte, len(sealed))
	c.XORKeyStream(plain, sealed)
	if err := s.check(&c, plain, sig); err != nil {
		clear(plain)
		return nil, err
	}
	*s.recv = c
	s.recvSeq++
	s.recvStream += uint64(len(sealed)) + 12
	return plain, nil
}

// Destroy zeroes the keys.
func (s *NoESSSession) Destroy() {
	clear(s.key[:])
	*s.send, *s.recv = rc4.Cipher{}, rc4.Cipher{}
}
