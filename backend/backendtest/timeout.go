package backendtest

import (
	"fmt"
	"runtime/debug"
	"testing"
	"time"
)

// scenario runs fn as the subtest name of t, under Harness.Timeout.
//
// The watchdog is a timer, not a goroutine that runs fn: fn stays on the
// subtest's own goroutine, where t.Fatal and t.Skip work. If the timer
// fires, fn is still inside a backend call that nothing can interrupt, so
// the watchdog does what go test's -timeout does: it panics with every
// goroutine's stack, which stops the test binary and shows where the call
// hangs. Failing only the subtest would leave that goroutine running, with
// whatever locks it holds, under the scenarios after it.
func (s *suite) scenario(t *testing.T, name string, fn func(*testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		if d := s.timeout(); d > 0 {
			full := t.Name()
			timer := time.AfterFunc(d, func() { s.expired(full, d) })
			defer timer.Stop()
		}
		fn(t)
	})
}

// timeout returns the time one scenario may take; zero or less is no limit.
func (s *suite) timeout() time.Duration {
	if s.h.Timeout == 0 {
		return DefaultTimeout
	}
	return s.h.Timeout
}

// timeoutText describes the limit for the suite's opening log line.
func (s *suite) timeoutText() string {
	if d := s.timeout(); d > 0 {
		return fmt.Sprintf("each scenario must finish within %v", d)
	}
	return "scenarios have no time limit"
}

// expired stops the test binary because scenario ran longer than d.
func (s *suite) expired(scenario string, d time.Duration) {
	debug.SetTraceback("all")
	panic(fmt.Sprintf("backendtest: %s: scenario %s did not finish within %v (Harness.Timeout).\n"+
		"A hung SSPI call cannot be cancelled, so the test binary stops here; "+
		"the stacks of all goroutines follow, the hung call among them.",
		s.h.Name, scenario, d))
}
