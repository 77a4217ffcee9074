package gss

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
)

// Sizes of per-message tokens with the AES encryption types.
const (
	// HeaderSize is the length of the header of MIC and Wrap tokens.
	HeaderSize = 16
	// MICSize is the length of a MIC token: the header and a 12-byte
	// checksum. It is Windows' cbMaxSignature for Kerberos with AES.
	MICSize = HeaderSize + kcrypto.MACSize
	// SealTrailerSize is the room SealInPlace needs besides the data: the
	// header, the confounder, the encrypted copy of the header and the
	// HMAC. It is Windows' cbSecurityTrailer for Kerberos with AES.
	SealTrailerSize = HeaderSize + kcrypto.ConfounderSize + HeaderSize + kcrypto.MACSize
	// SignTrailerSize is the room SealInPlace needs without
	// confidentiality: the header and the checksum.
	SignTrailerSize = HeaderSize + kcrypto.MACSize
	// sealRRC is the right rotation count of SealInPlace's tokens: it
	// brings the encrypted header copy and the HMAC (28 bytes) in front of
	// the ciphertext, next to the encrypted confounder, so that all the
	// data but the message itself is in the trailer.
	sealRRC = HeaderSize + kcrypto.MACSize
	// signRRC is the same for a token without confidentiality, whose only
	// trailing part is the checksum.
	signRRC = kcrypto.MACSize
)

// Flags of per-message tokens (RFC 4121 section 4.2.2).
const (
	flagSentByAcceptor = 0x01
	flagSealed         = 0x02
	flagAcceptorSubkey = 0x04
)

// Config describes an established context's message protection.
type Config struct {
	// Key protects the messages: the acceptor's subkey if it asserted one
	// in its AP-REP, else the initiator's subkey from the authenticator,
	// else the ticket's session key (RFC 4121 section 2). NewSession
	// keeps derived keys, not Key itself.
	Key *kcrypto.Key
	// AcceptorSubkey says that Key is the acceptor's subkey: every token
	// says so in its flags, and tokens that do not are refused.
	AcceptorSubkey bool
	// Acceptor says which side this is; tokens from the same side
	// (reflected) are refused.
	Acceptor bool
	// SendSeq is the sequence number of the next token this side makes;
	// RecvSeq is the one expected next from the peer. After a handshake
	// they are the initiator's and the acceptor's initial sequence numbers
	// (from the authenticator and the AP-REP), crossed on the acceptor.
	SendSeq, RecvSeq uint64
	// NoSequenceCheck accepts tokens regardless of their sequence number,
	// for a context that asked for neither replay nor sequence detection.
	NoSequenceCheck bool
	// Rand supplies confounders; nil means crypto/rand.
	Rand io.Reader
}

// Session makes and checks the per-message tokens of one side of an
// established context. It is not safe for concurrent use; a failed check
// leaves it as it was.
type Session struct {
	etype                  kcrypto.EType
	acceptor, acceptorSub  bool
	sendSeq, recvSeq       uint64
	noSeqCheck             bool
	rand                   io.Reader
	mySign, peerSign       *kcrypto.UsageKey
	mySeal, peerSeal       *kcrypto.UsageKey
	keys                   [4]kcrypto.UsageKey // what the four point to: one allocation with the session
	sendFlags, expectFlags byte
	scratch, out           []byte // buffers reused from call to call
}

// NewSession derives the keys of the four usages of RFC 4121 section 2
// from cfg.Key and returns a session that starts at cfg's sequence
// numbers.
func NewSession(cfg Config) (*Session, error) {
	if cfg.Key == nil {
		return nil, fmt.Errorf("gss: a session needs a key")
	}
	sign, seal := kcrypto.UsageGSSInitiatorSign, kcrypto.UsageGSSInitiatorSeal
	peerSign, peerSeal := kcrypto.UsageGSSAcceptorSign, kcrypto.UsageGSSAcceptorSeal
	if cfg.Acceptor {
		sign, seal, peerSign, peerSeal = peerSign, peerSeal, sign, seal
	}
	s := &Session{
		etype:    cfg.Key.EType(),
		acceptor: cfg.Acceptor, acceptorSub: cfg.AcceptorSubkey,
		sendSeq: cfg.SendSeq, recvSeq: cfg.RecvSeq,
		noSeqCheck: cfg.NoSequenceCheck,
		rand:       cfg.Rand,
	}
	for i, u := range [4]kcrypto.Usage{sign, seal, peerSign, peerSeal} {
		cfg.Key.DeriveInto(&s.keys[i], u)
	}
	s.mySign, s.mySeal, s.peerSign, s.peerSeal = &s.keys[0], &s.keys[1], &s.keys[2], &s.keys[3]
	if cfg.AcceptorSubkey {
		s.sendFlags |= flagAcceptorSubkey
		s.expectFlags |= flagAcceptorSubkey
	}
	if cfg.Acceptor {
		s.sendFlags |= flagSentByAcceptor
	} else {
		s.expectFlags |= flagSentByAcceptor
	}
	return s, nil
}

// Seq returns the sequence number of the next token this side makes and
// of the next one it expects, to save the session's position.
func (s *Session) Seq() (send, recv uint64) { return s.sendSeq, s.recvSeq }

// Zero overwrites the session's derived keys. It must not be used
// afterwards.
func (s *Session) Zero() {
	for _, k := range []*kcrypto.UsageKey{s.mySign, s.mySeal, s.peerSign, s.peerSeal} {
		if k != nil {
			k.Zero()
		}
	}
	clear(s.scratch)
	clear(s.out)
}

// header writes a token header for the next sequence number into h.
func (s *Session) header(h []byte, id TokenID, flags byte, ec, rrc uint16) {
	binary.BigEndian.PutUint16(h, uint16(id))
	h[2] = s.sendFlags | flags
	if id == TokMIC {
		copy(h[3:8], []byte{0xff, 0xff, 0xff, 0xff, 0xff})
	} else {
		h[3] = 0xff
		binary.BigEndian.PutUint16(h[4:], ec)
		binary.BigEndian.PutUint16(h[6:], rrc)
	}
	binary.BigEndian.PutUint64(h[8:], s.sendSeq)
}

// MIC returns the MIC token of msg (RFC 4121 section 4.2.6.1): the header
// and the checksum, under this side's sign usage, of msg followed by the
// header.
func (s *Session) MIC(msg []byte) []byte {
	tok := make([]byte, MICSize)
	s.header(tok, TokMIC, 0, 0, 0)
	copy(tok[HeaderSize:], s.mySign.Checksum(msg, tok[:HeaderSize]))
	s.sendSeq++
	return tok
}

// VerifyMIC checks the MIC token tok of msg from the peer.
func (s *Session) VerifyMIC(msg, tok []byte) error {
	if len(tok) != MICSize {
		return fmt.Errorf("%w: MIC token of %d bytes, want %d", ErrMalformed, len(tok), MICSize)
	}
	if TokenID(binary.BigEndian.Uint16(tok)) != TokMIC {
		return fmt.Errorf("%w: %v, not a MIC token", ErrMalformed, TokenID(binary.BigEndian.Uint16(tok)))
	}
	if subtle.ConstantTimeCompare(tok[3:8], []byte{0xff, 0xff, 0xff, 0xff, 0xff}) != 1 {
		return fmt.Errorf("%w: MIC token filler", ErrMalformed)
	}
	if err := s.checkFlags(tok[2], false); err != nil {
		return err
	}
	if err := s.peerSign.VerifyChecksum(tok[HeaderSize:], msg, tok[:HeaderSize]); err != nil {
		return fmt.Errorf("%w: MIC token: %w", ErrModified, err)
	}
	return s.accept(binary.BigEndian.Uint64(tok[8:]))
}

// checkFlags checks that a token came from the peer, under the key the
// session has, sealed or not as sealed says (for a Wrap token; MIC tokens
// never are).
func (s *Session) checkFlags(f byte, sealed bool) error {
	if f&^(flagSentByAcceptor|flagSealed|flagAcceptorSubkey) != 0 {
		return fmt.Errorf("%w: unknown token flags %#02x", ErrMalformed, f)
	}
	if f&flagSentByAcceptor != s.expectFlags&flagSentByAcceptor {
		return fmt.Errorf("%w: the token was sent by this side (reflected)", ErrModified)
	}
	if f&flagAcceptorSubkey != s.expectFlags&flagAcceptorSubkey {
		return fmt.Errorf("%w: the token's acceptor-subkey flag is %v, the context's %v", ErrModified,
			f&flagAcceptorSubkey != 0, s.acceptorSub)
	}
	if (f&flagSealed != 0) != sealed {
		return fmt.Errorf("%w: sealed flag on a MIC token", ErrMalformed)
	}
	return nil
}

// accept checks an authentic token's sequence number and moves past it.
func (s *Session) accept(seq uint64) error {
	if s.noSeqCheck {
		return nil
	}
	switch {
	case seq < s.recvSeq:
		return fmt.Errorf("%w: sequence number %d, expected %d (a replay or a reordering)", ErrOutOfSequence, seq, s.recvSeq)
	case seq > s.recvSeq:
		return fmt.Errorf("%w: sequence number %d, expected %d (messages are missing)", ErrOutOfSequence, seq, s.recvSeq)
	}
	s.recvSeq++
	return nil
}

// Wrap returns the Wrap token of msg (RFC 4121 section 4.2.6.2), sealed
// when conf is true, with a right rotation count of 0: the header, then
// either the encryption of msg and a copy of the header, or msg and its
// checksum.
func (s *Session) Wrap(msg []byte, conf bool) ([]byte, error) {
	if !conf {
		tok := make([]byte, HeaderSize, HeaderSize+len(msg)+kcrypto.MACSize)
		s.header(tok, TokWrap, 0, 0, 0)
		sum := s.mySeal.Checksum(msg, tok[:HeaderSize])
		binary.BigEndian.PutUint16(tok[4:], kcrypto.MACSize)
		tok = append(append(tok, msg...), sum...)
		s.sendSeq++
		return tok, nil
	}
	tok := make([]byte, HeaderSize, HeaderSize+kcrypto.ConfounderSize+len(msg)+HeaderSize+kcrypto.MACSize)
	s.header(tok, TokWrap, flagSealed, 0, 0)
	tok, err := s.mySeal.AppendEncrypt(tok, s.rand, msg, tok[:HeaderSize])
	if err != nil {
		return nil, fmt.Errorf("gss: %w", err)
	}
	s.sendSeq++
	return tok, nil
}

// Unwrap checks and opens the Wrap token tok from the peer, whatever its
// rotation and filler, and returns the message and whether it was sealed.
func (s *Session) Unwrap(tok []byte) (msg []byte, sealed bool, err error) {
	if len(tok) < HeaderSize {
		return nil, false, fmt.Errorf("%w: Wrap token of %d bytes", ErrMalformed, len(tok))
	}
	return s.unwrap(tok[:HeaderSize], tok[HeaderSize:], nil, nil, -1)
}

// unwrap checks a Wrap token given as its header and the rest, in two
// parts (b1 then b2), and returns the message: appended to dst, or when
// dst is nil, in a new slice. A message not of length want (unless it is
// -1) is refused. It changes nothing but the sequence number, and that
// only when the token is good.
func (s *Session) unwrap(hdr, b1, b2, dst []byte, want int) (msg []byte, sealed bool, err error) {
	if TokenID(binary.BigEndian.Uint16(hdr)) != TokWrap {
		return nil, false, fmt.Errorf("%w: %v, not a Wrap token", ErrMalformed, TokenID(binary.BigEndian.Uint16(hdr)))
	}
	if hdr[3] != 0xff {
		return nil, false, fmt.Errorf("%w: Wrap token filler %#02x", ErrMalformed, hdr[3])
	}
	sealed = hdr[2]&flagSealed != 0
	if err := s.checkFlags(hdr[2], sealed); err != nil {
		return nil, false, err
	}
	ec, rrc := int(binary.BigEndian.Uint16(hdr[4:])), int(binary.BigEndian.Uint16(hdr[6:]))
	// Undo the rotation: the token's body rotated left by RRC.
	n := len(b1) + len(b2)
	if n == 0 {
		rrc = 0
	} else {
		rrc %= n
	}
	var body []byte
	if rrc == 0 && len(b2) == 0 {
		body = b1 // in one piece and in order already: read it where it is
	} else {
		s.scratch = grow(s.scratch, n)
		body = s.scratch
		if rrc <= len(b1) {
			copy(body[copy(body, b1[rrc:]):], b2)
		} else {
			copy(body, b2[rrc-len(b1):])
		}
		tail := body[n-rrc:]
		copy(tail[copy(tail, b1):], b2)
	}
	seq := binary.BigEndian.Uint64(hdr[8:])

	if !sealed {
		if ec != kcrypto.MACSize || n < ec {
			return nil, false, fmt.Errorf("%w: unsealed Wrap token with EC %d and %d bytes", ErrMalformed, ec, n)
		}
		var h [HeaderSize]byte
		copy(h[:], hdr)
		clear(h[4:8]) // EC and RRC are zero in the checksum (RFC 4121 section 4.2.4)
		data := body[:n-ec]
		if err := s.peerSeal.VerifyChecksum(body[n-ec:], data, h[:]); err != nil {
			return nil, false, fmt.Errorf("%w: Wrap token: %w", ErrModified, err)
		}
		if want >= 0 && len(data) != want {
			return nil, false, fmt.Errorf("%w: the token holds %d bytes of message for a %d-byte buffer", ErrMalformed, len(data), want)
		}
		if err := s.accept(seq); err != nil {
			return nil, false, err
		}
		if dst == nil {
			dst = make([]byte, 0, len(data))
		}
		return append(dst, data...), false, nil
	}

	start := len(dst)
	out, err := s.peerSeal.AppendDecrypt(dst, body)
	if err != nil {
		return nil, false, fmt.Errorf("%w: Wrap token: %w", ErrModified, err)
	}
	pt := out[start:]
	if len(pt) < ec+HeaderSize {
		clear(pt)
		return nil, false, fmt.Errorf("%w: sealed Wrap token too short for EC %d", ErrModified, ec)
	}
	// The encrypted copy of the header must be the header, except for
	// RRC, which the sender leaves at zero there (RFC 4121 section
	// 4.2.4).
	var h [HeaderSize]byte
	copy(h[:], hdr)
	clear(h[6:8])
	if subtle.ConstantTimeCompare(h[:], pt[len(pt)-HeaderSize:]) != 1 {
		clear(pt)
		return nil, false, fmt.Errorf("%w: the encrypted header differs from the token's", ErrModified)
	}
	if m := len(pt) - ec - HeaderSize; want >= 0 && m != want {
		clear(pt)
		return nil, false, fmt.Errorf("%w: the token holds %d bytes of message for a %d-byte buffer", ErrMalformed, m, want)
	}
	if err := s.accept(seq); err != nil {
		clear(pt)
		return nil, false, err
	}
	return out[:len(out)-ec-HeaderSize], true, nil
}

// SealInPlace makes a Wrap token in the buffer layout of Windows'
// EncryptMessage: msg is replaced by its ciphertext (or left as it is
// when conf is false) and trailer, which needs SealTrailerSize bytes
// (SignTrailerSize without conf), receives the header and the rest of the
// token. It returns the length of the trailer. The trailer followed by
// msg is an RFC 4121 Wrap token with a right rotation count of 28 (12
// without conf).
func (s *Session) SealInPlace(msg, trailer []byte, conf bool) (int, error) {
	if !conf {
		if len(trailer) < SignTrailerSize {
			return 0, fmt.Errorf("gss: a trailer of %d bytes, %d needed", len(trailer), SignTrailerSize)
		}
		h := trailer[:HeaderSize]
		s.header(h, TokWrap, 0, 0, 0)
		sum := s.mySeal.Checksum(msg, h)
		binary.BigEndian.PutUint16(h[4:], kcrypto.MACSize)
		binary.BigEndian.PutUint16(h[6:], signRRC)
		copy(trailer[HeaderSize:], sum)
		s.sendSeq++
		return SignTrailerSize, nil
	}
	if len(trailer) < SealTrailerSize {
		return 0, fmt.Errorf("gss: a trailer of %d bytes, %d needed", len(trailer), SealTrailerSize)
	}
	var h [HeaderSize]byte
	s.header(h[:], TokWrap, flagSealed, 0, 0)
	ct, err := s.mySeal.AppendEncrypt(s.scratch[:0], s.rand, msg, h[:])
	s.scratch = ct
	if err != nil {
		return 0, fmt.Errorf("gss: %w", err)
	}
	// ct is confounder | msg | header, encrypted, then the HMAC. Rotated
	// right by 28 it reads: its last 28 bytes, the encrypted confounder,
	// the encrypted message.
	binary.BigEndian.PutUint16(h[6:], sealRRC)
	copy(trailer, h[:])
	n := len(ct)
	copy(trailer[HeaderSize:], ct[n-sealRRC:])
	copy(trailer[HeaderSize+sealRRC:], ct[:kcrypto.ConfounderSize])
	copy(msg, ct[kcrypto.ConfounderSize:n-sealRRC])
	s.sendSeq++
	return SealTrailerSize, nil
}

// UnsealInPlace checks and opens a Wrap token in the buffer layout of
// Windows' DecryptMessage: the token's first bytes in trailer, the rest
// in msg, which receives the message in place. It returns whether the
// token was sealed. On failure msg is left as it was.
//
// Which bytes go in the trailer is the sender's choice; the rotation
// count says how the token reads, and a token whose trailer holds more
// or less than the header and the rotated part is read the same way, as
// long as msg keeps its length: the message is as long as msg.
func (s *Session) UnsealInPlace(msg, trailer []byte) (sealed bool, err error) {
	if len(trailer) < HeaderSize {
		return false, fmt.Errorf("%w: trailer of %d bytes", ErrMalformed, len(trailer))
	}
	out, sealed, err := s.unwrap(trailer[:HeaderSize], trailer[HeaderSize:], msg, s.out[:0], len(msg))
	if err != nil {
		return false, err
	}
	s.out = out
	copy(msg, out)
	clear(out)
	return sealed, nil
}

// grow returns b extended to n bytes, reusing its array when it can.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}
