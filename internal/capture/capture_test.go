package capture

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `# MIT's SPNEGO client against the fake's acceptor
machine TESTHOST TEST 2026-11-29T12:00:00Z
account TEST alice Interop-Pw1!
fake acceptor Negotiate
target HTTP/localhost
i 6048
a a181

seal i 6869 0100000000
sign a 6869 01000000
`

func TestParseMarshal(t *testing.T) {
	c, err := Parse([]byte(sample))
	require.NoError(t, err)
	want := &Conversation{
		About:   []string{"MIT's SPNEGO client against the fake's acceptor"},
		Machine: &Machine{Name: "TESTHOST", Domain: "TEST", Time: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)},
		Account: &Account{Domain: "TEST", User: "alice", Password: "Interop-Pw1!"},
		Fake:    "acceptor", Package: "Negotiate", Target: "HTTP/localhost",
		Tokens: []Token{{FromInitiator: true, Data: []byte{0x60, 0x48}}, {Data: []byte{0xa1, 0x81}}},
		Messages: []Message{
			{FromInitiator: true, Sealed: true, Plain: []byte("hi"), Token: []byte{1, 0, 0, 0, 0}},
			{Plain: []byte("hi"), Token: []byte{1, 0, 0, 0}},
		},
	}
	if d := cmp.Diff(want, c); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	out, err := c.Marshal()
	require.NoError(t, err)
	assert.Equal(t, bytes.ReplaceAll([]byte(sample), []byte("\n\n"), []byte("\n")), out)
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"bogus 1", "i zz", "i", "seal x 00 00", "seal i 00", "machine A B yesterday",
		"fake both NTLM", "machine A B 2026-11-29T12:00:00Z\nmachine A B 2026-11-29T12:00:00Z",
		"account A B C\naccount A B C", "fake initiator NTLM\nfake acceptor NTLM",
	} {
		_, err := Parse([]byte(in))
		assert.ErrorIs(t, err, ErrSyntax, "%q", in)
	}
	_, err := Parse(make([]byte, maxSize+1))
	assert.ErrorIs(t, err, ErrSyntax)
}

func TestMarshalRefuses(t *testing.T) {
	for _, c := range []*Conversation{
		{About: []string{"two\nlines"}},
		{Account: &Account{Domain: "A", User: "b c", Password: "p"}},
		{Messages: []Message{{Plain: nil, Token: []byte{1}}}},
		{Tokens: []Token{{Data: nil}}},
	} {
		_, err := c.Marshal()
		assert.Error(t, err)
	}
}

func TestCounter(t *testing.T) {
	var r Counter
	b := make([]byte, 300)
	_, _ = r.Read(b)
	assert.Equal(t, []byte{1, 2, 3}, b[:3])
	assert.Equal(t, byte(0), b[255], "wraps after 255")
	assert.Equal(t, byte(1), b[256])
}

// Seed corpus: testdata/fuzz/FuzzParse, made of the sample above and the
// repository's captures.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error does not wrap ErrSyntax: %v", err)
			}
			return
		}
		m1, err := c.Marshal()
		if err != nil {
			// Only what Parse cannot produce is refused.
			t.Fatalf("a parsed capture does not marshal: %v", err)
		}
		c2, err := Parse(m1)
		if err != nil {
			t.Fatalf("a marshalled capture does not parse: %v\n%s", err, m1)
		}
		m2, err := c2.Marshal()
		if err != nil || !bytes.Equal(m1, m2) {
			t.Fatalf("marshal is not stable (%v):\n%s\n%s", err, m1, m2)
		}
	})
}
