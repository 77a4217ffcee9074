package msg

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TestBuilderMatchesCryptobyte: the builder writes the same DER as
// cryptobyte's, whose encoding of lengths and integers is the reference,
// around the length and integer boundaries.
func TestBuilderMatchesCryptobyte(t *testing.T) {
	ints := []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32769, 1 << 31, -1 << 31, 1<<32 - 1, 1<<63 - 1, -1 << 63}
	sizes := []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 17}
	for _, n := range sizes {
		for _, v := range ints {
			payload := bytes.Repeat([]byte{0xa5}, n)
			var ref cryptobyte.Builder
			ref.AddASN1(app(14), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(ctx(0), func(b *cryptobyte.Builder) { b.AddASN1Int64(v) })
					b.AddASN1(ctx(1), func(b *cryptobyte.Builder) { b.AddASN1OctetString(payload) })
					b.AddASN1(ctx(2), func(b *cryptobyte.Builder) { b.AddASN1Boolean(v < 0) })
				})
			})
			want, err := ref.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			var got builder
			got.AddASN1(app(14), func(b *builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *builder) {
					b.AddASN1(ctx(0), func(b *builder) { b.AddASN1Int64(v) })
					b.AddASN1(ctx(1), func(b *builder) { b.AddASN1OctetString(payload) })
					b.AddASN1(ctx(2), func(b *builder) { b.AddASN1Boolean(v < 0) })
				})
			})
			g, err := got.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want, g) {
				t.Fatalf("%d bytes, integer %d: the encodings differ", n, v)
			}
		}
	}
}
