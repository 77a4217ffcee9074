package msg

import (
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Ticket is a ticket (RFC 4120 section 5.3): the service's name in the
// clear and the EncTicketPart encrypted in the service's key.
type Ticket struct {
	Realm   string
	SName   PrincipalName
	EncPart EncryptedData
}

func (t *Ticket) marshal(b *builder) {
	b.AddASN1(app(tagTicket), func(b *builder) {
		addSeq(b, func(b *builder) {
			addInt(b, 0, PVNO)
			addString(b, 1, t.Realm)
			field(b, 2, t.SName.marshal)
			field(b, 3, t.EncPart.marshal)
		})
	})
}

// Marshal encodes the ticket.
func (t *Ticket) Marshal() ([]byte, error) {
	b := newBuilder(len(t.EncPart.Cipher))
	t.marshal(b)
	return b.Bytes()
}

// ParseTicket decodes a ticket.
func ParseTicket(b []byte) (*Ticket, error) {
	f := &fields{}
	t := f.ticket(b)
	if f.err != nil {
		return nil, f.err
	}
	return &t, nil
}

func (f *fields) ticket(in []byte) Ticket {
	q := readApp(in, tagTicket, "Ticket")
	var t Ticket
	q.int64(q.req(0), PVNO, PVNO, "tkt-vno")
	t.Realm = q.string(q.req(1), "realm")
	t.SName = q.principal(q.req(2), "sname")
	t.EncPart = q.encryptedData(q.req(3), "enc-part")
	f.sub(q.end(3))
	return t
}

// EncTicketPart is the secret part of a ticket (RFC 4120 section 5.3).
type EncTicketPart struct {
	Flags     TicketFlags
	Key       EncryptionKey
	CRealm    string
	CName     PrincipalName
	Transited TransitedEncoding
	AuthTime  time.Time
	StartTime time.Time // optional
	EndTime   time.Time
	RenewTill time.Time // optional
	CAddr     []HostAddress
	AuthData  AuthorizationData
}

// Marshal encodes the structure as the plaintext of a ticket's enc-part.
func (e *EncTicketPart) Marshal() ([]byte, error) {
	n := 0
	for _, ad := range e.AuthData {
		n += len(ad.ADData)
	}
	b := newBuilder(n)
	b.AddASN1(app(tagEncTicketPart), func(b *builder) {
		addSeq(b, func(b *builder) {
			addFlags(b, 0, uint32(e.Flags))
			field(b, 1, e.Key.marshal)
			addString(b, 2, e.CRealm)
			field(b, 3, e.CName.marshal)
			field(b, 4, func(b *builder) {
				addSeq(b, func(b *builder) {
					addInt(b, 0, int64(e.Transited.TrType))
					addOctets(b, 1, e.Transited.Contents)
				})
			})
			addTime(b, 5, e.AuthTime)
			if !e.StartTime.IsZero() {
				addTime(b, 6, e.StartTime)
			}
			addTime(b, 7, e.EndTime)
			if !e.RenewTill.IsZero() {
				addTime(b, 8, e.RenewTill)
			}
			if e.CAddr != nil {
				marshalAddresses(b, 9, e.CAddr)
			}
			if e.AuthData != nil {
				field(b, 10, e.AuthData.marshal)
			}
		})
	})
	return b.Bytes()
}

// ParseEncTicketPart decodes the plaintext of a ticket's enc-part.
func ParseEncTicketPart(b []byte) (*EncTicketPart, error) {
	q := readApp(b, tagEncTicketPart, "EncTicketPart")
	var e EncTicketPart
	e.Flags = TicketFlags(q.flags(q.req(0), "flags"))
	e.Key = q.encryptionKey(q.req(1), "key")
	e.CRealm = q.string(q.req(2), "crealm")
	e.CName = q.principal(q.req(3), "cname")
	tr := readSeq(q.req(4), cbasn1.SEQUENCE, "transited")
	if q.err == nil {
		e.Transited = TransitedEncoding{TrType: tr.int32(tr.req(0), "tr-type"), Contents: tr.octets(tr.req(1), "contents")}
		q.sub(tr.end(1))
	}
	e.AuthTime = q.time(q.req(5), "authtime")
	if v, ok := q.opt(6); ok {
		e.StartTime = q.time(v, "starttime")
	}
	e.EndTime = q.time(q.req(7), "endtime")
	if v, ok := q.opt(8); ok {
		e.RenewTill = q.time(v, "renew-till")
	}
	if v, ok := q.opt(9); ok {
		e.CAddr = q.addresses(v, "caddr")
	}
	if v, ok := q.opt(10); ok {
		e.AuthData = q.authData(v, "authorization-data")
	}
	if err := q.end(10); err != nil {
		return nil, err
	}
	return &e, nil
}

// KDCReqBody is the body of an AS-REQ or TGS-REQ (RFC 4120 section
// 5.4.1).
type KDCReqBody struct {
	Options  KDCOptions
	CName    *PrincipalName // AS-REQ only
	Realm    string
	SName    *PrincipalName
	From     time.Time // optional
	Till     time.Time
	RTime    time.Time // optional
	Nonce    uint32
	ETypes   []int32
	Addrs    []HostAddress
	EncAD    *EncryptedData
	AddlTkts []Ticket
}

func (r *KDCReqBody) marshal(b *builder) {
	addSeq(b, func(b *builder) {
		addFlags(b, 0, uint32(r.Options))
		if r.CName != nil {
			field(b, 1, r.CName.marshal)
		}
		addString(b, 2, r.Realm)
		if r.SName != nil {
			field(b, 3, r.SName.marshal)
		}
		if !r.From.IsZero() {
			addTime(b, 4, r.From)
		}
		addTime(b, 5, r.Till)
		if !r.RTime.IsZero() {
			addTime(b, 6, r.RTime)
		}
		addInt(b, 7, int64(r.Nonce))
		field(b, 8, func(b *builder) {
			addSeq(b, func(b *builder) {
				for _, e := range r.ETypes {
					b.AddASN1Int64(int64(e))
				}
			})
		})
		if r.Addrs != nil {
			marshalAddresses(b, 9, r.Addrs)
		}
		if r.EncAD != nil {
			field(b, 10, r.EncAD.marshal)
		}
		if r.AddlTkts != nil {
			field(b, 11, func(b *builder) {
				addSeq(b, func(b *builder) {
					for i := range r.AddlTkts {
						r.AddlTkts[i].marshal(b)
					}
				})
			})
		}
	})
}

// Marshal encodes the body alone, as the checksum of a TGS-REQ's
// authenticator covers it.
func (r *KDCReqBody) Marshal() ([]byte, error) {
	var b builder
	r.marshal(&b)
	return b.Bytes()
}

func (f *fields) reqBody(in cryptobyte.String) KDCReqBody {
	q := readSeq(in, cbasn1.SEQUENCE, "KDC-REQ-BODY")
	var r KDCReqBody
	r.Options = KDCOptions(q.flags(q.req(0), "kdc-options"))
	if v, ok := q.opt(1); ok {
		p := q.principal(v, "cname")
		r.CName = &p
	}
	r.Realm = q.string(q.req(2), "realm")
	if v, ok := q.opt(3); ok {
		p := q.principal(v, "sname")
		r.SName = &p
	}
	if v, ok := q.opt(4); ok {
		r.From = q.time(v, "from")
	}
	r.Till = q.time(q.req(5), "till")
	if v, ok := q.opt(6); ok {
		r.RTime = q.time(v, "rtime")
	}
	r.Nonce = q.uint32(q.req(7), "nonce")
	q.seqOf(q.req(8), "etype", func(el cryptobyte.String) {
		r.ETypes = append(r.ETypes, q.int32(el, "etype"))
	})
	if v, ok := q.opt(9); ok {
		r.Addrs = q.addresses(v, "addresses")
	}
	if v, ok := q.opt(10); ok {
		e := q.encryptedData(v, "enc-authorization-data")
		r.EncAD = &e
	}
	if v, ok := q.opt(11); ok {
		r.AddlTkts = []Ticket{}
		q.seqOf(v, "additional-tickets", func(el cryptobyte.String) {
			r.AddlTkts = append(r.AddlTkts, q.ticket(el))
		})
	}
	f.sub(q.end(11))
	return r
}

// KDCReq is an AS-REQ or a TGS-REQ (RFC 4120 section 5.4.1).
type KDCReq struct {
	MsgType int // MsgASReq or MsgTGSReq
	PAData  []PAData
	Body    KDCReqBody
	// RawBody is the DER of the body as it was received, set by
	// ParseKDCReq: the checksum of a TGS-REQ's authenticator covers these
	// bytes, not a re-encoding of Body.
	RawBody []byte
}

// Marshal encodes the request, as an AS-REQ or TGS-REQ by MsgType.
func (r *KDCReq) Marshal() ([]byte, error) {
	if r.MsgType != MsgASReq && r.MsgType != MsgTGSReq {
		return nil, fmt.Errorf("msg: message type %d is no KDC request", r.MsgType)
	}
	n := 0
	for _, p := range r.PAData {
		n += len(p.Value)
	}
	for _, t := range r.Body.AddlTkts {
		n += len(t.EncPart.Cipher)
	}
	b := newBuilder(n)
	b.AddASN1(app(r.MsgType), func(b *builder) {
		addSeq(b, func(b *builder) {
			addInt(b, 1, PVNO)
			addInt(b, 2, int64(r.MsgType))
			if r.PAData != nil {
				field(b, 3, func(b *builder) { marshalPAData(b, r.PAData) })
			}
			field(b, 4, r.Body.marshal)
		})
	})
	return b.Bytes()
}

// ParseKDCReq decodes an AS-REQ or a TGS-REQ.
func ParseKDCReq(b []byte) (*KDCReq, error) {
	t, err := appTagOf(b)
	if err != nil {
		return nil, err
	}
	if t != MsgASReq && t != MsgTGSReq {
		return nil, malformed("KDC-REQ", "[APPLICATION %d] is no KDC request", t)
	}
	q := readApp(b, t, "KDC-REQ")
	r := KDCReq{MsgType: t}
	q.int64(q.req(1), PVNO, PVNO, "pvno")
	q.int64(q.req(2), int64(t), int64(t), "msg-type")
	if v, ok := q.opt(3); ok {
		r.PAData = q.paData(v, "padata")
	}
	body := q.req(4)
	r.RawBody = append([]byte(nil), body...)
	r.Body = q.reqBody(body)
	if err := q.end(4); err != nil {
		return nil, err
	}
	return &r, nil
}

// appTagOf returns the APPLICATION tag number a message starts with.
func appTagOf(b []byte) (int, error) {
	if len(b) == 0 || b[0]&0xe0 != 0x60 || b[0]&0x1f == 0x1f {
		return 0, malformed("message", "no APPLICATION tag")
	}
	return int(b[0] & 0x1f), nil
}

// MessageType returns the message type of a Kerberos message from its
// first byte (its APPLICATION tag), without decoding it: how a KDC tells
// an AS-REQ from a TGS-REQ, or a client a reply from a KRB-ERROR.
func MessageType(b []byte) (int, error) { return appTagOf(b) }

// KDCRep is an AS-REP or a TGS-REP (RFC 4120 section 5.4.2).
type KDCRep struct {
	MsgType int // MsgASRep or MsgTGSRep
	PAData  []PAData
	CRealm  string
	CName   PrincipalName
	Ticket  Ticket
	EncPart EncryptedData
}

// Marshal encodes the reply, as an AS-REP or TGS-REP by MsgType.
func (r *KDCRep) Marshal() ([]byte, error) {
	if r.MsgType != MsgASRep && r.MsgType != MsgTGSRep {
		return nil, fmt.Errorf("msg: message type %d is no KDC reply", r.MsgType)
	}
	b := newBuilder(len(r.Ticket.EncPart.Cipher) + len(r.EncPart.Cipher))
	b.AddASN1(app(r.MsgType), func(b *builder) {
		addSeq(b, func(b *builder) {
			addInt(b, 0, PVNO)
			addInt(b, 1, int64(r.MsgType))
			if r.PAData != nil {
				field(b, 2, func(b *builder) { marshalPAData(b, r.PAData) })
			}
			addString(b, 3, r.CRealm)
			field(b, 4, r.CName.marshal)
			field(b, 5, r.Ticket.marshal)
			field(b, 6, r.EncPart.marshal)
		})
	})
	return b.Bytes()
}

// ParseKDCRep decodes an AS-REP or a TGS-REP.
func ParseKDCRep(b []byte) (*KDCRep, error) {
	t, err := appTagOf(b)
	if err != nil {
		return nil, err
	}
	if t != MsgASRep && t != MsgTGSRep {
		return nil, malformed("KDC-REP", "[APPLICATION %d] is no KDC reply", t)
	}
	q := readApp(b, t, "KDC-REP")
	r := KDCRep{MsgType: t}
	q.int64(q.req(0), PVNO, PVNO, "pvno")
	q.int64(q.req(1), int64(t), int64(t), "msg-type")
	if v, ok := q.opt(2); ok {
		r.PAData = q.paData(v, "padata")
	}
	r.CRealm = q.string(q.req(3), "crealm")
	r.CName = q.principal(q.req(4), "cname")
	r.Ticket = q.ticket(q.req(5))
	r.EncPart = q.encryptedData(q.req(6), "enc-part")
	if err := q.end(6); err != nil {
		return nil, err
	}
	return &r, nil
}

// EncKDCRepPart is the secret part of a KDC reply (RFC 4120 section
// 5.4.2): the session key and what the ticket says, for the client.
type EncKDCRepPart struct {
	Key           EncryptionKey
	LastReq       []LastReq
	Nonce         uint32
	KeyExpiration time.Time // optional
	Flags         TicketFlags
	AuthTime      time.Time
	StartTime     time.Time // optional
	EndTime       time.Time
	RenewTill     time.Time // optional
	SRealm        string
	SName         PrincipalName
	CAddr         []HostAddress
	// EncPAData is encrypted-pa-data (RFC 6806 section 11), such as the
	// PA-REQ-ENC-PA-REP checksum a KDC returns.
	EncPAData []PAData
}

// MarshalAS encodes the structure as an EncASRepPart, the plaintext of an
// AS-REP's enc-part.
func (e *EncKDCRepPart) MarshalAS() ([]byte, error) { return e.marshal(tagEncASRepPart) }

// MarshalTGS encodes the structure as an EncTGSRepPart.
func (e *EncKDCRepPart) MarshalTGS() ([]byte, error) { return e.marshal(tagEncTGSRepPart) }

func (e *EncKDCRepPart) marshal(tag int) ([]byte, error) {
	var b builder
	b.AddASN1(app(tag), func(b *builder) {
		addSeq(b, func(b *builder) {
			field(b, 0, e.Key.marshal)
			field(b, 1, func(b *builder) {
				addSeq(b, func(b *builder) {
					for _, l := range e.LastReq {
						addSeq(b, func(b *builder) {
							addInt(b, 0, int64(l.Type))
							addTime(b, 1, l.Value)
						})
					}
				})
			})
			addInt(b, 2, int64(e.Nonce))
			if !e.KeyExpiration.IsZero() {
				addTime(b, 3, e.KeyExpiration)
			}
			addFlags(b, 4, uint32(e.Flags))
			addTime(b, 5, e.AuthTime)
			if !e.StartTime.IsZero() {
				addTime(b, 6, e.StartTime)
			}
			addTime(b, 7, e.EndTime)
			if !e.RenewTill.IsZero() {
				addTime(b, 8, e.RenewTill)
			}
			addString(b, 9, e.SRealm)
			field(b, 10, e.SName.marshal)
			if e.CAddr != nil {
				marshalAddresses(b, 11, e.CAddr)
			}
			if e.EncPAData != nil {
				field(b, 12, func(b *builder) { marshalPAData(b, e.EncPAData) })
			}
		})
	})
	return b.Bytes()
}

// ParseEncKDCRepPart decodes the plaintext of a KDC reply's enc-part. It
// accepts an EncASRepPart and an EncTGSRepPart alike, whatever the reply:
// RFC 4120 section 5.4.2 notes that some KDCs send the TGS form in an
// AS-REP, and clients accept either.
func ParseEncKDCRepPart(b []byte) (*EncKDCRepPart, error) {
	t, err := appTagOf(b)
	if err != nil {
		return nil, err
	}
	if t != tagEncASRepPart && t != tagEncTGSRepPart {
		return nil, malformed("EncKDCRepPart", "[APPLICATION %d] is no EncKDCRepPart", t)
	}
	q := readApp(b, t, "EncKDCRepPart")
	var e EncKDCRepPart
	e.Key = q.encryptionKey(q.req(0), "key")
	e.LastReq = []LastReq{}
	q.seqOf(q.req(1), "last-req", func(el cryptobyte.String) {
		l := readSeq(el, cbasn1.SEQUENCE, "LastReq")
		e.LastReq = append(e.LastReq, LastReq{Type: l.int32(l.req(0), "lr-type"), Value: l.time(l.req(1), "lr-value")})
		q.sub(l.end(1))
	})
	e.Nonce = q.uint32(q.req(2), "nonce")
	if v, ok := q.opt(3); ok {
		e.KeyExpiration = q.time(v, "key-expiration")
	}
	e.Flags = TicketFlags(q.flags(q.req(4), "flags"))
	e.AuthTime = q.time(q.req(5), "authtime")
	if v, ok := q.opt(6); ok {
		e.StartTime = q.time(v, "starttime")
	}
	e.EndTime = q.time(q.req(7), "endtime")
	if v, ok := q.opt(8); ok {
		e.RenewTill = q.time(v, "renew-till")
	}
	e.SRealm = q.string(q.req(9), "srealm")
	e.SName = q.principal(q.req(10), "sname")
	if v, ok := q.opt(11); ok {
		e.CAddr = q.addresses(v, "caddr")
	}
	if v, ok := q.opt(12); ok {
		e.EncPAData = q.paData(v, "encrypted-pa-data")
	}
	if err := q.end(12); err != nil {
		return nil, err
	}
	return &e, nil
}

// APReq is an AP-REQ (RFC 4120 section 5.5.1): a ticket and an
// authenticator encrypted in its session key.
type APReq struct {
	Options       APOptions
	Ticket        Ticket
	Authenticator EncryptedData
}

// Marshal encodes the AP-REQ.
func (r *APReq) Marshal() ([]byte, error) {
	b := newBuilder(len(r.Ticket.EncPart.Cipher) + len(r.Authenticator.Cipher))
	b.AddASN1(app(MsgAPReq), func(b *builder) {
		addSeq(b, func(b *builder) {
			addInt(b, 0, PVNO)
			addInt(b, 1, MsgAPReq)
			addFlags(b, 2, uint32(r.Options))
			field(b, 3, r.Ticket.marshal)
			field(b, 4, r.Authenticator.marshal)
		})
	})
	return b.Bytes()
}

// ParseAPReq decodes an AP-REQ.
func ParseAPReq(b []byte) (*APReq, error) {
	q := readApp(b, MsgAPReq, "AP-REQ")
	var r APReq
	q.int64(q.req(0), PVNO, PVNO, "pvno")
	q.int64(q.req(1), MsgAPReq, MsgAPReq, "msg-type")
	r.Options = APOptions(q.flags(q.req(2), "ap-options"))
	r.Ticket = q.ticket(q.req(3))
	r.Authenticator = q.encryptedData(q.req(4), "authenticator")
	if err := q.end(4); err != nil {
		return nil, err
	}
	return &r, nil
}

// Authenticator proves an AP-REQ's sender holds the ticket's session key
// (RFC 4120 section 5.5.1).
type Authenticator struct {
	CRealm    string
	CName     PrincipalName
	Cksum     *Checksum
	Cusec     int32
	CTime     time.Time
	Subkey    *EncryptionKey
	SeqNumber *uint32
	AuthData  AuthorizationData
}

// Marshal encodes the authenticator as the plaintext of an AP-REQ's
// authenticator field.
func (a *Authenticator) Marshal() ([]byte, error) {
	var b builder
	b.AddASN1(app(tagAuthenticator), func(b *builder) {
		addSeq(b, func(b *builder) {
			addInt(b, 0, PVNO)
			addString(b, 1, a.CRealm)
			field(b, 2, a.CName.marshal)
			if a.Cksum != nil {
				field(b, 3, a.Cksum.marshal)
			}
			addInt(b, 4, int64(a.Cusec))
			addTime(b, 5, a.CTime)
			if a.Subkey != nil {
				field(b, 6, a.Subkey.marshal)
			}
			if a.SeqNumber != nil {
				addInt(b, 7, int64(*a.SeqNumber))
			}
			if a.AuthData != nil {
				field(b, 8, a.AuthData.marshal)
			}
		})
	})
	return b.Bytes()
}

// ParseAuthenticator decodes the plaintext of an AP-REQ's authenticator.
func ParseAuthenticator(b []byte) (*Authenticator, error) {
	q := readApp(b, tagAuthenticator, "Authenticator")
	var a Authenticator
	q.int64(q.req(0), PVNO, PVNO, "authenticator-vno")
	a.CRealm = q.string(q.req(1), "crealm")
	a.CName = q.principal(q.req(2), "cname")
	if v, ok := q.opt(3); ok {
		c := q.checksum(v, "cksum")
		a.Cksum = &c
	}
	a.Cusec = int32(q.int64(q.req(4), 0, 999999, "cusec"))
	a.CTime = q.time(q.req(5), "ctime")
	if v, ok := q.opt(6); ok {
		k := q.encryptionKey(v, "subkey")
		a.Subkey = &k
	}
	if v, ok := q.opt(7); ok {
		n := q.uint32(v, "seq-number")
		a.SeqNumber = &n
	}
	if v, ok := q.opt(8); ok {
		a.AuthData = q.authData(v, "authorization-data")
	}
	if err := q.end(8); err != nil {
		return nil, err
	}
	return &a, nil
}

// APRep is an AP-REP (RFC 4120 section 5.5.2), the acceptor's answer for
// mutual authentication.
type APRep struct {
	EncPart EncryptedData
}

// Marshal encodes the AP-REP.
func (r *APRep) Marshal() ([]byte, error) {
	b := newBuilder(len(r.EncPart.Cipher))
	b.AddASN1(app(MsgAPRep), func(b *builder) {
		addSeq(b, func(b *builder) {
			addInt(b, 0, PVNO)
			addInt(b, 1, MsgAPRep)
			field(b, 2, r.EncPart.marshal)
		})
	})
	return b.Bytes()
}

// ParseAPRep decodes an AP-REP.
func ParseAPRep(b []byte) (*APRep, error) {
	q := readApp(b, MsgAPRep, "AP-REP")
	var r APRep
	q.int64(q.req(0), PVNO, PVNO, "pvno")
	q.int64(q.req(1), MsgAPRep, MsgAPRep, "msg-type")
	r.EncPart = q.encryptedData(q.req(2), "enc-part")
	if err := q.end(2); err != nil {
		return nil, err
	}
	return &r, nil
}

// EncAPRepPart is the plaintext of an AP-REP (RFC 4120 section 5.5.2):
// the authenticator's time echoed, and the acceptor's subkey and initial
// sequence number.
type EncAPRepPart struct {
	CTime     time.Time
	Cusec     int32
	Subkey    *EncryptionKey
	SeqNumber *uint32
}

// Marshal encodes the structure.
func (e *EncAPRepPart) Marshal() ([]byte, error) {
	var b builder
	b.AddASN1(app(tagEncAPRepPart), func(b *builder) {
		addSeq(b, func(b *builder) {
			addTime(b, 0, e.CTime)
			addInt(b, 1, int64(e.Cusec))
			if e.Subkey != nil {
				field(b, 2, e.Subkey.marshal)
			}
			if e.SeqNumber != nil {
				addInt(b, 3, int64(*e.SeqNumber))
			}
		})
	})
	return b.Bytes()
}

// ParseEncAPRepPart decodes the plaintext of an AP-REP.
func ParseEncAPRepPart(b []byte) (*EncAPRepPart, error) {
	q := readApp(b, tagEncAPRepPart, "EncAPRepPart")
	var e EncAPRepPart
	e.CTime = q.time(q.req(0), "ctime")
	e.Cusec = int32(q.int64(q.req(1), 0, 999999, "cusec"))
	if v, ok := q.opt(2); ok {
		k := q.encryptionKey(v, "subkey")
		e.Subkey = &k
	}
	if v, ok := q.opt(3); ok {
		n := q.uint32(v, "seq-number")
		e.SeqNumber = &n
	}
	if err := q.end(3); err != nil {
		return nil, err
	}
	return &e, nil
}

// KRBError is a KRB-ERROR (RFC 4120 section 5.9.1). It is an error too:
// its text names the code and carries e-text, and it unwraps to the
// ErrorCode, so errors.Is(err, msg.KDCErrPreauthFailed) finds it.
type KRBError struct {
	CTime     time.Time // optional
	Cusec     *int32
	STime     time.Time
	SUsec     int32
	ErrorCode ErrorCode
	CRealm    string // optional
	CName     *PrincipalName
	Realm     string
	SName     PrincipalName
	EText     string // optional
	EData     []byte
}

func (e *KRBError) Error() string {
	if e.EText != "" {
		return fmt.Sprintf("kerberos: %v: %s", e.ErrorCode, e.EText)
	}
	return "kerberos: " + e.ErrorCode.String()
}

// Unwrap returns the error code.
func (e *KRBError) Unwrap() error { return e.ErrorCode }

// Marshal encodes the KRB-ERROR.
func (e *KRBError) Marshal() ([]byte, error) {
	var b builder
	b.AddASN1(app(MsgKRBError), func(b *builder) {
		addSeq(b, func(b *builder) {
			addInt(b, 0, PVNO)
			addInt(b, 1, MsgKRBError)
			if !e.CTime.IsZero() {
				addTime(b, 2, e.CTime)
			}
			if e.Cusec != nil {
				addInt(b, 3, int64(*e.Cusec))
			}
			addTime(b, 4, e.STime)
			addInt(b, 5, int64(e.SUsec))
			addInt(b, 6, int64(e.ErrorCode))
			if e.CRealm != "" {
				addString(b, 7, e.CRealm)
			}
			if e.CName != nil {
				field(b, 8, e.CName.marshal)
			}
			addString(b, 9, e.Realm)
			field(b, 10, e.SName.marshal)
			if e.EText != "" {
				addString(b, 11, e.EText)
			}
			if e.EData != nil {
				addOctets(b, 12, e.EData)
			}
		})
	})
	return b.Bytes()
}

// ParseKRBError decodes a KRB-ERROR.
func ParseKRBError(b []byte) (*KRBError, error) {
	q := readApp(b, MsgKRBError, "KRB-ERROR")
	var e KRBError
	q.int64(q.req(0), PVNO, PVNO, "pvno")
	q.int64(q.req(1), MsgKRBError, MsgKRBError, "msg-type")
	if v, ok := q.opt(2); ok {
		e.CTime = q.time(v, "ctime")
	}
	if v, ok := q.opt(3); ok {
		n := int32(q.int64(v, 0, 999999, "cusec"))
		e.Cusec = &n
	}
	e.STime = q.time(q.req(4), "stime")
	e.SUsec = int32(q.int64(q.req(5), 0, 999999, "susec"))
	e.ErrorCode = ErrorCode(q.int32(q.req(6), "error-code"))
	if v, ok := q.opt(7); ok {
		e.CRealm = q.string(v, "crealm")
	}
	if v, ok := q.opt(8); ok {
		p := q.principal(v, "cname")
		e.CName = &p
	}
	e.Realm = q.string(q.req(9), "realm")
	e.SName = q.principal(q.req(10), "sname")
	if v, ok := q.opt(11); ok {
		e.EText = q.string(v, "e-text")
	}
	if v, ok := q.opt(12); ok {
		e.EData = q.octets(v, "e-data")
	}
	if err := q.end(12); err != nil {
		return nil, err
	}
	return &e, nil
}

// PAEncTSEnc is the plaintext of PA-ENC-TIMESTAMP (RFC 4120 section
// 5.2.7.2): the client's time, encrypted in its long-term key.
type PAEncTSEnc struct {
	Timestamp time.Time
	Usec      *int32
}

// Marshal encodes the structure.
func (p *PAEncTSEnc) Marshal() ([]byte, error) {
	var b builder
	addSeq(&b, func(b *builder) {
		addTime(b, 0, p.Timestamp)
		if p.Usec != nil {
			addInt(b, 1, int64(*p.Usec))
		}
	})
	return b.Bytes()
}

// ParsePAEncTSEnc decodes the plaintext of PA-ENC-TIMESTAMP.
func ParsePAEncTSEnc(b []byte) (*PAEncTSEnc, error) {
	if len(b) > MaxMessageSize {
		return nil, malformed("PA-ENC-TS-ENC", "%d bytes", len(b))
	}
	q := readSeq(b, cbasn1.SEQUENCE, "PA-ENC-TS-ENC")
	var p PAEncTSEnc
	p.Timestamp = q.time(q.req(0), "patimestamp")
	if v, ok := q.opt(1); ok {
		n := int32(q.int64(v, 0, 999999, "pausec"))
		p.Usec = &n
	}
	if err := q.end(1); err != nil {
		return nil, err
	}
	return &p, nil
}

// ETypeInfo2Entry tells a client how to make its key of one encryption
// type (RFC 4120 section 5.2.7.5). A nil Salt means the default salt.
type ETypeInfo2Entry struct {
	EType     int32
	Salt      *string
	S2KParams []byte
}

// ETypeInfo2 is the value of PA-ETYPE-INFO2, in the KDC's order of
// preference.
type ETypeInfo2 []ETypeInfo2Entry

// Marshal encodes the list.
func (info ETypeInfo2) Marshal() ([]byte, error) {
	var b builder
	addSeq(&b, func(b *builder) {
		for _, e := range info {
			addSeq(b, func(b *builder) {
				addInt(b, 0, int64(e.EType))
				if e.Salt != nil {
					addString(b, 1, *e.Salt)
				}
				if e.S2KParams != nil {
					addOctets(b, 2, e.S2KParams)
				}
			})
		}
	})
	return b.Bytes()
}

// ParseETypeInfo2 decodes the value of PA-ETYPE-INFO2, which must list at
// least one entry.
func ParseETypeInfo2(b []byte) (ETypeInfo2, error) {
	f := &fields{what: "ETYPE-INFO2"}
	if len(b) > MaxMessageSize {
		f.fail("%d bytes", len(b))
		return nil, f.err
	}
	var info ETypeInfo2
	f.seqOf(b, "ETYPE-INFO2", func(el cryptobyte.String) {
		q := readSeq(el, cbasn1.SEQUENCE, "ETYPE-INFO2-ENTRY")
		e := ETypeInfo2Entry{EType: q.int32(q.req(0), "etype")}
		if v, ok := q.opt(1); ok {
			s := q.string(v, "salt")
			e.Salt = &s
		}
		if v, ok := q.opt(2); ok {
			e.S2KParams = q.octets(v, "s2kparams")
		}
		f.sub(q.end(2))
		info = append(info, e)
	})
	if f.err == nil && len(info) == 0 {
		f.fail("no entries")
	}
	if f.err != nil {
		return nil, f.err
	}
	return info, nil
}

// PACRequest is KERB-PA-PAC-REQUEST (MS-KILE 2.2.3), the value of
// PA-PAC-REQUEST: whether the client wants a PAC in its tickets.
type PACRequest struct {
	IncludePAC bool
}

// Marshal encodes the structure.
func (p *PACRequest) Marshal() ([]byte, error) {
	var b builder
	addSeq(&b, func(b *builder) {
		field(b, 0, func(b *builder) { b.AddASN1Boolean(p.IncludePAC) })
	})
	return b.Bytes()
}

// ParsePACRequest decodes KERB-PA-PAC-REQUEST.
func ParsePACRequest(b []byte) (*PACRequest, error) {
	if len(b) > MaxMessageSize {
		return nil, malformed("KERB-PA-PAC-REQUEST", "%d bytes", len(b))
	}
	q := readSeq(b, cbasn1.SEQUENCE, "KERB-PA-PAC-REQUEST")
	p := PACRequest{IncludePAC: q.bool(q.req(0), "include-pac")}
	if err := q.end(0); err != nil {
		return nil, err
	}
	return &p, nil
}
