package gss

import (
	"testing"

	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
)

// BenchmarkMICSignVerify1K is one MIC token made by one side and checked
// by the other, over 1 KiB.
func BenchmarkMICSignVerify1K(b *testing.B) {
	i, a := pair(b, kcrypto.AES256CTSHMACSHA196, true)
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for n := 0; n < b.N; n++ {
		if err := a.VerifyMIC(msg, i.MIC(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrapUnwrap64K is a sealed Wrap token of 64 KiB made and opened.
func BenchmarkWrapUnwrap64K(b *testing.B) {
	i, a := pair(b, kcrypto.AES256CTSHMACSHA196, true)
	msg := make([]byte, 64*1024)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for n := 0; n < b.N; n++ {
		tok, err := i.Wrap(msg, true)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := a.Unwrap(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealUnsealInPlace64K is the same in the SSPI buffer layout,
// encrypting and decrypting 64 KiB where it lies.
func BenchmarkSealUnsealInPlace64K(b *testing.B) {
	i, a := pair(b, kcrypto.AES256CTSHMACSHA196, true)
	msg := make([]byte, 64*1024)
	trailer := make([]byte, SealTrailerSize)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for n := 0; n < b.N; n++ {
		if _, err := i.SealInPlace(msg, trailer, true); err != nil {
			b.Fatal(err)
		}
		if _, err := a.UnsealInPlace(msg, trailer); err != nil {
			b.Fatal(err)
		}
	}
}
