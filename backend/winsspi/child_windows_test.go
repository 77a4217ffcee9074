//go:build windows

package winsspi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/backendtest"
	"github.com/gosspi/gosspi/backend/winsspi"
)

// The test binary runs itself again for what must happen in another OS
// process: an import (Microsoft describes ImportSecurityContext as the way
// into a different process) and the strict-rows report (which feeds
// garbage blobs to the security package: an access violation there would
// otherwise kill the whole run).
const (
	envImportJob    = "GOSSPI_IMPORT_JOB"        // path of the ImportJob (JSON) TestImportChild does
	envImportResult = "GOSSPI_IMPORT_RESULT"     // path it writes the ImportResult (JSON) to
	envStrictChild  = "GOSSPI_STRICT_ROWS_CHILD" // "1": TestStrictRowsReport runs the report itself
	childTimeout    = 2 * time.Minute
)

// runChild runs the test binary again with only the test named test, -v,
// and env added to the environment. It returns the child's output and a
// description of how it failed, or "" if it passed.
func runChild(t testing.TB, test string, env ...string) (out []byte, failed string) {
	t.Helper()
	return runChildInheriting(t, test, nil, env...)
}

// runChildInheriting is runChild with handles, marked inheritable, that
// the child inherits under the same values.
func runChildInheriting(t testing.TB, test string, inherit []syscall.Handle, env ...string) (out []byte, failed string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	if len(inherit) > 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{AdditionalInheritedHandles: inherit}
	}
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil:
		return out, ""
	case ctx.Err() != nil:
		return out, fmt.Sprintf("it did not finish within %v and was killed", childTimeout)
	}
	// The Go runtime prints the exception and exits with 2 (Windows);
	// under Wine the process ends with the exception code itself.
	var code uint32
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = uint32(ee.ExitCode())
	}
	switch {
	case code == 0xC0000005 || bytes.Contains(bytes.ToLower(out), []byte("exception 0xc0000005")):
		return out, fmt.Sprintf("an access violation (0xC0000005) killed it, in foreign code such as the security package (%v)", err)
	case code >= 0xC0000000:
		return out, fmt.Sprintf("it died of exception 0x%08X", code)
	}
	return out, fmt.Sprintf("it failed: %v", err)
}

// importInChild is the native Windows harness's Importer: it does job in a
// child process (TestImportChild) and returns what the child reports.
func importInChild(t testing.TB, job backendtest.ImportJob) backendtest.ImportResult {
	t.Helper()
	// Not t.TempDir: under Wine its RemoveAll fails ("Invalid function")
	// and fails the test; a directory left behind there harms nothing.
	dir, err := os.MkdirTemp("", "gosspi-import-")
	if err != nil {
		t.Fatalf("a directory for the import job: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	jobPath, resultPath := filepath.Join(dir, "job.json"), filepath.Join(dir, "result.json")
	var inherit []syscall.Handle
	if job.Token != 0 {
		// The child inherits a duplicate of the token under the same
		// value, which the job names.
		self := windows.CurrentProcess()
		var dup windows.Handle
		if err := windows.DuplicateHandle(self, windows.Handle(job.Token), self, &dup, 0, true, windows.DUPLICATE_SAME_ACCESS); err != nil {
			t.Fatalf("duplicating the token for the child process: %v", err)
		}
		defer windows.CloseHandle(dup)
		job.Token = backend.TokenHandle(dup)
		inherit = []syscall.Handle{syscall.Handle(dup)}
	}
	b, err := json.Marshal(job)
	if err != nil {
		t.Fatalf("encoding the import job: %v", err)
	}
	if err := os.WriteFile(jobPath, b, 0o600); err != nil {
		t.Fatalf("writing the import job: %v", err)
	}
	out, failed := runChildInheriting(t, "TestImportChild", inherit, envImportJob+"="+jobPath, envImportResult+"="+resultPath)
	if failed != "" {
		t.Fatalf("the child process that imports failed: %s; its output:\n%s", failed, out)
	}
	t.Logf("winsspi: the import ran in child process %s (pid of this one: %d); its log:\n%s", filepath.Base(os.Args[0]), os.Getpid(), out)
	b, err = os.ReadFile(resultPath)
	if err != nil {
		t.Fatalf("the child process that imports wrote no result (%v); its output:\n%s", err, out)
	}
	var r backendtest.ImportResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decoding the import result: %v", err)
	}
	return r
}

// TestImportChild does one ImportJob when an Importer of the conformance
// suite starts the test binary for it; otherwise it skips.
func TestImportChild(t *testing.T) {
	jobPath, resultPath := os.Getenv(envImportJob), os.Getenv(envImportResult)
	if jobPath == "" || resultPath == "" {
		t.Skip("runs only in the child process that the conformance suite's Importer starts")
	}
	b, err := os.ReadFile(jobPath)
	if err != nil {
		t.Fatal(err)
	}
	var job backendtest.ImportJob
	if err := json.Unmarshal(b, &job); err != nil {
		t.Fatalf("decoding the import job: %v", err)
	}
	be, err := winsspi.New()
	if err != nil {
		t.Fatalf("winsspi.New: %v", err)
	}
	t.Logf("winsspi: child process %d imports a blob of %d bytes under %v, token %#x", os.Getpid(), len(job.Blob), job.Packages, job.Token)
	if job.Token != 0 {
		// Shows that the token crossed: the handle is valid here.
		if u, err := windows.Token(job.Token).GetTokenUser(); err != nil {
			t.Logf("winsspi: the inherited token %#x: GetTokenInformation: %v", job.Token, err)
		} else {
			t.Logf("winsspi: the inherited token %#x is valid here: its user is %v", job.Token, u.User.Sid)
		}
	}
	r := backendtest.DoImport(logged{b: be, t: t}, job)
	if b, err = json.Marshal(r); err != nil {
		t.Fatalf("encoding the import result: %v", err)
	}
	if err := os.WriteFile(resultPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestImportInChild checks the plumbing of importInChild on any Windows,
// Wine included: a job for a package that does not exist comes back from
// the child process with the child's ImportSecurityContext failure.
func TestImportInChild(t *testing.T) {
	r := importInChild(t, backendtest.ImportJob{Packages: []string{"NoSuchPackage"}, Blob: []byte("not a packed context")})
	if len(r.Attempts) != 1 || r.Package != "" {
		t.Fatalf("the child reports %d import attempts, imported under %q; want one failed attempt", len(r.Attempts), r.Package)
	}
	err := r.ImportErr()
	if err == nil || r.Attempts[0].Op != backend.OpImportSecurityContext {
		t.Fatalf("the child's import of an unknown package answered %v, want a failure from %v", err, backend.OpImportSecurityContext)
	}
	t.Logf("winsspi: the child process answered %v", err)

	// With a token (this process's own): the child inherits it.
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_QUERY, &tok); err != nil {
		t.Fatalf("OpenProcessToken: %v", err)
	}
	defer tok.Close()
	var log bytes.Buffer
	r = importInChild(logTo{t, &log}, backendtest.ImportJob{Packages: []string{"NoSuchPackage"}, Blob: []byte("x"), Token: backend.TokenHandle(tok)})
	if len(r.Attempts) != 1 || !bytes.Contains(log.Bytes(), []byte("is valid here: its user is S-1-")) {
		t.Fatalf("the child did not report the inherited token valid (%d attempts); its log:\n%s", len(r.Attempts), log.Bytes())
	}
}

// logTo is a testing.TB whose Logf also writes to w.
type logTo struct {
	testing.TB
	w *bytes.Buffer
}

func (l logTo) Logf(format string, args ...any) {
	l.TB.Helper()
	fmt.Fprintf(l.w, format+"\n", args...)
	l.TB.Logf(format, args...)
}

// envCrashChild makes TestCrashChild crash its process.
const envCrashChild = "GOSSPI_CRASH_CHILD"

// TestRunChildReportsAccessViolation checks what a crash in a child looks
// like to its parent: an access violation in foreign code (as a garbage
// blob could cause inside secur32) fails the parent's test with a message
// that names it, and the parent goes on.
func TestRunChildReportsAccessViolation(t *testing.T) {
	out, failed := runChild(t, "TestCrashChild", envCrashChild+"=1")
	if !strings.Contains(failed, "access violation") {
		t.Fatalf("runChild describes the crashed child as %q, want an access violation; its output:\n%s", failed, out)
	}
	t.Logf("runChild: %s", failed)
}

// TestCrashChild dereferences address 8 inside ntdll, when
// TestRunChildReportsAccessViolation starts it; otherwise it skips.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envCrashChild) != "1" {
		t.Skip("runs only in the child process TestRunChildReportsAccessViolation starts, where it crashes")
	}
	dst := make([]byte, 8)
	windows.NewLazySystemDLL("ntdll.dll").NewProc("RtlMoveMemory").Call(uintptr(unsafe.Pointer(&dst[0])), 8, 8)
	t.Fatal("RtlMoveMemory from address 8 returned")
}
