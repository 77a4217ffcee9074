package spnego

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// windowsHint is the hintName every Windows server sends (MS-SPNG 3.2.5.2).
const windowsHint = "not_defined_in_RFC4178@please_ignore"

// Windows servers' NegTokenInit2 tokens re-marshal to their own bytes,
// negHints included.
func TestWindowsNegTokenInit2RoundTrip(t *testing.T) {
	s, err := os.ReadFile(filepath.Join("..", "..", "testdata", "windows", "negtokeninit2-smb-server.hex"))
	require.NoError(t, err)
	pyspnego, err := hex.DecodeString(strings.TrimSpace(string(s)))
	require.NoError(t, err)
	tests := []struct {
		name  string
		b     []byte
		mechs int
	}{
		{"pyspnego", pyspnego, 5},
		{"responder3", mustHex(t, responder3Init2), 3},
		{"pike", mustHex(t, pikeInit2), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ParseNegTokenInit2(tc.b)
			require.NoError(t, err)
			assert.Len(t, tok.MechTypes, tc.mechs)
			assert.Contains(t, tok.MechTypes, OIDNTLMSSP)
			assert.Equal(t, windowsHint, string(tok.HintName))
			assert.Nil(t, tok.HintAddress)
			out, err := tok.Marshal()
			require.NoError(t, err)
			assert.Equal(t, tc.b, out)
		})
	}
}

// An RFC 4178 NegTokenInit (mechListMIC at [3]) is not a NegTokenInit2.
func TestNegTokenInit2RefusesRFC4178MIC(t *testing.T) {
	b, err := (&NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, MechListMIC: []byte{1}}).Marshal()
	require.NoError(t, err)
	_, err = ParseNegTokenInit2(b)
	assert.ErrorIs(t, err, ErrMalformed)

	// Without either, both read it, and Marshal gives the same bytes.
	b, err = (&NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}}).Marshal()
	require.NoError(t, err)
	tok, err := ParseNegTokenInit2(b)
	require.NoError(t, err)
	out, err := tok.Marshal()
	require.NoError(t, err)
	assert.Equal(t, b, out)
}

func FuzzParseNegTokenInit2(f *testing.F) {
	for _, h := range []string{responder3Init2, pikeInit2, responder3InitNTLM} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	full, _ := (&NegTokenInit2{MechTypes: []asn1.ObjectIdentifier{OIDNTLMSSP}, ReqFlags: []byte{0}, MechToken: []byte{1},
		HintName: []byte("x"), HintAddress: []byte{2}, MechListMIC: []byte{3}}).Marshal()
	f.Add(full)
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseNegTokenInit2(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || tok != nil {
				t.Fatalf("bad failure: %v %v", tok, err)
			}
			return
		}
		out, err := tok.Marshal()
		if err != nil {
			t.Fatalf("parsed token does not marshal: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, out)
		}
		again, err := ParseNegTokenInit2(out)
		if err != nil {
			t.Fatalf("re-encoded token does not parse: %v", err)
		}
		if d := cmp.Diff(tok, again); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}
