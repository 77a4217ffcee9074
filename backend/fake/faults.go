package fake

import (
	"sync"
	"sync/atomic"

	"github.com/gosspi/gosspi/backend"
)

// faults makes chosen calls fail, to test that callers and the backend
// lose nothing when a call fails.
type faults struct {
	armed atomic.Int32 // rules in force: calls skip the lock while it is zero
	mu    sync.Mutex
	rules map[backend.Op]*fault
}

type fault struct {
	left int // calls to let through before failing
	st   backend.Status
}

// FailNth makes the nth call (1 = the next one) of operation op on this
// process fail with status st, before the call changes any state. op is
// the SSPI call, e.g. backend.OpExportSecurityContext; every call the fake
// makes can be failed this way (backend.OpInitSecurityInterface names the
// loading of secur32.dll, which the fake never does). One rule per
// operation; a later FailNth replaces it, and n <= 0 removes it.
func (p *Process) FailNth(op backend.Op, n int, st backend.Status) {
	p.faults.mu.Lock()
	defer p.faults.mu.Unlock()
	if p.faults.rules == nil {
		p.faults.rules = make(map[backend.Op]*fault)
	}
	if n <= 0 {
		delete(p.faults.rules, op)
	} else {
		p.faults.rules[op] = &fault{left: n - 1, st: st}
	}
	p.faults.armed.Store(int32(len(p.faults.rules)))
}

// check counts a call of op and returns the injected error when its turn
// has come.
func (f *faults) check(op backend.Op, pkg string) error {
	if f.armed.Load() == 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rules[op]
	if !ok {
		return nil
	}
	if r.left > 0 {
		r.left--
		return nil
	}
	delete(f.rules, op)
	f.armed.Store(int32(len(f.rules)))
	return backend.NewError(op, pkg, r.st, "fault injected by the test (Process.FailNth)", nil)
}
