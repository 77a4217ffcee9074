package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"testing"
)

// BenchmarkHandshake is a complete handshake as the backend runs it: both
// state machines, all three messages, and the session key schedule on both
// sides. The NT hash lookup is the caller's (a map here).
func BenchmarkHandshake(b *testing.B) {
	cc, sc := testClientConfig(), testServerConfig()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c, s := NewClient(cc), NewServer(sc)
		neg, err := c.Negotiate()
		if err != nil {
			b.Fatal(err)
		}
		ch, err := s.Challenge(neg)
		if err != nil {
			b.Fatal(err)
		}
		auth, err := c.Authenticate(ch)
		if err != nil {
			b.Fatal(err)
		}
		res, err := s.Authenticate(auth)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := NewSession(c.SessionKey(), c.NegotiatedFlags(), true); err != nil {
			b.Fatal(err)
		}
		if _, err := NewSession(res.SessionKey, res.Flags, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal64K(b *testing.B) {
	client, _ := sessions(b)
	msg := randomBytes(64 * 1024)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		client.Seal(msg)
	}
}

func BenchmarkUnseal64K(b *testing.B) {
	client, server := sessions(b)
	msg := randomBytes(64 * 1024)
	sealed, sig := client.Seal(msg)
	_ = server.recv.ensure(server.key[:], server.flags)
	saved, savedRC4 := server.recv, *server.recv.rc4 // rewind after each Unseal so the same token verifies again
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := server.Unseal(sealed, sig); err != nil {
			b.Fatal(err)
		}
		server.recv = saved
		*server.recv.rc4 = savedRC4
	}
}

func BenchmarkSignVerify(b *testing.B) {
	client, server := sessions(b)
	msg := randomBytes(100)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := server.Verify(msg, client.Sign(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestoreSession1MiB shows the cost of importing a context that has
// moved 1 MiB in each direction from a state without the RC4 states (an
// older packed context): RC4 is replayed to reach its position.
func BenchmarkRestoreSession1MiB(b *testing.B) {
	client, _ := sessions(b)
	st := client.State()
	st.SendStream, st.RecvStream = 1<<20, 1<<20
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := RestoreSession(st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestoreSessionCipher is the import of a context that has moved
// 1 GiB in each direction, from a state that carries the RC4 states: the
// position is only a counter (TestCipherStateIgnoresPosition), so the cost
// is the same as after one message.
func BenchmarkRestoreSessionCipher(b *testing.B) {
	client, server := sessions(b)
	sealed, sig := server.Seal([]byte("one message each way"))
	if _, err := client.Unseal(sealed, sig); err != nil {
		b.Fatal(err)
	}
	client.Seal([]byte("one message each way"))
	st := client.State()
	st.SendStream, st.RecvStream = 1<<30, 1<<30
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := RestoreSession(st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorRC4_64K and BenchmarkFloorHMACMD5_64K measure the standard
// library primitives alone: NTLM sealing is one pass of each per side, so
// they bound what Seal and Unseal can reach (see BENCHMARKS.md).
func BenchmarkFloorRC4_64K(b *testing.B) {
	buf := make([]byte, 64<<10)
	c, _ := rc4.NewCipher(make([]byte, 16))
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		c.XORKeyStream(buf, buf)
	}
}

// BenchmarkFloorSealUnseal64K is what a seal and an unseal of 64 KiB cost
// at least when built on crypto/rc4: on each side one HMAC-MD5 pass and one
// RC4 pass, one after the other. It is the bar the Store's seal path is
// measured against (BENCHMARKS.md).
func BenchmarkFloorSealUnseal64K(b *testing.B) {
	buf := make([]byte, 64<<10)
	send, _ := rc4.NewCipher(make([]byte, 16))
	recv, _ := rc4.NewCipher(make([]byte, 16))
	h := hmac.New(md5.New, make([]byte, 16))
	var sum [md5.Size]byte
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		for _, c := range []*rc4.Cipher{send, recv} {
			h.Reset()
			h.Write(buf)
			h.Sum(sum[:0])
			c.XORKeyStream(buf, buf)
		}
	}
}

func BenchmarkFloorHMACMD5_64K(b *testing.B) {
	buf := make([]byte, 64<<10)
	h := hmac.New(md5.New, make([]byte, 16))
	var sum [md5.Size]byte
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		h.Reset()
		h.Write(buf)
		h.Sum(sum[:0])
	}
}
