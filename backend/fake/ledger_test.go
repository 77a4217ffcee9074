package fake

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/hostid"
)

// exportOne runs a handshake on m and exports the server context.
func exportOne(t *testing.T, m *Machine) []byte {
	t.Helper()
	m.AddUser("CONTOSO", "alice", "pw")
	st := sspictx.NewStore(m.NewProcess())
	sc, err := st.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	defer sc.Release()
	cc, err := st.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "pw"})
	require.NoError(t, err)
	defer cc.Release()
	c, s := cc.NewClientContext("HOST/x", 0), sc.NewServerContext(0)
	defer c.Delete()
	require.NoError(t, Handshake(c, s))
	blob, err := s.Export(flags.DeleteOld)
	require.NoError(t, err)
	return blob
}

func importOne(m *Machine, blob []byte) error {
	st := sspictx.NewStore(m.NewProcess())
	ctx, err := st.Import("NTLM", blob, nil)
	if err == nil {
		return ctx.Delete()
	}
	return err
}

// A host-bound machine whose clock is behind real time cannot import a
// blob twice, not even through a new HostMachine (a new ledger instance,
// as another process would have): the ledger keeps records by the blob's
// real export time, never by the machine's clock.
func TestHostMachineClockBehindNoReplay(t *testing.T) {
	t.Setenv("GOSSPI_KEY_DIR", t.TempDir())
	for _, back := range []time.Duration{11 * time.Hour, 30 * 24 * time.Hour} {
		clock := NewManualClock(time.Now().Add(-back))
		cfg := MachineConfig{Name: "SKEW", Domain: "CONTOSO", Clock: clock.Now}
		m1, err := HostMachine(cfg)
		if errors.Is(err, ErrNoHostIdentity) && os.Getenv("GOSSPI_REQUIRE_TIERS") != "1" {
			t.Skip("this host has no machine identity (/etc/machine-id); the host-bound machine cannot run here")
		}
		require.NoError(t, err)
		blob := exportOne(t, m1)
		require.NoError(t, importOne(m1, blob), "first import, %v behind", back)
		require.ErrorIs(t, importOne(m1, blob), ErrAlreadyImported)

		m2, err := HostMachine(cfg)
		require.NoError(t, err)
		err = importOne(m2, blob)
		require.ErrorIs(t, err, ErrAlreadyImported, "a new ledger instance, %v behind", back)
		require.ErrorIs(t, err, backend.StatusInvalidToken)
	}
}

// The in-memory ledger forgets records once their blobs are too old to
// import: memory follows live blobs, not every import ever made.
func TestMemLedgerPrunes(t *testing.T) {
	real := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	m := NewMachine(MachineConfig{Name: "MEM", Domain: "CONTOSO"})
	m.realNow = func() time.Time { return real }
	m.ledger = newMemLedger(m.realNow)
	l := m.ledger.(*memLedger)
	for i := 0; i < 20; i++ {
		require.NoError(t, importOne(m, exportOne(t, m)))
	}
	assert.Equal(t, 20, l.live.Len())

	real = real.Add(hostid.Retention + 6*time.Hour)
	old := exportOne(t, m)
	require.NoError(t, importOne(m, old))
	assert.Equal(t, 1, l.live.Len(), "records of blobs older than the window are gone")

	real = real.Add(hostid.Retention + 6*time.Hour)
	err := importOne(m, old)
	require.ErrorIs(t, err, backend.StatusContextExpired, "a blob older than the window is refused, never imported again")
	require.ErrorIs(t, err, hostid.ErrTooOld)
}
