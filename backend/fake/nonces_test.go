package fake

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/serialize"
)

// An in-memory machine's blobs carry its export sequence: its prefix,
// then 1, 2, 3...; another machine's prefix differs, and only a machine's
// own nonces read as its sequence numbers.
func TestExportNonces(t *testing.T) {
	e := newEnv(t)
	l := e.m.ledger.(*memLedger)
	var last uint64
	for i := 0; i < 3; i++ {
		hdr, err := serialize.ParseHeader(e.exportBlob(t))
		require.NoError(t, err)
		n, ok := l.nonces.sequence(hdr.Nonce[:])
		require.True(t, ok, "nonce %x", hdr.Nonce)
		assert.Greater(t, n, last)
		last = n
	}
	other := NewMachine(MachineConfig{Name: "OTHER"}).ledger.(*memLedger)
	assert.NotEqual(t, l.nonces.prefix, other.nonces.prefix)
	var nonce [serialize.NonceSize]byte
	_, err := other.nonces.Read(nonce[:])
	require.NoError(t, err)
	_, ok := l.nonces.sequence(nonce[:])
	assert.False(t, ok, "another machine's nonce")
	_, err = l.nonces.Read(make([]byte, serialize.NonceSize+1))
	assert.Error(t, err, "a nonce is one length")
}

// A blob of the machine's key whose nonce is not of its sequence (sealed
// with a random one, as blobs of earlier builds are) still imports once.
func TestImportOnceRandomNonce(t *testing.T) {
	e := newEnv(t)
	st, _, err := e.m.sealer.Open(e.exportBlob(t))
	require.NoError(t, err)
	blob, err := e.m.sealer.Seal(st, nil)
	require.NoError(t, err)
	hdr, err := serialize.ParseHeader(blob)
	require.NoError(t, err)
	_, ok := e.m.ledger.(*memLedger).nonces.sequence(hdr.Nonce[:])
	require.False(t, ok)
	p := e.m.NewProcess()
	h, err := p.ImportSecurityContext("NTLM", blob, 0)
	require.NoError(t, err)
	require.NoError(t, p.DeleteSecurityContext(h))
	_, err = e.m.NewProcess().ImportSecurityContext("NTLM", blob, 0)
	require.ErrorIs(t, err, ErrAlreadyImported)
}

// Busy contexts imported one after another each keep their RC4 states in
// their own import buffer until their first messages: a refused import in
// between gives its buffer back once, and a buffer given back is reused
// without touching what a live context keeps.
func TestImportedCipherStatesStayApart(t *testing.T) {
	type pair struct {
		e   *env
		imp *sspictx.Context
	}
	busyBlob := func(e *env) []byte {
		e.traffic(t, 3)
		blob, err := e.server.Export(0)
		require.NoError(t, err)
		return blob
	}
	var pairs []pair
	for i := 0; i < 4; i++ {
		e := newEnv(t)
		blob := busyBlob(e)
		imp, err := e.store.Import("NTLM", blob, nil)
		require.NoError(t, err)
		_, err = e.m.NewProcess().ImportSecurityContext("NTLM", blob, 0)
		require.ErrorIs(t, err, ErrAlreadyImported, "refused after its state was restored")
		pairs = append(pairs, pair{e, imp})
	}
	for i, p := range pairs {
		msg := []byte("after the move")
		tok, data, err := p.e.client.Seal(msg)
		require.NoError(t, err)
		plain, err := p.imp.Unseal(tok, data)
		require.NoError(t, err, "context %d", i)
		assert.Equal(t, msg, plain)
		tok, data, err = p.imp.Seal([]byte("reply"))
		require.NoError(t, err)
		plain, err = p.e.client.Unseal(tok, data)
		require.NoError(t, err, "context %d", i)
		assert.Equal(t, "reply", string(plain))
		require.NoError(t, p.imp.Delete())
		// A freed buffer is someone else's now: the next import must
		// not disturb the contexts still waiting.
		e := newEnv(t)
		other, err := e.store.Import("NTLM", busyBlob(e), nil)
		require.NoError(t, err)
		require.NoError(t, other.Delete())
	}
}
