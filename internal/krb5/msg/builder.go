package msg

import (
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// builder writes DER into one growing buffer. It has the shape of the
// part of cryptobyte.Builder the encoders use, without its allocations:
// a constructed element reserves one length byte, and when it is closed
// and its content needs a longer length, the content moves over to make
// room. Encoding a ticket-sized message then costs a few memmoves and no
// allocation beyond the buffer, where cryptobyte allocates a child
// builder per element.
type builder struct {
	b   []byte
	err error
}

// newBuilder returns a builder with room for about n bytes, so that a
// message with large ciphertexts is not copied as its buffer grows.
func newBuilder(n int) *builder { return &builder{b: make([]byte, 0, n+256)} }

// AddASN1 writes an element with tag (a single-byte tag, below 31) whose
// content f writes.
func (b *builder) AddASN1(tag cbasn1.Tag, f func(*builder)) {
	b.b = append(b.b, byte(tag), 0)
	start := len(b.b)
	f(b)
	n := len(b.b) - start
	if n < 0x80 {
		b.b[start-1] = byte(n)
		return
	}
	k := 0
	for v := n; v > 0; v >>= 8 {
		k++
	}
	b.b = append(b.b, make([]byte, k)...)
	copy(b.b[start+k:], b.b[start:start+n])
	b.b[start-1] = 0x80 | byte(k)
	for i := k - 1; i >= 0; i-- {
		b.b[start+i] = byte(n)
		n >>= 8
	}
}

// AddASN1Int64 writes an INTEGER in the fewest bytes of two's complement.
func (b *builder) AddASN1Int64(v int64) {
	n := 1
	for w := v; w > 127 || w < -128; w >>= 8 {
		n++
	}
	b.b = append(b.b, byte(cbasn1.INTEGER), byte(n))
	for i := n - 1; i >= 0; i-- {
		b.b = append(b.b, byte(v>>(8*i)))
	}
}

// AddASN1OctetString writes an OCTET STRING.
func (b *builder) AddASN1OctetString(v []byte) {
	b.AddASN1(cbasn1.OCTET_STRING, func(b *builder) { b.AddBytes(v) })
}

// AddASN1Boolean writes a BOOLEAN, true as 0xff as DER wants.
func (b *builder) AddASN1Boolean(v bool) {
	if v {
		b.b = append(b.b, byte(cbasn1.BOOLEAN), 1, 0xff)
	} else {
		b.b = append(b.b, byte(cbasn1.BOOLEAN), 1, 0)
	}
}

func (b *builder) AddBytes(v []byte) { b.b = append(b.b, v...) }
func (b *builder) AddUint8(v uint8)  { b.b = append(b.b, v) }
func (b *builder) AddUint32(v uint32) {
	b.b = append(b.b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// SetError records the first error; Bytes returns it.
func (b *builder) SetError(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Bytes returns the encoding, or the first error.
func (b *builder) Bytes() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.b, nil
}
