package msg

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrMalformed reports a message that cannot be decoded. Every decoding
// error wraps it.
var ErrMalformed = errors.New("msg: malformed Kerberos message")

// MaxMessageSize bounds the messages the decoders accept. Kerberos
// messages over TCP may be larger in principle; tickets with big PACs stay
// far below this.
const MaxMessageSize = 1 << 20

// ASN.1 tags of the types Kerberos uses.
const (
	tagGeneralString = cbasn1.Tag(27)
)

// app is the constructed [APPLICATION n] tag of a Kerberos message.
func app(n int) cbasn1.Tag { return cbasn1.Tag(n) | 0x40 | 0x20 }

// ctx is the constructed [n] tag of an explicitly tagged field.
func ctx(n int) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific().Constructed() }

// malformed wraps ErrMalformed with what was being decoded.
func malformed(what string, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, what, fmt.Sprintf(format, args...))
}

// Encoding helpers. A builder records the first error (a time beyond
// year 9999); Marshal methods return it.

func field(b *builder, tag int, f func(*builder)) {
	b.AddASN1(ctx(tag), f)
}

func addInt(b *builder, tag int, v int64) {
	field(b, tag, func(b *builder) { b.AddASN1Int64(v) })
}

func addString(b *builder, tag int, s string) {
	field(b, tag, func(b *builder) { addGeneralString(b, s) })
}

func addGeneralString(b *builder, s string) {
	b.AddASN1(tagGeneralString, func(b *builder) { b.AddBytes([]byte(s)) })
}

func addOctets(b *builder, tag int, v []byte) {
	field(b, tag, func(b *builder) { b.AddASN1OctetString(v) })
}

// addTime writes a KerberosTime: GeneralizedTime in UTC, whole seconds.
func addTime(b *builder, tag int, t time.Time) {
	field(b, tag, func(b *builder) {
		t = t.UTC()
		if t.Year() < 0 || t.Year() > 9999 {
			b.SetError(fmt.Errorf("msg: time %v cannot be a KerberosTime", t))
			return
		}
		b.AddASN1(cbasn1.GeneralizedTime, func(b *builder) {
			var d [15]byte
			put := func(at, w, v int) {
				for i := at + w - 1; i >= at; i-- {
					d[i] = byte('0' + v%10)
					v /= 10
				}
			}
			put(0, 4, t.Year())
			put(4, 2, int(t.Month()))
			put(6, 2, t.Day())
			put(8, 2, t.Hour())
			put(10, 2, t.Minute())
			put(12, 2, t.Second())
			d[14] = 'Z'
			b.AddBytes(d[:])
		})
	})
}

// addFlags writes KerberosFlags: a BIT STRING of 32 bits, bit 0 first.
func addFlags(b *builder, tag int, f uint32) {
	field(b, tag, func(b *builder) {
		b.AddASN1(cbasn1.BIT_STRING, func(b *builder) {
			b.AddUint8(0)
			b.AddUint32(f)
		})
	})
}

func addSeq(b *builder, f func(*builder)) {
	b.AddASN1(cbasn1.SEQUENCE, f)
}

// Decoding helpers.

// fields reads the fields of a SEQUENCE in order of their tags.
type fields struct {
	s    cryptobyte.String
	what string
	err  error
}

// readSeq reads a SEQUENCE with tag from s (all of it) and returns a
// reader of its fields.
func readSeq(s cryptobyte.String, tag cbasn1.Tag, what string) fields {
	var in cryptobyte.String
	if !s.ReadASN1(&in, tag) {
		return fields{what: what, err: malformed(what, "not a %s", tagName(tag))}
	}
	if !s.Empty() {
		return fields{what: what, err: malformed(what, "%d trailing bytes", len(s))}
	}
	return fields{s: in, what: what}
}

// readApp reads [APPLICATION n] SEQUENCE { ... } from all of b.
func readApp(b []byte, n int, what string) fields {
	if len(b) > MaxMessageSize {
		return fields{what: what, err: malformed(what, "%d bytes, more than %d", len(b), MaxMessageSize)}
	}
	var in cryptobyte.String
	s := cryptobyte.String(b)
	if !s.ReadASN1(&in, app(n)) {
		return fields{what: what, err: malformed(what, "not an [APPLICATION %d]", n)}
	}
	if !s.Empty() {
		return fields{what: what, err: malformed(what, "%d trailing bytes", len(s))}
	}
	return readSeq(in, cbasn1.SEQUENCE, what)
}

func tagName(t cbasn1.Tag) string {
	if t == cbasn1.SEQUENCE {
		return "SEQUENCE"
	}
	return fmt.Sprintf("tag %#x", uint8(t))
}

func (f *fields) fail(format string, args ...any) {
	if f.err == nil {
		f.err = malformed(f.what, format, args...)
	}
}

// opt returns the content of field [tag] if it is next.
func (f *fields) opt(tag int) (cryptobyte.String, bool) {
	if f.err != nil {
		return nil, false
	}
	var in cryptobyte.String
	var present bool
	if !f.s.ReadOptionalASN1(&in, &present, ctx(tag)) {
		f.fail("bad encoding at field %d", tag)
		return nil, false
	}
	return in, present
}

// req returns the content of field [tag], which must be next.
func (f *fields) req(tag int) cryptobyte.String {
	in, ok := f.opt(tag)
	if !ok {
		f.fail("field %d missing", tag)
	}
	return in
}

// end checks that what is left are only extensions: fields with context
// tags above the last known one (maxTag).
func (f *fields) end(maxTag int) error {
	for f.err == nil && !f.s.Empty() {
		var tag cbasn1.Tag
		var skip cryptobyte.String
		if !f.s.ReadAnyASN1(&skip, &tag) {
			f.fail("bad encoding after the last field")
			break
		}
		if tag&0xc0 != 0x80 || int(tag&0x1f) <= maxTag {
			f.fail("unexpected element %#x after the fields", uint8(tag))
		}
	}
	return f.err
}

// Typed readers of a field's content. Each must consume all of it.

func (f *fields) int64(in cryptobyte.String, lo, hi int64, name string) int64 {
	var v int64
	if f.err != nil {
		return 0
	}
	if !in.ReadASN1Int64WithTag(&v, cbasn1.INTEGER) || !in.Empty() {
		f.fail("%s is not an integer", name)
		return 0
	}
	if v < lo || v > hi {
		f.fail("%s %d out of range", name, v)
		return 0
	}
	return v
}

func (f *fields) int32(in cryptobyte.String, name string) int32 {
	return int32(f.int64(in, -1<<31, 1<<31-1, name))
}

// uint32 reads a UInt32. Windows encodes values of 2**31 and above (its
// nonces and sequence numbers) as the negative INTEGERs of their signed
// 32-bit reading, which MIT accepts too; so does this.
func (f *fields) uint32(in cryptobyte.String, name string) uint32 {
	return uint32(f.int64(in, -1<<31, 1<<32-1, name))
}

func (f *fields) string(in cryptobyte.String, name string) string {
	var s cryptobyte.String
	if f.err != nil {
		return ""
	}
	if !in.ReadASN1(&s, tagGeneralString) || !in.Empty() {
		f.fail("%s is not a GeneralString", name)
		return ""
	}
	return string(s)
}

func (f *fields) octets(in cryptobyte.String, name string) []byte {
	var s cryptobyte.String
	if f.err != nil {
		return nil
	}
	if !in.ReadASN1(&s, cbasn1.OCTET_STRING) || !in.Empty() {
		f.fail("%s is not an OCTET STRING", name)
		return nil
	}
	return append([]byte{}, s...)
}

func (f *fields) bool(in cryptobyte.String, name string) bool {
	var v bool
	if f.err != nil {
		return false
	}
	if !in.ReadASN1Boolean(&v) || !in.Empty() {
		f.fail("%s is not a BOOLEAN", name)
	}
	return v
}

// time reads a KerberosTime: GeneralizedTime "YYYYMMDDHHMMSSZ", nothing
// more or less (RFC 4120 section 5.2.3).
func (f *fields) time(in cryptobyte.String, name string) time.Time {
	var s cryptobyte.String
	if f.err != nil {
		return time.Time{}
	}
	if !in.ReadASN1(&s, cbasn1.GeneralizedTime) || !in.Empty() || len(s) != 15 || s[14] != 'Z' {
		f.fail("%s is not a KerberosTime", name)
		return time.Time{}
	}
	var v [6]int // year, month, day, hour, minute, second
	widths := [6]int{4, 2, 2, 2, 2, 2}
	pos := 0
	for i, w := range widths {
		for j := 0; j < w; j++ {
			c := s[pos]
			if c < '0' || c > '9' {
				f.fail("%s is not a KerberosTime", name)
				return time.Time{}
			}
			v[i] = v[i]*10 + int(c-'0')
			pos++
		}
	}
	t := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], 0, time.UTC)
	// time.Date normalizes out-of-range fields (month 13 is January);
	// a real date comes back as it went in.
	if t.Year() != v[0] || int(t.Month()) != v[1] || t.Day() != v[2] || t.Hour() != v[3] || t.Minute() != v[4] || t.Second() != v[5] {
		f.fail("%s: no such time %s", name, string(s))
		return time.Time{}
	}
	return t
}

// flags reads KerberosFlags: a BIT STRING of which the first 32 bits
// count (RFC 4120 section 5.2.8); fewer bits are padded with zeros.
func (f *fields) flags(in cryptobyte.String, name string) uint32 {
	var s cryptobyte.String
	if f.err != nil {
		return 0
	}
	if !in.ReadASN1(&s, cbasn1.BIT_STRING) || !in.Empty() || len(s) < 1 || s[0] > 7 || (len(s) == 1 && s[0] != 0) {
		f.fail("%s is not a BIT STRING", name)
		return 0
	}
	var v uint32
	for i := 0; i < 4 && i+1 < len(s); i++ {
		v |= uint32(s[i+1]) << (24 - 8*i)
	}
	if len(s) <= 4 {
		// Clear the unused bits of a short string.
		bits := 8*(len(s)-1) - int(s[0])
		v &= ^uint32(0) << (32 - bits)
	}
	return v
}

// seqOf calls each for every element of a SEQUENCE OF in in.
func (f *fields) seqOf(in cryptobyte.String, name string, each func(el cryptobyte.String)) {
	var s cryptobyte.String
	if f.err != nil {
		return
	}
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) || !in.Empty() {
		f.fail("%s is not a SEQUENCE OF", name)
		return
	}
	for !s.Empty() && f.err == nil {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1Element(&el, &tag) {
			f.fail("%s: bad element", name)
			return
		}
		each(el)
	}
}

// sub decodes a nested structure from el with dec, carrying its error
// up.
func (f *fields) sub(err error) {
	if err != nil && f.err == nil {
		f.err = err
	}
}
