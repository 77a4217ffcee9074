package backend

import (
	"errors"
	"strings"
)

// Error is the error every gosspi call returns: which call failed, in which
// security package, with which Status, and why.
//
// It unwraps to its Status and to its cause, so both
// errors.Is(err, StatusInvalidToken) and errors.Is(err, someCause) work.
type Error struct {
	Op      Op     // the SSPI call, e.g. OpExportSecurityContext
	Package string // the security package, e.g. "NTLM"; empty when none applies
	Status  Status // the SECURITY_STATUS
	Detail  string // what went wrong, for people; never contains secrets
	Err     error  // an underlying cause, or nil
}

// Error formats as "gosspi: Op [Package]: STATUS (0x...): detail: cause".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gosspi: ")
	b.WriteString(e.Op.String())
	if e.Package != "" {
		b.WriteString(" [")
		b.WriteString(e.Package)
		b.WriteString("]")
	}
	b.WriteString(": ")
	b.WriteString(e.Status.String())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	} else if e.Err == nil {
		b.WriteString(": ")
		b.WriteString(e.Status.Meaning())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the Status and, if set, the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Status}
	}
	return []error{e.Status, e.Err}
}

// NewError returns an *Error for op in package pkg with status st, a detail
// for people, and an optional cause. Backends use it so that every error
// has the same shape.
func NewError(op Op, pkg string, st Status, detail string, cause error) *Error {
	return &Error{Op: op, Package: pkg, Status: st, Detail: detail, Err: cause}
}

// StatusOf returns the Status an error carries: StatusOK for nil, the
// Status of an *Error or a bare Status, and StatusInternalError for any
// other error.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	var s Status
	if errors.As(err, &s) {
		return s
	}
	return StatusInternalError
}
