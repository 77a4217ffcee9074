package backendtest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gosspi/gosspi/backend"
)

// The suite's assertions, on plain package testing. Each failure starts
// with the backend's Harness.Name, since one test binary may run the suite
// against several backends.

// fatalf fails t now with a message naming the backend. Under a
// capability declared Unknown it logs the message as observed and skips t
// instead.
func (s *suite) fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	if why := s.observing(t); why != "" {
		t.Logf("backendtest: observed %s on %s, where %s: %s", t.Name(), s.h.Name, why, fmt.Sprintf(format, args...))
		t.SkipNow()
	}
	t.Fatalf("%s: %s", s.h.Name, fmt.Sprintf(format, args...))
}

// errorf fails t with a message naming the backend and lets it go on; under
// a capability declared Unknown it only logs the message as observed.
// Unlike fatalf it may be called from any goroutine.
func (s *suite) errorf(t testing.TB, format string, args ...any) {
	t.Helper()
	if why := s.observing(t); why != "" {
		t.Logf("backendtest: observed %s on %s, where %s: %s", t.Name(), s.h.Name, why, fmt.Sprintf(format, args...))
		return
	}
	t.Errorf("%s: %s", s.h.Name, fmt.Sprintf(format, args...))
}

// observe turns t and its subtests into observers: from now on, what
// would fail them is logged (see Unknown).
func (s *suite) observe(t testing.TB, why string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.observed == nil {
		s.observed = map[string]string{}
	}
	s.observed[t.Name()] = why
	t.Logf("backendtest: observing %s on %s: %s; what does not hold is logged, not failed", t.Name(), s.h.Name, why)
}

// observing returns why t (or a test it runs under) observes, or "".
func (s *suite) observing(t testing.TB) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := t.Name(); name != ""; {
		if why, ok := s.observed[name]; ok {
			return why
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			break
		}
		name = name[:i]
	}
	return ""
}

// observeStatus checks err as requireStatus does, unless the package's
// Caps.Observed lists check: then any status listed there passes, and a
// "backendtest: observed" line says which one came. It returns the status
// that came (want, when the check is not listed).
func (s *suite) observeStatus(t testing.TB, p Package, check Check, err error, op backend.Op, want backend.Status, what string) backend.Status {
	t.Helper()
	accepted, ok := p.Caps.Observed[check]
	if !ok {
		if want == backend.StatusOK {
			s.noError(t, err, what)
		} else {
			s.requireStatus(t, err, op, want, what)
		}
		return want
	}
	got := backend.StatusOf(err)
	if err != nil || !slices.Contains(accepted, backend.StatusOK) {
		if len(accepted) == 0 {
			s.fatalf(t, "%s: the harness lists check %s as observed with no status", what, check)
		}
		if msg := wrongError(err, op, accepted...); msg != "" {
			s.fatalf(t, "%s (check %s, where the harness accepts what is plausible): %s", what, check, msg)
		}
	}
	t.Logf("backendtest: observed %s %s on %s: %s answered %s (the answer the suite expects where nothing is declared: %s)", check, t.Name(), s.h.Name, what, got.String(), want.Name())
	return got
}

// noError fails t now if err is not nil; what says which call it was.
func (s *suite) noError(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		s.fatalf(t, "%s: %v", what, err)
	}
}

// isTrue fails t now unless ok; the message says what should have held.
func (s *suite) isTrue(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		s.fatalf(t, format, args...)
	}
}

// requireStatus fails t now unless err is a *backend.Error from the call op
// with status st; what says which call it was.
func (s *suite) requireStatus(t testing.TB, err error, op backend.Op, st backend.Status, what string) {
	t.Helper()
	if msg := wrongError(err, op, st); msg != "" {
		s.fatalf(t, "%s: %s", what, msg)
	}
}

// wrongError says how err differs from a *backend.Error from op with one
// of the statuses want, or returns "" if it does not.
func wrongError(err error, op backend.Op, want ...backend.Status) string {
	wantText := want[0].String() + " from " + op.String()
	if len(want) > 1 {
		names := make([]string, len(want))
		for i, st := range want {
			names[i] = st.Name()
		}
		wantText = "one of " + strings.Join(names, ", ") + " from " + op.String()
	}
	if err == nil {
		return "succeeded, want " + wantText
	}
	var e *backend.Error
	if !errors.As(err, &e) {
		return fmt.Sprintf("got an error of type %T, want a *backend.Error with %s: %v", err, wantText, err)
	}
	for _, st := range want {
		if e.Status == st && e.Op == op {
			return ""
		}
	}
	return fmt.Sprintf("got %s from %v, want %s: %v", e.Status.String(), e.Op, wantText, err)
}
