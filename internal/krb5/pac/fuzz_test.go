package pac

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gosspi/gosspi/internal/krb5/internal/seedcorpus"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
)

func FuzzParse(f *testing.F) {
	_, raw := msPACExample(f)
	small := &PAC{Buffers: []Buffer{{Type: TypeClientInfo, Data: (&ClientInfo{Name: "a"}).Marshal()}, {Type: 99, Data: []byte{1}}}}
	seedcorpus.Sync(f, raw, small.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		again, err := Parse(p.Marshal())
		if err != nil {
			t.Fatalf("re-encoded PAC does not parse: %v", err)
		}
		if d := cmp.Diff(p.Buffers, again.Buffers); d != "" {
			t.Fatalf("round trip changed the buffers:\n%s", d)
		}
		// Whatever the buffers hold, decoding them must not panic.
		p.LogonInfo()
		p.ClientInfo()
		key, _ := kcrypto.NewKey(kcrypto.AES128CTSHMACSHA196, make([]byte, 16))
		p.VerifyServerSignature(key)
		p.VerifyKDCSignature(key)
	})
}

func FuzzParseLogonInfo(f *testing.F) {
	_, raw := msPACExample(f)
	p, err := Parse(raw)
	if err != nil {
		f.Fatal(err)
	}
	example, _ := p.Find(TypeLogonInfo)
	seedcorpus.Sync(f, example, sampleLogonInfo().Marshal(), (&LogonInfo{}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		li, err := ParseLogonInfo(b)
		if err != nil {
			return
		}
		again, err := ParseLogonInfo(li.Marshal())
		if err != nil {
			t.Fatalf("re-encoded logon information does not parse: %v", err)
		}
		if d := cmp.Diff(li, again); d != "" {
			t.Fatalf("round trip changed the logon information:\n%s", d)
		}
	})
}

func FuzzParseClientInfo(f *testing.F) {
	seedcorpus.Sync(f, (&ClientInfo{ClientID: 1, Name: "alice"}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseClientInfo(b)
		if err != nil {
			return
		}
		if _, err := ParseClientInfo(c.Marshal()); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseUPNDNSInfo(f *testing.F) {
	seedcorpus.Sync(f, (&UPNDNSInfo{UPN: "a@b", DNSDomainName: "B"}).Marshal(),
		(&UPNDNSInfo{UPN: "a@b", DNSDomainName: "B", Flags: UPNExtended, SAMName: "a", SID: MustParseSID("S-1-5-21-1-2")}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUPNDNSInfo(b)
		if err != nil {
			return
		}
		if _, err := ParseUPNDNSInfo(u.Marshal()); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseSignature(f *testing.F) {
	id := uint16(3)
	seedcorpus.Sync(f, (&Signature{Type: kcrypto.HMACSHA196AES256, Value: make([]byte, 12)}).Marshal(),
		(&Signature{Type: -138, Value: make([]byte, 16), RODCIdentifier: &id}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignature(b)
		if err != nil {
			return
		}
		if string(s.Marshal()) != string(b) {
			t.Fatal("signature does not encode back to its bytes")
		}
	})
}
