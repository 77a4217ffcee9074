package ap

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
	"github.com/gosspi/gosspi/internal/krb5/pac"
)

// Acceptor accepts AP-REQ context tokens for a service.
type Acceptor struct {
	// Key returns the service's long-term keys.
	Key KeyFunc
	// Services are the names the acceptor answers to, compared without
	// regard to case as Windows does; a ticket for another service is
	// refused with KRB_AP_ERR_NOT_US. Empty means any service Key has a
	// key for.
	Services []msg.PrincipalName
	// Now, Rand, MaxSkew and Replay are as in VerifyConfig; Rand also
	// makes the acceptor's subkey and sequence number.
	Now     func() time.Time
	Rand    io.Reader
	MaxSkew time.Duration
	Replay  ReplayCache
	// StrictBindings refuses an initiator that sent no channel bindings
	// when the acceptor has some. By default such an initiator is let
	// through, as Windows does unless it is told to require them.
	StrictBindings bool
	// RequirePAC refuses tickets without a PAC. Without it, a ticket
	// without one (from a KDC that issues none) gives a client without
	// groups.
	RequirePAC bool
}

// Accepted is an accepted context on the acceptor's side.
type Accepted struct {
	// CName and CRealm are the client's name, as the ticket says.
	CName  msg.PrincipalName
	CRealm string
	// SName is the service the ticket is for, as the client named it:
	// which of the acceptor's SPNs it asked for.
	SName msg.PrincipalName
	// Ticket is the decrypted ticket: its flags and times.
	Ticket *msg.EncTicketPart
	// PAC is the ticket's PAC, its server signature checked; nil if the
	// ticket has none. LogonInfo is its decoded logon information, nil
	// if it has none (MIT's PACs do not).
	PAC       *pac.PAC
	LogonInfo *pac.LogonInfo
	// Flags are the GSS flags the initiator asked for.
	Flags gss.Flags
	// Deleg is the KRB-CRED the initiator delegated, if any.
	Deleg []byte
	// Output is the AP-REP context token to send back; nil without
	// mutual authentication.
	Output []byte
	// Session configures the acceptor's gss.Session.
	Session gss.Config
	// Key is the context's key: the acceptor's subkey when it made one.
	Key *kcrypto.Key
	// Expiry is the end of the ticket's validity.
	Expiry time.Time
}

// ErrBindings reports channel bindings that do not match the acceptor's;
// Windows calls it SEC_E_BAD_BINDINGS. It wraps KRB_AP_ERR_MODIFIED too.
var ErrBindings = errors.New("ap: channel bindings do not match")

// Accept accepts an initial context token: an AP-REQ framed as RFC 4121
// section 4.1 says, or a bare AP-REQ as DCE-style callers send it.
// bindings is the MD5 of the acceptor's channel bindings, or nil for
// none.
func (a *Acceptor) Accept(token []byte, bindings *[gss.BindingsSize]byte) (*Accepted, error) {
	raw := token
	if len(token) > 0 && token[0] == 0x60 {
		id, inner, err := gss.UnframeToken(token)
		if err != nil {
			return nil, fmt.Errorf("ap: %w", err)
		}
		if id != gss.TokAPReq {
			return nil, fmt.Errorf("ap: %v token where an AP-REQ belongs: %w", id, msg.KRBAPErrMsgType)
		}
		raw = inner
	}
	key := a.Key
	if len(a.Services) > 0 {
		key = func(realm string, sname msg.PrincipalName, et kcrypto.EType, kvno uint32) (*kcrypto.Key, error) {
			for _, s := range a.Services {
				if s.EqualFold(sname) {
					return a.Key(realm, sname, et, kvno)
				}
			}
			return nil, fmt.Errorf("ticket for %v: %w", sname, msg.KRBAPErrNotUs)
		}
	}
	req, err := Verify(VerifyConfig{Key: key, Usage: kcrypto.UsageAPReqAuthenticator, Now: a.Now, MaxSkew: a.MaxSkew, Replay: a.Replay}, raw)
	if err != nil {
		return nil, err
	}
	auth := req.Authenticator
	if auth.Cksum == nil || auth.Cksum.CksumType != gss.ChecksumType {
		return nil, fmt.Errorf("ap: the authenticator has no GSS checksum: %w", msg.KRBAPErrInappCksum)
	}
	ck, err := gss.ParseAuthChecksum(auth.Cksum.Checksum)
	if err != nil {
		return nil, fmt.Errorf("ap: %w: %w", err, msg.KRBAPErrModified)
	}
	var zero [gss.BindingsSize]byte
	switch {
	case bindings == nil:
		// The acceptor has no channel to bind to; whatever the initiator
		// hashed cannot be checked, and Windows ignores it.
	case ck.Bindings == zero:
		if a.StrictBindings {
			return nil, fmt.Errorf("ap: the initiator sent no channel bindings: %w: %w", ErrBindings, msg.KRBAPErrModified)
		}
	case subtle.ConstantTimeCompare(ck.Bindings[:], bindings[:]) != 1:
		return nil, fmt.Errorf("ap: %w: %w", ErrBindings, msg.KRBAPErrModified)
	}
	out := &Accepted{
		CName: req.Ticket.CName, CRealm: req.Ticket.CRealm,
		SName:  req.APReq.Ticket.SName,
		Ticket: req.Ticket, Flags: ck.Flags, Deleg: ck.Deleg,
		Expiry: req.Ticket.EndTime,
	}
	if out.PAC, err = ticketPAC(req); err != nil {
		return nil, err
	}
	if out.PAC == nil && a.RequirePAC {
		return nil, fmt.Errorf("ap: the ticket has no PAC: %w", msg.KRBAPErrModified)
	}
	if out.PAC != nil {
		if li, err := out.PAC.LogonInfo(); err == nil {
			out.LogonInfo = li
		} else if _, present := out.PAC.Find(pac.TypeLogonInfo); present {
			return nil, fmt.Errorf("ap: the PAC's logon information: %w: %w", err, msg.KRBAPErrModified)
		}
	}

	// The initiator's subkey, else the session key, protects the
	// messages, unless this side makes a subkey of its own for mutual
	// authentication, as Windows and MIT do.
	base := req.SessionKey
	if auth.Subkey != nil {
		if base, err = kcrypto.NewKey(kcrypto.EType(auth.Subkey.KeyType), auth.Subkey.KeyValue); err != nil {
			return nil, fmt.Errorf("ap: the initiator's subkey: %w: %w", err, msg.KDCErrETypeNoSupp)
		}
	}
	var iseq uint64
	if auth.SeqNumber != nil {
		iseq = uint64(*auth.SeqNumber)
	}
	noSeq := ck.Flags&(gss.FlagSequence|gss.FlagReplay) == 0
	mutual := ck.Flags&gss.FlagMutual != 0 || req.APReq.Options&msg.APMutualRequired != 0
	if !mutual {
		out.Key = base
		out.Session = gss.Config{Key: base, Acceptor: true, SendSeq: iseq, RecvSeq: iseq, NoSequenceCheck: noSeq, Rand: a.Rand}
		return out, nil
	}
	r := a.Rand
	if r == nil {
		r = rand.Reader
	}
	sub, err := kcrypto.RandomKey(base.EType(), r)
	if err != nil {
		return nil, fmt.Errorf("ap: %w", err)
	}
	var sb [4]byte
	if _, err := io.ReadFull(r, sb[:]); err != nil {
		return nil, fmt.Errorf("ap: reading a sequence number: %w", err)
	}
	aseq := binary.BigEndian.Uint32(sb[:]) & 0x3fffffff
	part := msg.EncAPRepPart{
		CTime: auth.CTime, Cusec: auth.Cusec,
		Subkey:    &msg.EncryptionKey{KeyType: int32(sub.EType()), KeyValue: sub.Bytes()},
		SeqNumber: &aseq,
	}
	plain, err := part.Marshal()
	clear(part.Subkey.KeyValue)
	if err != nil {
		return nil, fmt.Errorf("ap: %w", err)
	}
	ct, err := req.SessionKey.Encrypt(kcrypto.UsageAPRepEncPart, r, plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("ap: %w", err)
	}
	rep, err := (&msg.APRep{EncPart: msg.EncryptedData{EType: int32(req.SessionKey.EType()), Cipher: ct}}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("ap: %w", err)
	}
	out.Output = gss.FrameToken(gss.TokAPRep, rep)
	out.Key = sub
	out.Session = gss.Config{Key: sub, AcceptorSubkey: true, Acceptor: true, SendSeq: uint64(aseq), RecvSeq: iseq, NoSequenceCheck: noSeq, Rand: a.Rand}
	return out, nil
}

// ticketPAC finds the PAC in a ticket's authorization data (an
// AD-WIN2K-PAC element inside AD-IF-RELEVANT), checks its server
// signature with the key that decrypted the ticket, and checks that its
// client information names the ticket's client at its authentication
// time. A ticket without a PAC gives nil.
func ticketPAC(req *Request) (*pac.PAC, error) {
	raw, err := FindPAC(req.Ticket.AuthData)
	if err != nil || raw == nil {
		return nil, err
	}
	p, err := pac.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("ap: %w: %w", err, msg.KRBAPErrModified)
	}
	if err := p.VerifyServerSignature(req.ServiceKey); err != nil {
		return nil, fmt.Errorf("ap: %w: %w", err, msg.KRBAPErrModified)
	}
	ci, err := p.ClientInfo()
	if err != nil {
		return nil, fmt.Errorf("ap: %w: %w", err, msg.KRBAPErrModified)
	}
	if !strings.EqualFold(ci.Name, req.Ticket.CName.String()) || !ci.ClientID.Time().Equal(req.Ticket.AuthTime) {
		return nil, fmt.Errorf("ap: the PAC is for %q at %v, the ticket for %v at %v: %w",
			ci.Name, ci.ClientID.Time(), req.Ticket.CName, req.Ticket.AuthTime, msg.KRBAPErrModified)
	}
	return p, nil
}

// FindPAC returns the PAC in authorization data: the data of the
// AD-WIN2K-PAC element inside an AD-IF-RELEVANT element (MS-PAC 2.1), or
// nil if there is none. There must not be two.
func FindPAC(ad msg.AuthorizationData) ([]byte, error) {
	var found []byte
	for _, e := range ad {
		if e.ADType != msg.ADIfRelevant {
			continue
		}
		inner, err := msg.ParseAuthorizationData(e.ADData)
		if err != nil {
			return nil, fmt.Errorf("ap: %w: %w", err, msg.KRBAPErrModified)
		}
		for _, in := range inner {
			if in.ADType != msg.ADWin2kPAC {
				continue
			}
			if found != nil {
				return nil, fmt.Errorf("ap: the ticket has two PACs: %w", msg.KRBAPErrModified)
			}
			found = in.ADData
		}
	}
	return found, nil
}

// ErrorToken builds the KRB-ERROR context token an acceptor answers a
// refused AP-REQ with (RFC 4121 section 4.1), so that the initiator
// learns why: for KRB_AP_ERR_SKEW, the acceptor's time lets it correct
// its clock. now is the acceptor's clock, realm and sname its name.
func ErrorToken(err error, now time.Time, realm string, sname msg.PrincipalName) ([]byte, error) {
	kerr := msg.KRBError{
		STime:     now.Truncate(time.Second),
		SUsec:     int32(now.Nanosecond() / 1000),
		ErrorCode: ErrorCodeOf(err),
		Realm:     realm,
		SName:     sname,
	}
	b, e := kerr.Marshal()
	if e != nil {
		return nil, fmt.Errorf("ap: %w", e)
	}
	return gss.FrameToken(gss.TokError, b), nil
}
