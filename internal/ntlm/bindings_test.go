package ntlm

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secBindings lays out a SEC_CHANNEL_BINDINGS with the three pieces after
// the header in order.
func secBindings(cb *ChannelBindings) []byte {
	b := make([]byte, secChannelBindingsHeader)
	add := func(at int, v []byte) {
		binary.LittleEndian.PutUint32(b[at:], uint32(len(v)))
		if len(v) > 0 {
			binary.LittleEndian.PutUint32(b[at+4:], uint32(len(b)))
			b = append(b, v...)
		}
	}
	binary.LittleEndian.PutUint32(b[0:], cb.InitiatorAddrType)
	add(4, cb.InitiatorAddress)
	binary.LittleEndian.PutUint32(b[12:], cb.AcceptorAddrType)
	add(16, cb.AcceptorAddress)
	add(24, cb.ApplicationData)
	return b
}

// The hash covers the flattened gss_channel_bindings_struct: for
// tls-server-end-point bindings 16 zero bytes for the two absent
// addresses, then the application data's length and bytes. The interop
// tier checks the same hash against gss-ntlmssp.
func TestChannelBindingsHash(t *testing.T) {
	app := append([]byte("tls-server-end-point:"), make([]byte, 32)...)
	cb := &ChannelBindings{ApplicationData: app}
	raw := secBindings(cb)
	got, err := ParseSecChannelBindings(raw)
	require.NoError(t, err)
	assert.Equal(t, cb, got)
	flat := append(make([]byte, 16), byte(len(app)), 0, 0, 0)
	flat = append(flat, app...)
	assert.Equal(t, md5Of(flat), got.Hash())
	assert.NotEqual(t, md5Of(raw), got.Hash(), "not the SSPI structure's bytes")

	withAddrs := &ChannelBindings{InitiatorAddrType: 2, InitiatorAddress: []byte{10, 0, 0, 1}, AcceptorAddrType: 2, AcceptorAddress: []byte{10, 0, 0, 2}, ApplicationData: []byte("x")}
	got, err = ParseSecChannelBindings(secBindings(withAddrs))
	require.NoError(t, err)
	assert.Equal(t, withAddrs, got)
	flat = []byte{2, 0, 0, 0, 4, 0, 0, 0, 10, 0, 0, 1, 2, 0, 0, 0, 4, 0, 0, 0, 10, 0, 0, 2, 1, 0, 0, 0, 'x'}
	assert.Equal(t, md5Of(flat), got.Hash())

	for _, bad := range [][]byte{nil, make([]byte, 31), append(make([]byte, 24), 1, 0, 0, 0, 32, 0, 0, 0)} {
		_, err := ParseSecChannelBindings(bad)
		assert.ErrorIs(t, err, ErrMalformed)
	}
}

func md5Of(b []byte) []byte {
	h := md5.Sum(b)
	return h[:]
}

func FuzzParseSecChannelBindings(f *testing.F) {
	f.Add(secBindings(&ChannelBindings{ApplicationData: []byte("tls-server-end-point:abc")}))
	f.Add(secBindings(&ChannelBindings{InitiatorAddrType: 2, InitiatorAddress: []byte{1, 2, 3, 4}}))
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		cb, err := ParseSecChannelBindings(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || cb != nil {
				t.Fatalf("bad failure: %v %v", cb, err)
			}
			return
		}
		again, err := ParseSecChannelBindings(secBindings(cb))
		if err != nil {
			t.Fatalf("re-laid-out bindings do not parse: %v", err)
		}
		if d := cmp.Diff(cb, again); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
		if len(cb.Hash()) != 16 {
			t.Fatal("hash is not 16 bytes")
		}
	})
}
