package backendtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gosspi/gosspi/backend"
)

// The suite's assertions, on plain package testing. Each failure starts
// with the backend's Harness.Name, since one test binary may run the suite
// against several backends.

// fatalf fails t now with a message naming the backend.
func (s *suite) fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s: %s", s.h.Name, fmt.Sprintf(format, args...))
}

// errorf fails t with a message naming the backend and lets it go on. Unlike
// fatalf it may be called from any goroutine.
func (s *suite) errorf(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Errorf("%s: %s", s.h.Name, fmt.Sprintf(format, args...))
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
