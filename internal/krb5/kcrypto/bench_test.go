package kcrypto

import "testing"

func BenchmarkDerive(b *testing.B) {
	k := testKey(b, AES256CTSHMACSHA196)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d, err := k.Derive(UsageAPReqAuthenticator)
		if err != nil {
			b.Fatal(err)
		}
		d.enc()
		d.sum()
	}
}

func BenchmarkEncryptDecrypt64K(b *testing.B) {
	k := testKey(b, AES256CTSHMACSHA196)
	d, err := k.Derive(UsageGSSInitiatorSeal)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 64*1024)
	var ct, pt []byte
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if ct, err = d.AppendEncrypt(ct[:0], nil, msg); err != nil {
			b.Fatal(err)
		}
		if pt, err = d.AppendDecrypt(pt[:0], ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStringToKey(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := StringToKey(AES256CTSHMACSHA196, "password", "CONTOSO.TESTalice", nil); err != nil {
			b.Fatal(err)
		}
	}
}
