package fake

import (
	"fmt"
	"time"

	sspictx "github.com/gosspi/gosspi/context"
)

// TB is the part of testing.TB that CheckLeaks and NewTestStore need.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
}

// CheckLeaks fails t, when the test ends, for every credential, context or
// token that store handed out and nobody released, naming where each was
// created (it turns on store.RecordStacks for handles made afterwards):
//
//	store := sspictx.NewStore(m.NewProcess())
//	fake.CheckLeaks(t, store)
func CheckLeaks(t TB, store *sspictx.Store) {
	t.Helper()
	store.RecordStacks(true)
	t.Cleanup(func() {
		t.Helper()
		for _, l := range store.Leaks() {
			t.Errorf("gosspi: leaked %s", l)
		}
	})
}

// NewTestStore returns a Store on a new process of a new machine, checked
// for leaks when the test ends, and the process under it (for FailNth;
// its Machine method gives the machine, for AddUser or NewProcess).
//
// Without options the machine is named "TESTHOST", its default domain is
// "TEST", it has no users, and it reads the real time. Options add users
// and set the clock, the context lifetime or the whole machine config:
//
//	store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
//
//	clock := fake.NewManualClock(start)
//	store, proc := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"},
//		fake.WithClock(clock.Now), fake.WithContextLifetime(time.Hour))
func NewTestStore(t TB, opts ...TestOption) (*sspictx.Store, *Process) {
	t.Helper()
	var c testConfig
	for _, o := range opts {
		o.applyTest(&c)
	}
	cfg := c.machine
	if cfg.Name == "" {
		cfg.Name = "TESTHOST"
	}
	if cfg.Domain == "" {
		cfg.Domain = "TEST"
	}
	// WithClock and WithContextLifetime win over WithMachineConfig
	// whatever their order, so that options never silently undo each other.
	if c.clock != nil {
		cfg.Clock = c.clock
	}
	if c.lifetime != 0 {
		cfg.ContextLifetime = c.lifetime
	}
	m := NewMachine(cfg)
	for _, u := range c.users {
		m.AddUser(u.Domain, u.Name, u.Password, u.Groups...)
	}
	p := m.NewProcess()
	s := sspictx.NewStore(p)
	CheckLeaks(t, s)
	return s, p
}

// A TestOption configures NewTestStore. A User is one; WithClock,
// WithContextLifetime and WithMachineConfig make the others.
type TestOption interface {
	applyTest(*testConfig)
}

// testConfig collects the options of NewTestStore.
type testConfig struct {
	machine  MachineConfig
	users    []User
	clock    func() time.Time
	lifetime time.Duration
}

type testOptionFunc func(*testConfig)

func (f testOptionFunc) applyTest(c *testConfig) { f(c) }

// User is an account NewTestStore adds to the machine's directory: domain
// "" means the machine's default domain ("TEST" unless WithMachineConfig
// says otherwise). Groups are names or SIDs carried in the user's access
// token.
type User struct {
	Domain, Name, Password string
	Groups                 []string
}

func (u User) applyTest(c *testConfig) { c.users = append(c.users, u) }

// WithClock makes the machine read the time from now, such as a
// ManualClock's Now method, so that a test can make contexts expire.
func WithClock(now func() time.Time) TestOption {
	return testOptionFunc(func(c *testConfig) { c.clock = now })
}

// WithContextLifetime sets how long an established context lives on the
// machine (MachineConfig.ContextLifetime).
func WithContextLifetime(d time.Duration) TestOption {
	return testOptionFunc(func(c *testConfig) { c.lifetime = d })
}

// WithMachineConfig configures the machine. An empty Name or Domain still
// gets NewTestStore's default, "TESTHOST" or "TEST"; WithClock and
// WithContextLifetime override cfg's Clock and ContextLifetime.
func WithMachineConfig(cfg MachineConfig) TestOption {
	return testOptionFunc(func(c *testConfig) { c.machine = cfg })
}

// maxHandshakeSteps bounds Handshake. NTLM takes four steps and Negotiate
// over NTLM four or five, so a handshake still going after this many is
// looping.
const maxHandshakeSteps = 16

// Handshake runs the handshake between client and server: it steps them in
// turn, the client first, each with the token the other returned last,
// until both are done. When one side finishes first with a token for the
// other, that token is delivered. It returns the first error a Step
// returns (the failing side's partial context is already deleted; the
// caller still deletes both contexts), or an error if a side waits for a
// token the other will not send or the handshake is still going after 16
// steps.
func Handshake(client *sspictx.ClientContext, server *sspictx.ServerContext) error {
	var tok []byte // the token in flight
	var clientDone, serverDone bool
	for i := 0; i < maxHandshakeSteps; i++ {
		side, peer, done := "client", "server", clientDone
		if i%2 == 1 {
			side, peer, done = "server", "client", serverDone
		}
		// Both being done ends the loop below, so here at most one is.
		if done {
			return fmt.Errorf("fake: handshake stalled: the %s is finished but the %s is not", side, peer)
		}
		if i > 0 && len(tok) == 0 {
			return fmt.Errorf("fake: handshake stalled: the %s sent no token but the %s is not finished", peer, side)
		}
		var err error
		if side == "client" {
			tok, clientDone, err = client.Step(tok)
		} else {
			tok, serverDone, err = server.Step(tok)
		}
		if err != nil {
			return err
		}
		// A final token when both are done is optional for the peer to
		// read (SPNEGO's accept-completed, for one), so it is dropped.
		if clientDone && serverDone {
			return nil
		}
	}
	return fmt.Errorf("fake: handshake not finished after %d steps", maxHandshakeSteps)
}
