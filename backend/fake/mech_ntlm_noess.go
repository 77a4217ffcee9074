package fake

import (
	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/internal/ntlm"
)

// noESSSession is NTLM session security without extended session security
// (MS-NLMP 3.4.4.1), for a CHALLENGE that did not grant it: Windows
// completes such a handshake and protects messages this way, so the fake
// does too.
type noESSSession struct {
	s      *ntlm.NoESSSession
	client bool
	base   ntlm.NoESSState // the position after the handshake, for RESET_NEW
}

// ntlmStateNoESS is the layout version of a no-ESS NTLM state in a packed
// context: the version 1 layout, under its own number so that a build
// without this session refuses it instead of misreading it.
const ntlmStateNoESS = 2

func newNoESSSession(key []byte, flags uint32, client bool) (*noESSSession, error) {
	s, err := ntlm.NewNoESSSession(key, flags)
	if err != nil {
		return nil, err
	}
	return &noESSSession{s: s, client: client}, nil
}

func (s *noESSSession) sizes() backend.Sizes { return ntlmSizes }

func (s *noESSSession) sign(msg, sig []byte) int { return copy(sig, s.s.Sign(msg)) }

func (s *noESSSession) verify(msg, sig []byte) error {
	if err := s.s.Verify(msg, sig); err != nil {
		return refuse(ntlmStatus(err), "", err)
	}
	return nil
}

func (s *noESSSession) seal(msg []byte) (sealed, sig []byte) { return s.s.Seal(msg) }

func (s *noESSSession) sealInPlace(msg, sig []byte) int {
	sealed, sg := s.s.Seal(msg)
	copy(msg, sealed)
	return copy(sig, sg)
}

func (s *noESSSession) unseal(sealed, sig []byte) ([]byte, error) {
	plain, err := s.s.Unseal(sealed, sig)
	if err != nil {
		return nil, refuse(ntlmStatus(err), "", err)
	}
	return plain, nil
}

func (s *noESSSession) unsealInPlace(msg, sig []byte) error {
	plain, err := s.s.Unseal(msg, sig)
	if err != nil {
		return refuse(ntlmStatus(err), "", err)
	}
	copy(msg, plain)
	clear(plain)
	return nil
}

func (s *noESSSession) sessionKey() []byte { return s.s.SessionKey() }

func (s *noESSSession) handshakeDone() {
	s.base = s.s.State()
	clear(s.base.SessionKey[:])
}

// appendState writes the version 1 layout of ntlmSession.appendState.
func (s *noESSSession) appendState(dst []byte, reset bool) (uint8, []byte) {
	st := s.s.State()
	defer clear(st.SessionKey[:])
	cur := counters{st.SendSeq, st.RecvSeq, st.SendStream, st.RecvStream}
	base := counters{s.base.SendSeq, s.base.RecvSeq, s.base.SendStream, s.base.RecvStream}
	return ntlmStateNoESS, appendNTLMLayout(dst, st.SessionKey[:], st.Flags, s.client, cur, base, reset)
}

func (s *noESSSession) destroy() { s.s.Destroy() }

// restoreNoESS rebuilds a no-ESS session from its packed state.
func restoreNoESS(state []byte, server bool) (session, *pkgDesc, error) {
	ss, base, err := decodeNTLMState(ntlmStateV1, state)
	if err != nil {
		return nil, nil, refuse(backend.StatusInvalidToken, "the package state does not decode", err)
	}
	defer clear(ss.SessionKey[:])
	if ss.Client == server {
		return nil, nil, refuse(backend.StatusInvalidToken, "the package state contradicts the context's side", nil)
	}
	s, err := ntlm.RestoreNoESSSession(ntlm.NoESSState{SessionKey: ss.SessionKey, Flags: ss.Flags,
		SendSeq: ss.SendSeq, RecvSeq: ss.RecvSeq, SendStream: ss.SendStream, RecvStream: ss.RecvStream})
	if err != nil {
		return nil, nil, refuse(backend.StatusInvalidToken, "the session state does not restore", err)
	}
	return &noESSSession{s: s, client: ss.Client, base: ntlm.NoESSState{SendSeq: base.sendSeq, RecvSeq: base.recvSeq,
		SendStream: base.sendStream, RecvStream: base.recvStream}}, nil, nil
}
