package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"

	"github.com/gosspi/gosspi/internal/rc4"
)

// SignatureSize is the size of an NTLMSSP_MESSAGE_SIGNATURE (cbMaxSignature
// and cbSecurityTrailer of the NTLM package).
const SignatureSize = 16

// MaxRestoreStream bounds the keystream positions RestoreSession replays
// for a state that records a position instead of the cipher (what packed
// contexts held before the cipher state could be saved). Fast-forwarding
// RC4 costs about a second per few hundred MiB, so an implausible position
// (1 TiB) is refused instead of hanging the caller.
const MaxRestoreStream = 1 << 40

// direction is the per-direction state: keys, the RC4 stream that runs for
// the whole session, the sequence number and the keystream position.
//
// The keys, the RC4 key schedule and the HMAC pads are set up on first use
// rather than in NewSession or RestoreSession: the handshake and import are
// latency-critical, and many contexts never sign or seal in one of the
// directions.
type direction struct {
	fromClient bool
	keyed      bool // signKey and sealKey are set
	started    bool // rc4 is keyed or restored
	// saved, when not nil, holds an imported RC4 state not yet loaded
	// into rc4. Loading checks that it is a permutation and widens it, a
	// few thousand instructions, which would double what an import costs;
	// so it waits for the first message, like the key schedule. It is
	// the direction's half of the Session's savedPair, or the state where
	// the Session's holder keeps it; zeroed once loaded or dropped.
	saved   *[rc4.StateSize]byte
	signKey [16]byte
	sealKey [16]byte
	mac     hash.Hash // HMAC_MD5 keyed with signKey, reused across messages; see hmac
	// stackMACs counts checksums made without mac, and sum receives mac's
	// output, which through the interface would otherwise escape to the
	// heap on every message.
	stackMACs uint8
	sum       [md5.Size]byte
	seqb      [4]byte // the sequence number hashed, here for the same reason
	seq       uint32
	stream    uint64      // keystream bytes consumed, for State and RESET_NEW
	rc4       *rc4.Cipher // allocated on first use: a kibibyte, most of a Session's size
}

// ensure derives the keys and sets up the RC4 stream on first use (the
// HMAC is hmac's business). It is deterministic, so a failed Verify may leave it done without
// changing observable state. It fails only for an imported RC4 state that
// is not a permutation, which an authentic packed context never holds.
func (d *direction) ensure(exported []byte, flags uint32) error {
	if d.saved != nil {
		if d.rc4 == nil {
			d.rc4 = new(rc4.Cipher)
		}
		err := d.rc4.SetState(d.saved[:])
		d.dropSaved()
		if err != nil {
			return fmt.Errorf("%w: imported RC4 state: %v", ErrMalformed, err)
		}
	}
	d.deriveKeys(exported, flags)
	if !d.started {
		if d.rc4 == nil {
			d.rc4 = new(rc4.Cipher)
		}
		_ = d.rc4.Init(d.sealKey[:]) // a 16-byte key never fails
		// A mechListMIC made or checked on a stack cipher (SignMIC,
		// VerifyMIC) left the stream unstarted but moved on.
		skip(d.rc4, d.stream)
		d.started = true
	}
	return nil
}

// deriveKeys sets signKey and sealKey on first use.
func (d *direction) deriveKeys(exported []byte, flags uint32) {
	if !d.keyed {
		d.signKey = signKey(exported, d.fromClient)
		d.sealKey = sealKey(exported, flags, d.fromClient)
		d.keyed = true
	}
}

// onStack reports whether d's next checksum can be made on a cipher keyed
// on the stack and dropped (SignMIC, VerifyMIC): the checksum is
// encrypted, and the stream is unstarted at its start, nothing imported.
func (s *Session) onStack(d *direction) bool {
	return s.keyExch() && !d.started && d.stream == 0 && !s.destroyed
}

// reset restarts the direction at the post-handshake state.
func (d *direction) reset() {
	d.resetStream()
	d.seq = 0
}

// resetStream restarts the RC4 stream at the start of the sealing key's
// keystream; the next ensure schedules the key afresh.
func (d *direction) resetStream() {
	if d.rc4 != nil {
		d.rc4.Reset() // kept for the next key schedule
	}
	d.dropSaved()
	d.started = false
	d.stream = 0
}

// savedPair is where a Session's imported RC4 states wait (see
// direction.saved): send then receive.
type savedPair [2][rc4.StateSize]byte

// savedPairs holds savedPairs, zeroed. A Session takes one only while it
// has an imported state not yet loaded, so one without (every new or
// idle one) is a quarter of the size, and the memory an import copies
// the states into is warm rather than freshly allocated.
var savedPairs = sync.Pool{New: func() any { return new(savedPair) }}

// dropSaved zeroes the imported RC4 state, if any; the Session gives
// the pair back once neither direction has one (releaseSaved).
func (d *direction) dropSaved() {
	if d.saved == nil {
		return
	}
	clear(d.saved[:])
	d.saved = nil
}

// setSaved keeps a copy of an imported RC4 state for d's first message.
func (s *Session) setSaved(d *direction, state []byte) {
	if s.saved == nil {
		s.saved = savedPairs.Get().(*savedPair)
	}
	i := 0
	if d == &s.recv {
		i = 1
	}
	d.saved = &s.saved[i]
	copy(d.saved[:], state)
}

// releaseSaved gives the pair back, or releases the holder, once neither
// direction has a state waiting; what they held is zero by then.
func (s *Session) releaseSaved() {
	if s.send.saved != nil || s.recv.saved != nil {
		return
	}
	if s.saved != nil {
		savedPairs.Put(s.saved)
		s.saved = nil
	}
	if h := s.holder; h != nil {
		s.holder = nil
		h.Release()
	}
}

// checksum computes the 8-byte checksum of MS-NLMP 3.4.4.2 with the given
// RC4 stream (a copy, for the receive side). It returns the keystream bytes
// consumed.
func (d *direction) checksum(c *rc4.Cipher, seq uint32, msg []byte, keyExch bool, out []byte) uint64 {
	sum := d.hmac(seq, msg)
	if keyExch {
		c.XORKeyStream(out[:8], sum[:8])
		return 8
	}
	copy(out[:8], sum[:8])
	return 0
}

// hmac is HMAC_MD5(signKey, seq || msg). The first short message of a
// direction (in SPNEGO, the mechListMIC, often the only one) is hashed
// from the stack; later ones, and long ones, by mac, set up here on first
// use, whose precomputed pads save two MD5 blocks a message.
func (d *direction) hmac(seq uint32, msg []byte) [md5.Size]byte {
	binary.LittleEndian.PutUint32(d.seqb[:], seq)
	if d.mac == nil {
		if d.stackMACs == 0 && len(msg) <= hmacSmall {
			d.stackMACs++
			return hmacMD5Sum(d.signKey[:], d.seqb[:], msg)
		}
		d.mac = hmac.New(md5.New, d.signKey[:])
	}
	d.mac.Reset()
	d.mac.Write(d.seqb[:])
	d.mac.Write(msg)
	d.mac.Sum(d.sum[:0])
	sum := d.sum
	clear(d.sum[:])
	return sum
}

func (d *direction) wipe() {
	clear(d.signKey[:])
	clear(d.sealKey[:])
	if d.rc4 != nil {
		d.rc4.Reset()
		d.rc4 = nil
	}
	d.dropSaved()
	d.mac = nil
	d.stackMACs = 0
	d.keyed, d.started = false, false
}

// Session is NTLM session security (MS-NLMP 3.4) for NTLMv2 with extended
// session security in connection-oriented mode: one RC4 stream per direction
// for the whole session, HMAC_MD5 checksums, and a sequence number per
// direction.
//
// A failed Verify or Unseal leaves the session untouched (no sequence number
// consumed, no keystream advanced), so a rejected replay or forgery does not
// desynchronise an otherwise healthy context. A Session is not safe for
// concurrent use; the backend serializes calls on a context.
type Session struct {
	key       [16]byte // ExportedSessionKey
	flags     uint32
	client    bool
	send      direction
	recv      direction
	saved     *savedPair // from savedPairs while a direction's saved points into it
	holder    Holder     // owns what the directions' saved point into, if not saved
	destroyed bool
}

// NewSession derives the client and server signing and sealing keys from the
// ExportedSessionKey (MS-NLMP 3.4.5) for the side given by client. flags are
// the negotiated flags; they must include extended session security, the only
// mode implemented, and choose the seal key strength (128, 56 or 40 bits) and
// whether checksums are encrypted (KEY_EXCH).
func NewSession(exportedSessionKey []byte, flags uint32, client bool) (*Session, error) {
	s := new(Session)
	if err := s.init(exportedSessionKey, flags, client); err != nil {
		return nil, err
	}
	return s, nil
}

// Init is NewSession into s, for a caller that holds the Session inside
// another allocation.
func (s *Session) Init(exportedSessionKey []byte, flags uint32, client bool) error {
	return s.init(exportedSessionKey, flags, client)
}

func (s *Session) init(exportedSessionKey []byte, flags uint32, client bool) error {
	if len(exportedSessionKey) != 16 {
		return fmt.Errorf("%w: session key of %d bytes, want 16", ErrMalformed, len(exportedSessionKey))
	}
	if flags&NegotiateExtendedSessionSecurity == 0 {
		return fmt.Errorf("%w: session security without extended session security", ErrUnsupported)
	}
	// An imported RC4 state s still holds is zeroed and given back, not
	// dropped with its buffer.
	s.send.dropSaved()
	s.recv.dropSaved()
	s.releaseSaved()
	*s = Session{flags: flags, client: client}
	copy(s.key[:], exportedSessionKey)
	s.send.fromClient = client
	s.recv.fromClient = !client
	return nil
}

func (s *Session) keyExch() bool { return s.flags&NegotiateKeyExch != 0 }

// ready sets d up for a message. A direction whose imported RC4 state
// turns out not to be a permutation cannot go on, and neither can the
// session: it is destroyed, and the message fails as it would after
// Destroy.
func (s *Session) ready(d *direction) error {
	err := d.ensure(s.key[:], s.flags)
	if err != nil {
		s.Destroy()
		return err
	}
	if s.saved != nil || s.holder != nil {
		s.releaseSaved()
	}
	return nil
}

// Sign returns the NTLMSSP_MESSAGE_SIGNATURE of msg (MS-NLMP 3.4.4.2) and
// advances the send sequence number. It returns nil after Destroy.
func (s *Session) Sign(msg []byte) []byte {
	if s.destroyed {
		return nil
	}
	sig := make([]byte, SignatureSize)
	if !s.signInto(sig, msg) {
		return nil
	}
	return sig
}

// SignInto is Sign writing the signature into sig (SignatureSize bytes).
// It returns false after Destroy or if sig is too short.
func (s *Session) SignInto(msg, sig []byte) bool {
	if s.destroyed || len(sig) < SignatureSize {
		return false
	}
	return s.signInto(sig, msg)
}

func (s *Session) signInto(sig, msg []byte) bool {
	d := &s.send
	if s.ready(d) != nil {
		return false
	}
	binary.LittleEndian.PutUint32(sig[0:], 1)
	d.stream += d.checksum(d.rc4, d.seq, msg, s.keyExch(), sig[4:12])
	binary.LittleEndian.PutUint32(sig[12:], d.seq)
	d.seq++
	return true
}

// SignMIC is Sign, into sig (SignatureSize bytes), for a message after
// which both RC4 streams restart (ResetStreams): SPNEGO's mechListMIC.
// On a stream that has not started, the checksum is encrypted with a
// cipher keyed on the stack and dropped, and the stream stays unstarted:
// a Negotiate handshake does not allocate and keep a cipher that the
// restart would throw away, and most Negotiate contexts (HTTP's) never
// protect a message after it. Should a message come without the restart,
// the stream starts then, past the bytes the checksum used. It returns
// false after Destroy or if sig is too short.
func (s *Session) SignMIC(msg, sig []byte) bool {
	if s.destroyed || len(sig) < SignatureSize {
		return false
	}
	d := &s.send
	if !s.onStack(d) {
		return s.signInto(sig, msg)
	}
	binary.LittleEndian.PutUint32(sig[0:], 1)
	d.stream += s.stackChecksum(d, msg, sig[4:12])
	binary.LittleEndian.PutUint32(sig[12:], d.seq)
	d.seq++
	return true
}

// stackChecksum is d's encrypted checksum of msg at its sequence number,
// into out, made with a cipher keyed on the stack for it (onStack). It
// returns the keystream bytes it used.
func (s *Session) stackChecksum(d *direction, msg, out []byte) uint64 {
	d.deriveKeys(s.key[:], s.flags)
	var c rc4.Cipher
	_ = c.Init(d.sealKey[:]) // a 16-byte key never fails
	n := d.checksum(&c, d.seq, msg, true, out)
	c.Reset()
	return n
}

// VerifyMIC is Verify for a message after which both RC4 streams
// restart, with SignMIC's stack cipher.
func (s *Session) VerifyMIC(msg, sig []byte) error {
	if err := s.checkSig(sig); err != nil {
		return err
	}
	d := &s.recv
	if !s.onStack(d) {
		return s.Verify(msg, sig)
	}
	var want [8]byte
	n := s.stackChecksum(d, msg, want[:])
	if subtle.ConstantTimeCompare(want[:], sig[4:12]) != 1 {
		return fmt.Errorf("%w: checksum mismatch", ErrMessageAltered)
	}
	d.stream += n
	d.seq++
	return nil
}

// Seal encrypts msg and returns it with its signature (MS-NLMP 3.4.3): the
// message is encrypted with the send RC4 stream, then the checksum of the
// plaintext is encrypted with the same stream. It returns nils after
// Destroy.
func (s *Session) Seal(msg []byte) (sealed, sig []byte) {
	if s.destroyed {
		return nil, nil
	}
	sealed = bytes.Clone(msg)
	sig = make([]byte, SignatureSize)
	if !s.SealInPlace(sealed, sig) {
		return nil, nil
	}
	return sealed, sig
}

// SealInPlace is Seal that encrypts msg in place and writes the signature
// into sig (SignatureSize bytes), so large messages cost no copies. It
// returns false after Destroy or if sig is too short.
func (s *Session) SealInPlace(msg, sig []byte) bool {
	if s.destroyed || len(sig) < SignatureSize {
		return false
	}
	d := &s.send
	if s.ready(d) != nil {
		return false
	}
	// The checksum covers the plaintext, but its RC4 bytes come after the
	// message's in the stream: MAC first, then encrypt, then seal the MAC.
	sum := d.hmac(d.seq, msg)
	d.rc4.XORKeyStream(msg, msg)
	d.stream += uint64(len(msg))
	binary.LittleEndian.PutUint32(sig[0:], 1)
	if s.keyExch() {
		d.rc4.XORKeyStream(sig[4:12], sum[:8])
		d.stream += 8
	} else {
		copy(sig[4:12], sum[:8])
	}
	binary.LittleEndian.PutUint32(sig[12:], d.seq)
	d.seq++
	return true
}

// checkSig validates the signature's form and sequence number without
// touching the state.
func (s *Session) checkSig(sig []byte) error {
	if s.destroyed {
		return fmt.Errorf("%w: session destroyed", ErrMessageAltered)
	}
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: signature of %d bytes, want %d", ErrMessageAltered, len(sig), SignatureSize)
	}
	if v := binary.LittleEndian.Uint32(sig); v != 1 {
		return fmt.Errorf("%w: signature version %d", ErrMessageAltered, v)
	}
	// The sequence number travels in clear with extended session security,
	// and a replayed checksum could never verify anyway because the RC4
	// stream has moved on, so a wrong number is reported as what it is.
	if seq := binary.LittleEndian.Uint32(sig[12:]); seq != s.recv.seq {
		return fmt.Errorf("%w: sequence number %d, expected %d", ErrOutOfSequence, seq, s.recv.seq)
	}
	return nil
}

// Verify checks sig against msg (MS-NLMP 3.4.4): ErrOutOfSequence when the
// signature's sequence number is not the next expected one (replay, loss or
// reordering), ErrMessageAltered when the checksum differs or sig is not a
// 16-byte version-1 signature. On error the session state is unchanged.
func (s *Session) Verify(msg, sig []byte) error {
	if err := s.checkSig(sig); err != nil {
		return err
	}
	d := &s.recv
	if err := s.ready(d); err != nil {
		return err
	}
	c := *d.rc4 // work on a copy; commit only on success
	var want [8]byte
	n := d.checksum(&c, d.seq, msg, s.keyExch(), want[:])
	if subtle.ConstantTimeCompare(want[:], sig[4:12]) != 1 {
		c.Reset()
		return fmt.Errorf("%w: checksum mismatch", ErrMessageAltered)
	}
	*d.rc4 = c
	c.Reset()
	d.stream += n
	d.seq++
	return nil
}

// Unseal decrypts sealed and verifies sig over the plaintext, with the same
// errors as Verify. sealed is not modified; on error nothing is returned and
// the session state is unchanged.
func (s *Session) Unseal(sealed, sig []byte) ([]byte, error) {
	if err := s.checkSig(sig); err != nil {
		return nil, err
	}
	plain := bytes.Clone(sealed)
	if err := s.UnsealInPlace(plain, sig); err != nil {
		clear(plain)
		return nil, err
	}
	return plain, nil
}

// UnsealInPlace is Unseal that decrypts sealed in place. On error sealed
// is restored to its input bytes and the session state is unchanged.
func (s *Session) UnsealInPlace(sealed, sig []byte) error {
	if err := s.checkSig(sig); err != nil {
		return err
	}
	d := &s.recv
	if err := s.ready(d); err != nil {
		return err
	}
	c := *d.rc4 // work on a copy; commit only on success
	c.XORKeyStream(sealed, sealed)
	var want [8]byte
	n := d.checksum(&c, d.seq, sealed, s.keyExch(), want[:])
	if subtle.ConstantTimeCompare(want[:], sig[4:12]) != 1 {
		c = *d.rc4
		c.XORKeyStream(sealed, sealed) // re-encrypt: the caller's bytes come back
		c.Reset()
		return fmt.Errorf("%w: checksum mismatch", ErrMessageAltered)
	}
	*d.rc4 = c
	c.Reset()
	d.stream += uint64(len(sealed)) + n
	d.seq++
	return nil
}

// SessionState is the exportable state of a Session.
//
// Each direction's RC4 stream travels as the cipher's own state
// (SendCipher, RecvCipher: rc4.StateSize bytes each), so restoring costs
// the same whatever the session has carried. A nil cipher state means the
// stream is where the sealing key's keystream starts if its position is
// zero; with a non-zero position it means the state predates saved cipher
// states, and RestoreSession replays the keystream up to the position.
type SessionState struct {
	SessionKey             [16]byte // ExportedSessionKey
	Flags                  uint32
	Client                 bool
	SendSeq, RecvSeq       uint32
	SendStream, RecvStream uint64 // keystream bytes consumed
	SendCipher, RecvCipher []byte
	// Holder, if set, owns the memory SendCipher and RecvCipher are in
	// and lets a Session restored from this state keep them there instead
	// of copying them: the import's own decryption buffer. The Session
	// then zeroes them and calls Release once it needs them no longer
	// (when its first messages have loaded them, or it is reset or
	// destroyed); until then the holder leaves them alone. Release is
	// called once if Restore succeeds with a cipher state, never if it
	// fails.
	Holder Holder
}

// A Holder owns memory a restored Session keeps imported RC4 states in
// (SessionState.Holder).
type Holder interface {
	Release()
}

// State returns the current state, for export. The key and the cipher
// states are copies the caller should zero when done (st.Wipe).
func (s *Session) State() SessionState {
	st := SessionState{
		SessionKey: s.key,
		Flags:      s.flags,
		Client:     s.client,
		SendSeq:    s.send.seq,
		RecvSeq:    s.recv.seq,
		SendStream: s.send.stream,
		RecvStream: s.recv.stream,
	}
	// A stream still at position zero needs no saved state: the key
	// schedule on first use recreates it, and the state stays small.
	send, recv := s.send.started && s.send.stream > 0, s.recv.started && s.recv.stream > 0
	if send || recv {
		buf := make([]byte, 0, 2*rc4.StateSize)
		if send {
			buf = s.send.appendCipher(buf)
			st.SendCipher = buf[:rc4.StateSize:rc4.StateSize]
		}
		if recv {
			at := len(buf)
			buf = s.recv.appendCipher(buf)
			st.RecvCipher = buf[at:]
		}
	}
	return st
}

// appendCipher appends the direction's RC4 state, which is still the
// imported bytes if no message has used it.
func (d *direction) appendCipher(dst []byte) []byte {
	if d.saved != nil {
		return append(dst, d.saved[:]...)
	}
	return d.rc4.AppendState(dst)
}

// Wipe zeroes the key and the cipher states of st.
func (st *SessionState) Wipe() {
	clear(st.SessionKey[:])
	clear(st.SendCipher)
	clear(st.RecvCipher)
}

// RestoreSession rebuilds a Session from State, continuing exactly where it
// stood. With the cipher states present this is constant work; a state
// without them (an older packed context) is replayed, at a cost linear in
// its keystream positions, and positions above MaxRestoreStream are
// refused.
func RestoreSession(st SessionState) (*Session, error) {
	s := new(Session)
	if err := s.Restore(st); err != nil {
		return nil, err
	}
	return s, nil
}

// Restore is RestoreSession into s, so a Session can live inside a larger
// value and an import costs one allocation fewer. Whatever s held is
// overwritten, not wiped; after an error s must not be used.
func (s *Session) Restore(st SessionState) error {
	if err := s.init(st.SessionKey[:], st.Flags, st.Client); err != nil {
		return err
	}
	dirs := [...]struct {
		d      *direction
		seq    uint32
		n      uint64
		cipher []byte
	}{{&s.send, st.SendSeq, st.SendStream, st.SendCipher}, {&s.recv, st.RecvSeq, st.RecvStream, st.RecvCipher}}
	// Everything is checked before anything is kept, so a failed Restore
	// never owes its holder a Release.
	for _, x := range dirs {
		switch {
		case x.cipher != nil && len(x.cipher) != rc4.StateSize:
			s.Destroy()
			return fmt.Errorf("%w: RC4 state of %d bytes, want %d", ErrMalformed, len(x.cipher), rc4.StateSize)
		case x.cipher == nil && x.n > MaxRestoreStream:
			s.Destroy()
			return fmt.Errorf("%w: keystream position beyond %d bytes", ErrMalformed, uint64(MaxRestoreStream))
		}
	}
	for _, x := range dirs {
		switch {
		case x.cipher != nil:
			// The keys and the cipher are set up on first use (ensure),
			// so the import of a busy context costs no more than an idle
			// one's: the state is kept where its holder has it, or
			// copied.
			if st.Holder != nil {
				x.d.saved = (*[rc4.StateSize]byte)(x.cipher)
				s.holder = st.Holder
			} else {
				s.setSaved(x.d, x.cipher)
			}
			x.d.started = true
		case x.n > 0: // position zero stays lazy: importing must be cheap
			_ = x.d.ensure(s.key[:], s.flags) // nothing pending: never fails
			skip(x.d.rc4, x.n)
		}
		x.d.stream = x.n
		x.d.seq = x.seq
	}
	return nil
}

// skip advances c by n keystream bytes.
func skip(c *rc4.Cipher, n uint64) {
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

// StateAt returns the state of s at an earlier position of the session:
// the given sequence numbers, and each stream the given number of bytes
// past the start of its keystream. It is how RESET_NEW exports the
// position right after the handshake; the cost is linear in the stream
// positions, which are a few bytes there (a mechListMIC's checksum) or
// zero. Positions above MaxRestoreStream are refused.
func (s *Session) StateAt(sendSeq, recvSeq uint32, sendStream, recvStream uint64) (SessionState, error) {
	if sendStream > MaxRestoreStream || recvStream > MaxRestoreStream {
		return SessionState{}, fmt.Errorf("%w: keystream position beyond %d bytes", ErrMalformed, uint64(MaxRestoreStream))
	}
	t, err := RestoreSession(SessionState{
		SessionKey: s.key, Flags: s.flags, Client: s.client,
		SendSeq: sendSeq, RecvSeq: recvSeq, SendStream: sendStream, RecvStream: recvStream,
	})
	if err != nil {
		return SessionState{}, err
	}
	defer t.Destroy()
	return t.State(), nil
}

// Reset returns the session to its post-handshake state: sequence numbers 0
// and fresh RC4 streams (SECPKG_CONTEXT_EXPORT_RESET_NEW).
func (s *Session) Reset() {
	if s.destroyed {
		return
	}
	s.send.reset()
	s.recv.reset()
	s.releaseSaved()
}

// ResetStreams restarts both RC4 streams at the start of their keystreams
// and keeps the sequence numbers. SPNEGO needs it: once the mechListMICs
// have been exchanged over NTLM, both sides reset their sealing handles
// (MS-SPNG 3.2.5.1), so the first message after the handshake is
// protected with the RC4 state the mechListMIC started from, but with the
// next sequence number. MIT krb5, Heimdal and Samba do the same.
func (s *Session) ResetStreams() {
	if s.destroyed {
		return
	}
	s.send.resetStream()
	s.recv.resetStream()
	s.releaseSaved()
}

// Destroy zeroes the key material and the RC4 states the Session holds.
// Afterwards Sign and Seal return nil and Verify and Unseal fail with
// ErrMessageAltered. The HMAC pads inside crypto/hmac cannot be reached
// and are left to the garbage collector.
func (s *Session) Destroy() {
	clear(s.key[:])
	s.send.wipe()
	s.recv.wipe()
	s.releaseSaved()
	s.destroyed = true
}
