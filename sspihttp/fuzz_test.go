package sspihttp

import (
	"bytes"
	"testing"
)

// FuzzParseAuthorization feeds the server's header parser anything: it
// must not panic, and what it accepts must survive formatting again.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==", "Negotiate YIIB", "Basic dXNlcjpwYXNz", "NTLM", " NTLM  YWJj== ", "Negotiate a=b, c=\"d\"", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		scheme, tok, err := parseAuthorization(v, 1<<16)
		if err != nil || tok == nil {
			return
		}
		s2, tok2, err := parseAuthorization(formatToken(Scheme(scheme), tok), 1<<17)
		if err != nil || s2 != scheme || !bytes.Equal(tok, tok2) {
			t.Fatalf("%q: parsed %q %x, reparsed %q %x %v", v, scheme, tok, s2, tok2, err)
		}
	})
}

// FuzzParseChallenges feeds the client's WWW-Authenticate parser
// anything: it must end, not panic, and return only real schemes.
func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{`Negotiate, NTLM`, `Basic realm="a, b", NTLM TlRMTVNTUAACAAAA==`, `Digest realm="x\"y", qop="auth", Negotiate oYG3MIG0`, `,,, =, "`, `Bearer error="invalid_token"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, c := range parseChallenges([]string{v, v}) {
			for i := 0; i < len(c.scheme); i++ {
				if !isTchar(c.scheme[i]) {
					t.Fatalf("%q: scheme %q", v, c.scheme)
				}
			}
			if c.token != "" && !isToken68(c.token) {
				t.Fatalf("%q: token %q", v, c.token)
			}
		}
	})
}

// FuzzTokens feeds the token inspectors anything: no panic, and an
// AUTHENTICATE found is one.
func FuzzTokens(f *testing.F) {
	f.Add([]byte("NTLMSSP\x00\x03\x00\x00\x00"))
	f.Add([]byte{0xa1, 0x03, 0x30, 0x01, 0x00})
	f.Add([]byte{0x60, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = isFirstToken(b)
		if auth := ntlmAuthenticateOf(b); auth != nil {
			if ntlmType(auth) != ntlmAuthenticate {
				t.Fatalf("not an AUTHENTICATE: %x", auth)
			}
			_ = ntlmBindsChannel(auth)
		}
		_ = ntlmBindsChannel(b)
	})
}

// TestTokenInspection runs the inspectors on real tokens of both schemes.
func TestTokenInspection(t *testing.T) {
	e := newEnv(t, envOpts{tls: true})
	for _, s := range bothSchemes {
		for _, bound := range []bool{true, false} {
			var cb []byte
			if bound {
				cb = ChannelBindings(e.cert)
			}
			cc := e.clientCtx(s, testPassword, cb)
			first, _ := step(t, cc, nil)
			if !isFirstToken(first) || ntlmAuthenticateOf(first) != nil {
				t.Errorf("%s: the first token is not taken for one", s)
			}
			resp := e.dial().do(formatToken(s, first))
			auth, _ := step(t, cc, serverToken(t, resp, s))
			if isFirstToken(auth) {
				t.Errorf("%s: the AUTHENTICATE leg is taken for a first token", s)
			}
			a := ntlmAuthenticateOf(auth)
			if a == nil {
				t.Fatalf("%s: no AUTHENTICATE found", s)
			}
			if got := ntlmBindsChannel(a); got != bound {
				t.Errorf("%s: ntlmBindsChannel = %v, want %v", s, got, bound)
			}
		}
	}
}
