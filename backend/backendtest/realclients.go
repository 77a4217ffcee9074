package backendtest

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gosspi/gosspi/internal/ntlm"
)

// realNegotiates are NTLM NEGOTIATE_MESSAGEs that real clients sent, as
// the interop tier captured them (the repository's testdata/interop: the
// first token of mit-ntlm-to-fake.txt and samba-ntlm-to-fake.txt). A fake
// backend tested only against its own client never sees another client's
// choice of flags and layout; these are what acceptors meet on the wire,
// raw (without SPNEGO), as HTTP clients send them even to Negotiate.
var realNegotiates = []struct {
	client string
	hex    string
}{
	{"MIT GSSAPI with gss-ntlmssp 1.2", "4e544c4d5353500001000000378208e200000000000000000000000000000000060200000000000f"},
	{"Samba 4.17 ntlm_auth", "4e544c4d53535000010000000582086200000000280000000000000028000000060100000000000f"},
}

// testRealClients gives the acceptor of an NTLM or Negotiate package the
// NEGOTIATE_MESSAGEs of real clients. Each must be answered with a raw
// CHALLENGE_MESSAGE that grants Unicode, which they all ask for: NTLM
// takes nothing else, and Windows' Negotiate takes a raw NTLMSSP token as
// NTLM and answers in kind (IIS relies on it). Kerberos has nothing to
// check here.
func (s *suite) testRealClients(t *testing.T, p Package) {
	if !strings.EqualFold(p.Name, "NTLM") && !strings.EqualFold(p.Name, "Negotiate") {
		t.Logf("backendtest: %s: the captured tokens are NTLM's; nothing to check for %s", s.h.Name, p.Name)
		return
	}
	if !s.need(t, "a raw NTLMSSP token to the acceptor", p.Caps.RawNTLM) {
		return
	}
	for _, rc := range realNegotiates {
		t.Run(strings.Fields(rc.client)[0], func(t *testing.T) {
			tok, err := hex.DecodeString(rc.hex)
			s.noError(t, err, "decoding the captured token")
			st := s.store(t)
			_, sc := s.creds(t, st, p)
			srv := sc.NewServerContext(serverReq)
			out, done, err := srv.Step(tok)
			s.noError(t, err, "AcceptSecurityContext of "+rc.client+"'s NEGOTIATE_MESSAGE")
			s.isTrue(t, !done, "the handshake is not done after %s's NEGOTIATE_MESSAGE", rc.client)
			s.isTrue(t, ntlm.IsMessage(out), "the answer to %s's NEGOTIATE_MESSAGE is not raw NTLMSSP: %x", rc.client, out)
			ch, err := ntlm.ParseChallenge(out)
			s.noError(t, err, "parsing the answer as a CHALLENGE_MESSAGE")
			s.isTrue(t, ch.Flags&ntlm.NegotiateUnicode != 0, "the CHALLENGE_MESSAGE flags %#x do not grant Unicode (client flags %#x)",
				ch.Flags, binary.LittleEndian.Uint32(tok[12:16]))
			s.noError(t, srv.Delete(), "deleting the context in its handshake")
		})
	}
}
