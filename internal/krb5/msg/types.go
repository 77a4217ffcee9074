package msg

import (
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// PrincipalName names a client or a service (RFC 4120 section 5.2.2).
type PrincipalName struct {
	NameType   int32
	NameString []string
}

// NewPrincipal returns the name of the given type made of components.
func NewPrincipal(nameType int32, components ...string) PrincipalName {
	return PrincipalName{NameType: nameType, NameString: components}
}

// ParsePrincipal splits a name written as components joined by "/" (such
// as "HTTP/web01.contoso.test" or "alice"), with the given type.
func ParsePrincipal(nameType int32, s string) PrincipalName {
	return PrincipalName{NameType: nameType, NameString: strings.Split(s, "/")}
}

// String joins the components with "/".
func (p PrincipalName) String() string { return strings.Join(p.NameString, "/") }

// Equal reports whether p and o have the same components. The name type
// is a hint that RFC 4120 section 6.2 says not to compare.
func (p PrincipalName) Equal(o PrincipalName) bool {
	if len(p.NameString) != len(o.NameString) {
		return false
	}
	for i := range p.NameString {
		if p.NameString[i] != o.NameString[i] {
			return false
		}
	}
	return true
}

// EqualFold is Equal ignoring case, as Windows compares names.
func (p PrincipalName) EqualFold(o PrincipalName) bool {
	if len(p.NameString) != len(o.NameString) {
		return false
	}
	for i := range p.NameString {
		if !strings.EqualFold(p.NameString[i], o.NameString[i]) {
			return false
		}
	}
	return true
}

func (p *PrincipalName) marshal(b *builder) {
	addSeq(b, func(b *builder) {
		addInt(b, 0, int64(p.NameType))
		field(b, 1, func(b *builder) {
			addSeq(b, func(b *builder) {
				for _, s := range p.NameString {
					addGeneralString(b, s)
				}
			})
		})
	})
}

func (f *fields) principal(in cryptobyte.String, name string) PrincipalName {
	q := readSeq(in, cbasn1.SEQUENCE, name)
	var p PrincipalName
	p.NameType = q.int32(q.req(0), "name-type")
	q.seqOf(q.req(1), "name-string", func(el cryptobyte.String) {
		p.NameString = append(p.NameString, q.string(el, "name-string"))
	})
	f.sub(q.end(1))
	return p
}

// EncryptionKey is a key on the wire (RFC 4120 section 5.2.9).
type EncryptionKey struct {
	KeyType  int32
	KeyValue []byte
}

func (k *EncryptionKey) marshal(b *builder) {
	addSeq(b, func(b *builder) {
		addInt(b, 0, int64(k.KeyType))
		addOctets(b, 1, k.KeyValue)
	})
}

func (f *fields) encryptionKey(in cryptobyte.String, name string) EncryptionKey {
	q := readSeq(in, cbasn1.SEQUENCE, name)
	k := EncryptionKey{KeyType: q.int32(q.req(0), "keytype"), KeyValue: q.octets(q.req(1), "keyvalue")}
	f.sub(q.end(1))
	return k
}

// EncryptedData is ciphertext with its encryption type and the version
// of the key (RFC 4120 section 5.2.9). KVNO 0 means absent.
type EncryptedData struct {
	EType  int32
	KVNO   uint32
	Cipher []byte
}

func (e *EncryptedData) marshal(b *builder) {
	addSeq(b, func(b *builder) {
		addInt(b, 0, int64(e.EType))
		if e.KVNO != 0 {
			addInt(b, 1, int64(e.KVNO))
		}
		addOctets(b, 2, e.Cipher)
	})
}

// Marshal encodes the structure alone, as the value of PA-ENC-TIMESTAMP
// holds it.
func (e *EncryptedData) Marshal() ([]byte, error) {
	var b builder
	e.marshal(&b)
	return b.Bytes()
}

// ParseEncryptedData decodes an EncryptedData encoded alone, such as the
// value of PA-ENC-TIMESTAMP.
func ParseEncryptedData(b []byte) (*EncryptedData, error) {
	if len(b) > MaxMessageSize {
		return nil, malformed("EncryptedData", "%d bytes", len(b))
	}
	f := &fields{what: "EncryptedData"}
	e := f.encryptedData(b, "EncryptedData")
	if f.err != nil {
		return nil, f.err
	}
	return &e, nil
}

func (f *fields) encryptedData(in cryptobyte.String, name string) EncryptedData {
	q := readSeq(in, cbasn1.SEQUENCE, name)
	var e EncryptedData
	e.EType = q.int32(q.req(0), "etype")
	if v, ok := q.opt(1); ok {
		e.KVNO = q.uint32(v, "kvno")
	}
	e.Cipher = q.octets(q.req(2), "cipher")
	f.sub(q.end(2))
	return e
}

// Checksum is a checksum and its type (RFC 4120 section 5.2.9).
type Checksum struct {
	CksumType int32
	Checksum  []byte
}

func (c *Checksum) marshal(b *builder) {
	addSeq(b, func(b *builder) {
		addInt(b, 0, int64(c.CksumType))
		addOctets(b, 1, c.Checksum)
	})
}

func (f *fields) checksum(in cryptobyte.String, name string) Checksum {
	q := readSeq(in, cbasn1.SEQUENCE, name)
	c := Checksum{CksumType: q.int32(q.req(0), "cksumtype"), Checksum: q.octets(q.req(1), "checksum")}
	f.sub(q.end(1))
	return c
}

// HostAddress is a network address (RFC 4120 section 5.2.5).
type HostAddress struct {
	AddrType int32
	Address  []byte
}

func marshalAddresses(b *builder, tag int, as []HostAddress) {
	field(b, tag, func(b *builder) {
		addSeq(b, func(b *builder) {
			for _, a := range as {
				addSeq(b, func(b *builder) {
					addInt(b, 0, int64(a.AddrType))
					addOctets(b, 1, a.Address)
				})
			}
		})
	})
}

func (f *fields) addresses(in cryptobyte.String, name string) []HostAddress {
	as := []HostAddress{}
	f.seqOf(in, name, func(el cryptobyte.String) {
		q := readSeq(el, cbasn1.SEQUENCE, name)
		as = append(as, HostAddress{AddrType: q.int32(q.req(0), "addr-type"), Address: q.octets(q.req(1), "address")})
		f.sub(q.end(1))
	})
	return as
}

// AuthorizationData is a list of typed authorization elements (RFC 4120
// section 5.2.6). An element's data is often AuthorizationData itself
// (AD-IF-RELEVANT); ParseAuthorizationData reads it.
type AuthorizationData []ADEntry

// ADEntry is one element of AuthorizationData.
type ADEntry struct {
	ADType int32
	ADData []byte
}

func (ad AuthorizationData) marshal(b *builder) {
	addSeq(b, func(b *builder) {
		for _, e := range ad {
			addSeq(b, func(b *builder) {
				addInt(b, 0, int64(e.ADType))
				addOctets(b, 1, e.ADData)
			})
		}
	})
}

// Marshal encodes the list, as the data of an AD-IF-RELEVANT element
// holds it.
func (ad AuthorizationData) Marshal() ([]byte, error) {
	var b builder
	ad.marshal(&b)
	return b.Bytes()
}

// ParseAuthorizationData decodes AuthorizationData, such as the data of
// an AD-IF-RELEVANT element.
func ParseAuthorizationData(b []byte) (AuthorizationData, error) {
	f := &fields{what: "AuthorizationData"}
	if len(b) > MaxMessageSize {
		f.fail("%d bytes", len(b))
		return nil, f.err
	}
	ad := f.authData(b, "AuthorizationData")
	return ad, f.err
}

func (f *fields) authData(in cryptobyte.String, name string) AuthorizationData {
	ad := AuthorizationData{}
	f.seqOf(in, name, func(el cryptobyte.String) {
		q := readSeq(el, cbasn1.SEQUENCE, name)
		ad = append(ad, ADEntry{ADType: q.int32(q.req(0), "ad-type"), ADData: q.octets(q.req(1), "ad-data")})
		f.sub(q.end(1))
	})
	return ad
}

// PAData is one element of pre-authentication data (RFC 4120 section
// 5.2.7); its value is another structure, by its type.
type PAData struct {
	Type  int32
	Value []byte
}

func marshalPAData(b *builder, pa []PAData) {
	addSeq(b, func(b *builder) {
		for _, p := range pa {
			addSeq(b, func(b *builder) {
				addInt(b, 1, int64(p.Type))
				addOctets(b, 2, p.Value)
			})
		}
	})
}

func (f *fields) paData(in cryptobyte.String, name string) []PAData {
	pa := []PAData{}
	f.seqOf(in, name, func(el cryptobyte.String) {
		q := readSeq(el, cbasn1.SEQUENCE, name)
		pa = append(pa, PAData{Type: q.int32(q.req(1), "padata-type"), Value: q.octets(q.req(2), "padata-value")})
		f.sub(q.end(2))
	})
	return pa
}

// FindPAData returns the value of the first element of type t, if any.
func FindPAData(pa []PAData, t int32) ([]byte, bool) {
	for _, p := range pa {
		if p.Type == t {
			return p.Value, true
		}
	}
	return nil, false
}

// MethodData is METHOD-DATA, the list of pre-authentication methods a KDC
// sends as the e-data of KDC_ERR_PREAUTH_REQUIRED.
type MethodData []PAData

// Marshal encodes the list.
func (m MethodData) Marshal() ([]byte, error) {
	var b builder
	marshalPAData(&b, m)
	return b.Bytes()
}

// ParseMethodData decodes METHOD-DATA.
func ParseMethodData(b []byte) (MethodData, error) {
	f := &fields{what: "METHOD-DATA"}
	if len(b) > MaxMessageSize {
		f.fail("%d bytes", len(b))
		return nil, f.err
	}
	m := f.paData(b, "METHOD-DATA")
	return m, f.err
}

// LastReq is one element of the last-req field of a KDC reply.
type LastReq struct {
	Type  int32
	Value time.Time
}

// TransitedEncoding lists the realms a cross-realm ticket went through
// (RFC 4120 section 5.3); empty within one realm.
type TransitedEncoding struct {
	TrType   int32
	Contents []byte
}
