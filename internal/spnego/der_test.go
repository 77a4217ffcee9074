package spnego

import (
	"encoding/asn1"
	"testing"

	"github.com/stretchr/testify/require"
)

// The hand-written encoders write what encoding/asn1 writes, across the
// short and long length forms.
func TestHandEncodersMatchEncodingASN1(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 1300, 65535, 65536, 1 << 24} {
		content := make([]byte, n)
		for i := range content {
			content[i] = byte(i)
		}
		want, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 3, IsCompound: true, Bytes: content})
		require.NoError(t, err)
		got, err := explicit(3, content)
		require.NoError(t, err)
		require.Equal(t, want, got, "explicit, %d bytes", n)

		want, err = asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: content})
		require.NoError(t, err)
		got, err = sequence(content)
		require.NoError(t, err)
		require.Equal(t, want, got, "sequence, %d bytes", n)

		octets, err := asn1.Marshal(content)
		require.NoError(t, err)
		want, err = asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: octets})
		require.NoError(t, err)
		got, err = appendField([]byte("prefix"), 2, content)
		require.NoError(t, err)
		require.Equal(t, append([]byte("prefix"), want...), got, "appendField, %d bytes", n)
		require.Equal(t, len(octets)-n, headerLen(n), "headerLen, %d bytes", n)
	}
	_, err := explicit(31, nil)
	require.NoError(t, err, "a high tag number goes through encoding/asn1")
}

// frame writes what encoding/asn1 writes for the framing.
func TestFrameMatchesEncodingASN1(t *testing.T) {
	oid, err := asn1.Marshal(OIDSPNEGO)
	require.NoError(t, err)
	require.Equal(t, oid, spnegoOIDDER)
	for _, n := range []int{0, 100, 200, 70000} {
		choice := make([]byte, n)
		want, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: 0, IsCompound: true, Bytes: append(append([]byte(nil), oid...), choice...)})
		require.NoError(t, err)
		require.Equal(t, want, frame(choice), "%d bytes", n)
	}
}
