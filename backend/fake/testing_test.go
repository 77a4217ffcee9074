package fake_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// recordingT is a fake.TB that records failures instead of failing, so a
// test can check what the kit would report.
type recordingT struct {
	errs     []string
	cleanups []func()
}

func (r *recordingT) Helper()          {}
func (r *recordingT) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingT) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// finish runs the cleanups, last first, as the testing package does when a
// test ends.
func (r *recordingT) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// pair acquires credentials on store and returns a fresh client and
// server context of pkg, cleaned up when t ends.
func pair(t *testing.T, store *sspictx.Store, pkg string, client *sspictx.AuthIdentity) (*sspictx.ClientContext, *sspictx.ServerContext) {
	t.Helper()
	sc, err := store.AcquireCredentials(pkg, flags.Inbound, nil)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, sc.Release()) })
	cc, err := store.AcquireCredentials(pkg, flags.Outbound, client)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, cc.Release()) })
	c := cc.NewClientContext("HOST/testhost.test", flags.ClientReqIntegrity|flags.ClientReqConfidentiality)
	s := sc.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
	// Registered after the credentials' cleanups, so the contexts go first.
	t.Cleanup(func() { _ = c.Delete(); _ = s.Delete() })
	return c, s
}

var alice = &sspictx.AuthIdentity{Domain: "TEST", User: "alice", Password: "pw"}

// Without options, the store sits on a machine TESTHOST in domain TEST,
// the process NewTestStore returns is the one under the store, and a user
// without a domain is in TEST.
func TestNewTestStoreDefaults(t *testing.T) {
	store, proc := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw", Groups: []string{"Staff"}})
	m := proc.Machine()
	assert.Equal(t, "TESTHOST", m.Name())
	assert.Equal(t, "TEST", m.Domain())

	c, s := pair(t, store, "NTLM", alice)
	require.NoError(t, fake.Handshake(c, s))
	who, err := s.UserName()
	require.NoError(t, err)
	assert.Equal(t, `TEST\alice`, who)
	tok, err := s.AccessToken()
	require.NoError(t, err)
	info, err := tok.Info()
	require.NoError(t, err)
	assert.Contains(t, info.Groups, "Staff")
	require.NoError(t, tok.Close())

	// The returned process is the store's backend: a fault armed on it
	// hits the store's next call.
	proc.FailNth(backend.OpAcquireCredentialsHandle, 1, sspictx.StatusInsufficientMemory)
	_, err = store.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.ErrorIs(t, err, sspictx.StatusInsufficientMemory)
}

// The clock and lifetime options reach the machine, whatever their order
// relative to WithMachineConfig, and a machine config's empty domain still
// defaults to TEST.
func TestNewTestStoreOptions(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := fake.NewManualClock(start)
	other := fake.NewManualClock(start.Add(-24 * time.Hour))
	store, proc := fake.NewTestStore(t,
		fake.WithClock(clock.Now),
		fake.WithContextLifetime(time.Hour),
		fake.WithMachineConfig(fake.MachineConfig{Name: "WEB01", Clock: other.Now, ContextLifetime: 5 * time.Hour}),
		fake.User{Name: "alice", Password: "pw"},
	)
	assert.Equal(t, "WEB01", proc.Machine().Name())
	assert.Equal(t, "TEST", proc.Machine().Domain())

	c, s := pair(t, store, "NTLM", alice)
	require.NoError(t, fake.Handshake(c, s))
	life, err := s.Lifespan()
	require.NoError(t, err)
	assert.True(t, life.Expiry.Equal(start.Add(time.Hour)), "expiry %v", life.Expiry)

	clock.Advance(time.Hour)
	_, err = c.Sign([]byte("late"))
	require.ErrorIs(t, err, sspictx.StatusContextExpired)
}

// A store from NewTestStore fails its test for what was left unreleased,
// and says nothing when everything was released.
func TestNewTestStoreChecksLeaks(t *testing.T) {
	rec := &recordingT{}
	store, _ := fake.NewTestStore(rec)
	_, err := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	rec.finish()
	require.Len(t, rec.errs, 1)
	assert.Contains(t, rec.errs[0], "gosspi: leaked NTLM inbound credential for current user created at ")
	assert.Contains(t, rec.errs[0], "TestNewTestStoreChecksLeaks")

	clean := &recordingT{}
	store, _ = fake.NewTestStore(clean)
	cred, err := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	require.NoError(t, cred.Release())
	clean.finish()
	assert.Empty(t, clean.errs)
}

// Handshake finishes both packages' handshakes, the Negotiate one with its
// final token delivered, and reports a wrong password as the server's
// SEC_E_LOGON_DENIED.
func TestHandshake(t *testing.T) {
	for _, pkg := range []string{"NTLM", "Negotiate"} {
		t.Run(pkg, func(t *testing.T) {
			t.Run("Success", func(t *testing.T) {
				store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
				c, s := pair(t, store, pkg, alice)
				require.NoError(t, fake.Handshake(c, s))
				assert.True(t, c.Established(), "client established")
				assert.True(t, s.Established(), "server established")
				sig, err := c.Sign([]byte("hello"))
				require.NoError(t, err)
				require.NoError(t, s.Verify([]byte("hello"), sig))

				// Both sides are done: a second run fails on the client's first step.
				err = fake.Handshake(c, s)
				require.ErrorIs(t, err, sspictx.StatusInvalidParameter)
			})
			t.Run("WrongPassword", func(t *testing.T) {
				store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
				c, s := pair(t, store, pkg, &sspictx.AuthIdentity{Domain: "TEST", User: "alice", Password: "wrong"})
				err := fake.Handshake(c, s)
				require.ErrorIs(t, err, sspictx.StatusLogonDenied)
				var serr *sspictx.Error
				require.ErrorAs(t, err, &serr)
				assert.Equal(t, backend.OpAcceptSecurityContext, serr.Op, "the server denies the logon")
				assert.False(t, s.Established())
			})
		})
	}
}

// scripted is a backend whose handshake steps answer fixed statuses and
// tokens, to drive Handshake into the cases a real package never reaches.
// It returns no context handle, so the Store tracks nothing to clean up.
type scripted struct {
	*fake.Process
	client, server       backend.Status
	clientOut, serverOut []byte
}

func (b *scripted) InitializeSecurityContext(*backend.InitializeRequest) (backend.InitializeResult, error) {
	return backend.InitializeResult{Status: b.client, Output: b.clientOut}, nil
}

func (b *scripted) AcceptSecurityContext(*backend.AcceptRequest) (backend.AcceptResult, error) {
	return backend.AcceptResult{Status: b.server, Output: b.serverOut}, nil
}

// Handshake stops, with an error saying why, when a side waits for a token
// that will not come, and when the handshake never ends.
func TestHandshakeStalls(t *testing.T) {
	tok := []byte("token")
	tests := []struct {
		name string
		b    scripted
		want string
	}{
		{"client done first, server wants more", scripted{client: sspictx.StatusOK, clientOut: tok, server: sspictx.StatusContinueNeeded, serverOut: tok},
			"the client is finished but the server is not"},
		{"server done without a token", scripted{client: sspictx.StatusContinueNeeded, clientOut: tok, server: sspictx.StatusOK},
			"the server sent no token but the client is not finished"},
		{"endless", scripted{client: sspictx.StatusContinueNeeded, clientOut: tok, server: sspictx.StatusContinueNeeded, serverOut: tok},
			"not finished after 16 steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, proc := fake.NewTestStore(t)
			b := tt.b
			b.Process = proc
			store := sspictx.NewStore(&b)
			fake.CheckLeaks(t, store)
			c, s := pair(t, store, "NTLM", alice)
			err := fake.Handshake(c, s)
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tt.want), "error %q does not say %q", err, tt.want)
		})
	}
}
