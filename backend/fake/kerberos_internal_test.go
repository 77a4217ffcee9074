package fake

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/serialize"
)

// keyedDomainMachine is keyedMachine joined to a domain CONTOSO whose KDC
// runs on the same fixed clock and deterministic randomness, so Kerberos
// handshakes on it are reproducible.
func keyedDomainMachine() *Machine {
	d, err := NewDomain(DomainConfig{Name: "CONTOSO", DNSName: "contoso.test",
		Clock: func() time.Time { return goldenEpoch }, Rand: &counterReader{}})
	if err != nil {
		panic(err)
	}
	if _, err := d.AddUser("alice", "Passw0rd!"); err != nil {
		panic(err)
	}
	cfg, err := d.join(MachineConfig{
		Name:            "GOLDEN",
		Clock:           func() time.Time { return goldenEpoch },
		Rand:            &counterReader{},
		ContextLifetime: 100 * 365 * 24 * time.Hour,
	})
	if err != nil {
		panic(err)
	}
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	m := newMachine(cfg)
	m.realNow = func() time.Time { return goldenEpoch }
	m.withKey("golden-machine", key)
	return d.attach(m)
}

// A Kerberos context exports layout 1: flags, etype, key, four sequence
// numbers.
func TestKerberosStateLayout(t *testing.T) {
	m := keyedDomainMachine()
	c, s, cleanup := goldenPair(t, m, "Kerberos")
	defer cleanup()
	for i, ctx := range []*sspictx.Context{&c.Context, &s.Context} {
		blob, err := ctx.Export(0)
		require.NoError(t, err)
		st, hdr, err := m.sealer.Open(blob)
		require.NoError(t, err)
		assert.Equal(t, uint16(serialize.Version3), hdr.Version)
		assert.Equal(t, uint8(krbStateV1), st.PackageVersion)
		names := "\x12\x00alice@CONTOSO.TEST\x25\x00HOST/golden.contoso.test@CONTOSO.TEST"
		require.Len(t, st.PackageState, krbStateFixed+32+len(names))
		assert.Equal(t, byte(i), st.PackageState[0]&krbStateAcceptor, "the side")
		assert.Equal(t, []byte{18, 0, 0, 0, 32}, st.PackageState[1:6], "aes256")
		assert.Equal(t, names, string(st.PackageState[krbStateFixed+32:]), "the principal names")
	}
}

// Every Kerberos state that does not decode or contradicts its blob is
// refused with SEC_E_INVALID_TOKEN and a detail.
func TestKerberosRestoreRefusesBadStates(t *testing.T) {
	m := keyedDomainMachine()
	_, s, cleanup := goldenPair(t, m, "Kerberos")
	defer cleanup()
	blob, err := s.Export(0)
	require.NoError(t, err)
	st, _, err := m.sealer.Open(blob)
	require.NoError(t, err)
	good := st.PackageState
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name    string
		version uint8
		state   []byte
		server  bool
		detail  string
	}{
		{"newer", 2, good, true, "version 2"},
		{"unversioned", 0, good, true, "version 0"},
		{"empty", 1, nil, true, "too short"},
		{"cut", 1, good[:krbStateFixed+31], true, "with a 32-byte key"},
		{"names cut", 1, good[:len(good)-1], true, "names are cut off"},
		{"no names", 1, good[:krbStateFixed+32], true, "names are cut off"},
		{"trailing", 1, append(bytes.Clone(good), 0), true, "1 bytes after its names"},
		{"other side", 1, good, false, "contradicts the context's side"},
		{"unknown flag", 1, mod(func(b []byte) []byte { b[0] |= 0x80; return b }), true, "unknown flags"},
		{"rc4", 1, mod(func(b []byte) []byte { b[1] = 23; return b }), true, "encryption type 23"},
		{"key length", 1, mod(func(b []byte) []byte { b[5] = 16; return b }), true, "16-byte key"},
		{"behind", 1, mod(func(b []byte) []byte { b[krbStateFixed+32-9] = 0xff; return b }), true, "behind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, _, err := kerberosPkg.mech.restore(tc.version, bytes.Clone(tc.state), tc.server)
			require.Error(t, err)
			require.Nil(t, sess)
			err = mechFailure(backend.OpImportSecurityContext, "Kerberos", "", err)
			require.ErrorIs(t, err, backend.StatusInvalidToken)
			assert.Contains(t, err.Error(), tc.detail)
		})
	}
	sess, runs, err := kerberosPkg.mech.restore(1, good, true)
	require.NoError(t, err, "the unaltered state restores")
	assert.Nil(t, runs)
	sess.destroy()
}

// FuzzKerberosRestore feeds arbitrary states to the Kerberos state
// decoder: each is refused with SEC_E_INVALID_TOKEN or restored, never a
// panic, and a restored session survives a message either way.
func FuzzKerberosRestore(f *testing.F) {
	m := keyedMachine()
	for _, gc := range goldenCases {
		if gc.pkg != "Kerberos" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(goldenDir, gc.name+".blob"))
		if err != nil {
			continue
		}
		st, _, err := m.sealer.Open(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(st.PackageVersion, gc.server, st.PackageState)
	}
	f.Add(uint8(1), true, []byte{})
	f.Fuzz(func(t *testing.T, version uint8, server bool, state []byte) {
		sess, _, err := kerberosPkg.mech.restore(version, state, server)
		if err != nil {
			if st := backend.StatusOf(mechFailure(backend.OpImportSecurityContext, "Kerberos", "", err)); st != backend.StatusInvalidToken {
				t.Fatalf("restore answered %v: %v", st, err)
			}
			return
		}
		defer sess.destroy()
		sig := make([]byte, sess.sizes().MaxSignature)
		n := sess.sign([]byte("x"), sig)
		_ = sess.verify([]byte("x"), sig[:n])
		tr := make([]byte, sess.sizes().SecurityTrailer)
		msg := []byte("hello")
		n = sess.sealInPlace(msg, tr)
		_ = sess.unsealInPlace(msg, tr[:n])
	})
}

// FuzzKerberosAccept feeds arbitrary first tokens to a Kerberos server:
// each is refused with a status, never a panic. The seed is a real AP-REQ.
func FuzzKerberosAccept(f *testing.F) {
	m := keyedDomainMachine()
	p := m.NewProcess()
	ccred, _, err := p.AcquireCredentialsHandle("", "Kerberos", flags.Outbound, &backend.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	if err != nil {
		f.Fatal(err)
	}
	cred, _, err := p.AcquireCredentialsHandle("", "Kerberos", flags.Inbound, nil)
	if err != nil {
		f.Fatal(err)
	}
	res, err := p.InitializeSecurityContext(&backend.InitializeRequest{Credential: ccred, Target: "HOST/golden.contoso.test", Flags: flags.ClientReqMutualAuth})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(res.Output)
	f.Add([]byte{0x60, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, tok []byte) {
		out, err := p.AcceptSecurityContext(&backend.AcceptRequest{Credential: cred, Input: []backend.Buffer{{Type: backend.BufferToken, Data: tok}}})
		if err != nil {
			switch backend.StatusOf(err) {
			case backend.StatusInvalidToken, backend.StatusLogonDenied, backend.StatusWrongPrincipal, backend.StatusMessageAltered,
				backend.StatusOutOfSequence, backend.StatusTimeSkew, backend.StatusContextExpired, backend.StatusBadBindings:
			default:
				t.Fatalf("accept answered %v: %v", backend.StatusOf(err), err)
			}
			return
		}
		_ = p.DeleteSecurityContext(out.Context)
	})
}

// Destroying a Kerberos session zeroes its key; the initiator's subkey
// goes with its handshake.
func TestKerberosDestroyZeroesKeys(t *testing.T) {
	m := keyedDomainMachine()
	_, s, cleanup := goldenPair(t, m, "Kerberos")
	defer cleanup()
	blob, err := s.Export(0)
	require.NoError(t, err)
	st, _, err := m.sealer.Open(blob)
	require.NoError(t, err)
	sess, err := decodeKrbState(st.PackageVersion, st.PackageState, true)
	require.NoError(t, err)
	require.NotEqual(t, make([]byte, 32), sess.keyBytes())
	sess.destroy()
	assert.Equal(t, make([]byte, 32), sess.keyBytes(), "zeroed")
}
