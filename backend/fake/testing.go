package fake

import (
	sspictx "github.com/gosspi/gosspi/context"
)

// TB is the part of testing.TB that CheckLeaks needs.
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

// NewTestStore returns a Store on a new process of a new machine, with
// the given users (domain\user and password; domain "" for the machine's
// default domain "TEST"), checked for leaks when the test ends.
func NewTestStore(t TB, users ...User) (*sspictx.Store, *Machine) {
	t.Helper()
	m := NewMachine(MachineConfig{Name: "TESTHOST", Domain: "TEST"})
	for _, u := range users {
		m.AddUser(u.Domain, u.Name, u.Password, u.Groups...)
	}
	s := sspictx.NewStore(m.NewProcess())
	CheckLeaks(t, s)
	return s, m
}

// User is an account for NewTestStore.
type User struct {
	Domain, Name, Password string
	Groups                 []string
}
