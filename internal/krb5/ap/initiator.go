package ap

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// InitiatorConfig is what an initiator needs: a service ticket, its
// session key and the client's name from the TGS exchange, and what the
// context asks for.
type InitiatorConfig struct {
	Ticket     msg.Ticket
	SessionKey *kcrypto.Key
	CRealm     string
	CName      msg.PrincipalName
	// Flags are the GSS flags to ask for; FlagMutual makes the acceptor
	// answer with an AP-REP.
	Flags gss.Flags
	// Bindings is the MD5 of the channel bindings (zeros for none).
	Bindings [gss.BindingsSize]byte
	// Deleg is a KRB-CRED to delegate; it sets FlagDeleg.
	Deleg []byte
	// Now and Rand are the clock and the source of the subkey and the
	// sequence number; nil means time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Initiator is an initiator waiting for the acceptor's AP-REP.
type Initiator struct {
	cfg    InitiatorConfig
	ctime  time.Time
	cusec  int32
	subkey *kcrypto.Key
	seq    uint32
	done   bool
}

// Established is what a finished handshake gives the initiator.
type Established struct {
	// Session configures the initiator's gss.Session.
	Session gss.Config
	// Key is the context's key: the acceptor's subkey, or the initiator's
	// when the acceptor asserted none.
	Key *kcrypto.Key
	// Flags are the GSS flags of the context.
	Flags gss.Flags
}

// Initiate builds the initial context token: an AP-REQ framed as RFC
// 4121 section 4.1 says, with a fresh subkey of the session key's type,
// a random initial sequence number, and the 0x8003 checksum.
func Initiate(cfg InitiatorConfig) (*Initiator, []byte, error) {
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	now := clock(cfg.Now)()
	sub, err := kcrypto.RandomKey(cfg.SessionKey.EType(), r)
	if err != nil {
		return nil, nil, fmt.Errorf("ap: %w", err)
	}
	var sb [4]byte
	if _, err := io.ReadFull(r, sb[:]); err != nil {
		return nil, nil, fmt.Errorf("ap: reading a sequence number: %w", err)
	}
	// Like MIT, keep the first number below 2**30, so that the 32-bit
	// sequence numbers of old peers never wrap in a context's life.
	seq := binary.BigEndian.Uint32(sb[:]) & 0x3fffffff
	flags := cfg.Flags
	if cfg.Deleg != nil {
		flags |= gss.FlagDeleg
	} else {
		flags &^= gss.FlagDeleg
	}
	ck := gss.AuthChecksum{Bindings: cfg.Bindings, Flags: flags, Deleg: cfg.Deleg}
	auth := msg.Authenticator{
		CRealm:    cfg.CRealm,
		CName:     cfg.CName,
		Cksum:     &msg.Checksum{CksumType: gss.ChecksumType, Checksum: ck.Marshal()},
		Cusec:     int32(now.Nanosecond() / 1000),
		CTime:     now.Truncate(time.Second),
		Subkey:    &msg.EncryptionKey{KeyType: int32(sub.EType()), KeyValue: sub.Bytes()},
		SeqNumber: &seq,
	}
	plain, err := auth.Marshal()
	clear(auth.Subkey.KeyValue)
	if err != nil {
		return nil, nil, fmt.Errorf("ap: %w", err)
	}
	ct, err := cfg.SessionKey.Encrypt(kcrypto.UsageAPReqAuthenticator, r, plain)
	clear(plain)
	if err != nil {
		return nil, nil, fmt.Errorf("ap: %w", err)
	}
	req := msg.APReq{Ticket: cfg.Ticket, Authenticator: msg.EncryptedData{EType: int32(cfg.SessionKey.EType()), Cipher: ct}}
	if flags&gss.FlagMutual != 0 {
		req.Options |= msg.APMutualRequired
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("ap: %w", err)
	}
	cfg.Flags = flags
	i := &Initiator{cfg: cfg, ctime: auth.CTime, cusec: auth.Cusec, subkey: sub, seq: seq}
	return i, gss.FrameToken(gss.TokAPReq, b), nil
}

// NeedsReply reports whether the acceptor answers the AP-REQ (mutual
// authentication); if not, Established is done at once.
func (i *Initiator) NeedsReply() bool { return i.cfg.Flags&gss.FlagMutual != 0 }

// Established returns the context of a handshake without mutual
// authentication: the initiator's subkey protects the messages, and both
// sides start from the initiator's sequence number.
func (i *Initiator) Established() (*Established, error) {
	if i.NeedsReply() {
		return nil, fmt.Errorf("ap: the context waits for the acceptor's AP-REP")
	}
	return i.established(i.subkey, false, uint64(i.seq)), nil
}

func (i *Initiator) established(key *kcrypto.Key, acceptorSubkey bool, peerSeq uint64) *Established {
	i.done = true
	if key == i.subkey {
		key = key.Clone() // the caller's, apart from what Zero clears
	}
	return &Established{
		Session: gss.Config{
			Key: key, AcceptorSubkey: acceptorSubkey,
			SendSeq: uint64(i.seq), RecvSeq: peerSeq,
			NoSequenceCheck: i.cfg.Flags&(gss.FlagSequence|gss.FlagReplay) == 0,
			Rand:            i.cfg.Rand,
		},
		Key:   key,
		Flags: i.cfg.Flags,
	}
}

// Finish checks the acceptor's answer. An AP-REP must decrypt under the
// ticket's session key and echo the authenticator's time (else
// KRB_AP_ERR_MUT_FAIL); its subkey, if any, then protects the messages.
// A KRB-ERROR token is returned as the *msg.KRBError error it carries.
func (i *Initiator) Finish(token []byte) (*Established, error) {
	if i.done {
		return nil, fmt.Errorf("ap: the context is already established")
	}
	id, inner, err := gss.UnframeToken(token)
	if err != nil {
		return nil, fmt.Errorf("ap: %w", err)
	}
	switch id {
	case gss.TokError:
		kerr, err := msg.ParseKRBError(inner)
		if err != nil {
			return nil, fmt.Errorf("ap: %w", err)
		}
		return nil, kerr
	case gss.TokAPRep:
	default:
		return nil, fmt.Errorf("ap: %v token where an AP-REP belongs: %w", id, msg.KRBAPErrMsgType)
	}
	rep, err := msg.ParseAPRep(inner)
	if err != nil {
		return nil, fmt.Errorf("ap: %w", err)
	}
	plain, err := i.cfg.SessionKey.Decrypt(kcrypto.UsageAPRepEncPart, rep.EncPart.Cipher)
	if err != nil {
		return nil, fmt.Errorf("ap: the AP-REP does not decrypt: %w: %w", err, msg.KRBAPErrMutFail)
	}
	part, err := msg.ParseEncAPRepPart(plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("ap: %w: %w", err, msg.KRBAPErrMutFail)
	}
	if !part.CTime.Equal(i.ctime) || part.Cusec != i.cusec {
		return nil, fmt.Errorf("ap: the AP-REP echoes %v.%06d, not the authenticator's time: %w", part.CTime, part.Cusec, msg.KRBAPErrMutFail)
	}
	key, acceptorSubkey := i.subkey, false
	if part.Subkey != nil {
		k, err := kcrypto.NewKey(kcrypto.EType(part.Subkey.KeyType), part.Subkey.KeyValue)
		clear(part.Subkey.KeyValue)
		if err != nil {
			return nil, fmt.Errorf("ap: the acceptor's subkey: %w: %w", err, msg.KRBAPErrMutFail)
		}
		key, acceptorSubkey = k, true
	}
	// Without a sequence number of its own, the acceptor counts from the
	// initiator's (RFC 4121 section 4.2.2 leaves it to the AP-REP).
	peer := uint64(i.seq)
	if part.SeqNumber != nil {
		peer = uint64(*part.SeqNumber)
	}
	return i.established(key, acceptorSubkey, peer), nil
}

// Zero forgets the initiator's subkey once the context no longer needs
// the Initiator.
func (i *Initiator) Zero() {
	if i.subkey != nil {
		i.subkey.Zero()
	}
}
