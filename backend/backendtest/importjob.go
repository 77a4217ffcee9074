package backendtest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
)

// ImportJob is one import the suite asks for. Microsoft describes
// ImportSecurityContext as the way to hand a context to another process,
// so a harness may do the job in another OS process (Harness.Importer):
// everything in it crosses a process boundary as JSON.
//
// The job: ImportSecurityContext of Blob, with no access token, under each
// name of Packages in turn until one takes it; then, on the imported
// context, VerifySignature of each message of Verify in order,
// MakeSignature of each message of Sign in order, SECPKG_ATTR_SIZES, and
// DeleteSecurityContext.
type ImportJob struct {
	Packages []string
	Blob     []byte
	Verify   []Signed
	Sign     [][]byte
	// Token, if not zero, is an access token to import with: the one
	// ExportWithToken returned. A handle means nothing in another
	// process, so an Importer must put there a handle of the importing
	// process (duplicated or inherited) before it calls DoImport. The
	// Store takes no raw token, so with one DoImport calls the backend
	// below the Store, and makes no message calls (Verify and Sign are
	// ignored): it imports, queries SECPKG_ATTR_SIZES and deletes.
	Token backend.TokenHandle
}

// Signed is a message with its signature.
type Signed struct {
	Msg, Sig []byte
}

// Outcome is what one call returned, in a form that crosses a process
// boundary: all zero when it succeeded. Text is the error's detail and
// cause.
type Outcome struct {
	Op      backend.Op
	Package string
	Status  backend.Status
	Text    string
}

// outcomeOf records err.
func outcomeOf(err error) Outcome {
	if err == nil {
		return Outcome{}
	}
	var e *backend.Error
	if errors.As(err, &e) {
		text := e.Detail
		if e.Err != nil {
			if text != "" {
				text += ": "
			}
			text += e.Err.Error()
		}
		return Outcome{Op: e.Op, Package: e.Package, Status: e.Status, Text: text}
	}
	return Outcome{Status: backend.StatusOf(err), Text: err.Error()}
}

// Err returns the call's error again, as a *backend.Error with the same Op
// and Status, or nil if it succeeded.
func (o Outcome) Err() error {
	if o == (Outcome{}) {
		return nil
	}
	return &backend.Error{Op: o.Op, Package: o.Package, Status: o.Status, Detail: o.Text}
}

// ImportResult is what an ImportJob did.
type ImportResult struct {
	// Attempts has one Outcome per name of ImportJob.Packages tried, in
	// order; Package is the name that took the blob, or "".
	Attempts []Outcome
	Package  string
	// The calls on the imported context, made only if one name took it.
	Verify     []Outcome
	Signatures [][]byte
	SignErrors []Outcome
	Sizes      Outcome
	Delete     Outcome
	// Leaks are the handles the Store still tracked at the end.
	Leaks []string
}

// ImportErr returns the error of the last import attempt, nil if it
// imported.
func (r ImportResult) ImportErr() error {
	if len(r.Attempts) == 0 {
		return errors.New("backendtest: the import job tried no package name")
	}
	return r.Attempts[len(r.Attempts)-1].Err()
}

// DoImport does job on b, through a Store of its own: what the other
// process of a Harness.Importer runs.
func DoImport(b backend.Backend, job ImportJob) ImportResult {
	if job.Token != 0 {
		return doImportWithToken(b, job)
	}
	st := sspictx.NewStore(b)
	var r ImportResult
	var imp *sspictx.Context
	for _, name := range job.Packages {
		c, err := st.Import(name, job.Blob, nil)
		r.Attempts = append(r.Attempts, outcomeOf(err))
		if err == nil {
			imp, r.Package = c, name
			break
		}
	}
	if imp != nil {
		for _, m := range job.Verify {
			r.Verify = append(r.Verify, outcomeOf(imp.Verify(m.Msg, m.Sig)))
		}
		for _, m := range job.Sign {
			sig, err := imp.Sign(m)
			r.Signatures = append(r.Signatures, sig)
			r.SignErrors = append(r.SignErrors, outcomeOf(err))
		}
		_, err := imp.Sizes()
		r.Sizes = outcomeOf(err)
		r.Delete = outcomeOf(imp.Delete())
	}
	for _, l := range st.Leaks() {
		r.Leaks = append(r.Leaks, fmt.Sprint(l))
	}
	return r
}

// doImportWithToken is DoImport of a job with a token, on the backend
// itself.
func doImportWithToken(b backend.Backend, job ImportJob) ImportResult {
	var r ImportResult
	ex, ok := b.(backend.Exporter)
	if !ok {
		r.Attempts = []Outcome{{Op: backend.OpImportSecurityContext, Status: backend.StatusUnsupportedFunction,
			Text: fmt.Sprintf("the backend (%T) does not implement backend.Exporter", b)}}
		return r
	}
	var h backend.Handle
	for _, name := range job.Packages {
		got, err := ex.ImportSecurityContext(name, job.Blob, job.Token)
		r.Attempts = append(r.Attempts, outcomeOf(err))
		if err == nil {
			h, r.Package = got, name
			break
		}
	}
	if r.Package != "" {
		_, err := b.QueryContextAttributes(h, backend.AttrSizes)
		r.Sizes = outcomeOf(err)
		r.Delete = outcomeOf(b.DeleteSecurityContext(h))
	}
	return r
}

// runImport does job with the harness's Importer, or in this process on a
// backend from NewBackend, and fails t for what the import left behind.
func (s *suite) runImport(t *testing.T, job ImportJob) ImportResult {
	t.Helper()
	var r ImportResult
	if s.h.Importer != nil {
		r = s.h.Importer(t, job)
	} else {
		r = DoImport(s.h.NewBackend(t), job)
	}
	for _, l := range r.Leaks {
		s.errorf(t, "the import leaked %s", l)
	}
	return r
}
