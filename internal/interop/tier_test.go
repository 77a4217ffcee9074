package interop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
)

// The tier runs only when asked: it starts processes and a KDC, and its
// tools are not part of a Go installation.
const (
	// envOptIn runs the tier where its tools are installed; a missing
	// tool skips the tests that need it.
	envOptIn = "GOSSPI_INTEROP"
	// envRequire (set by CI) runs the tier and fails, never skips, a test
	// whose tool is missing.
	envRequire = "GOSSPI_REQUIRE_TIERS"
)

const howToRun = "live interop tier against MIT GSSAPI + gss-ntlmssp, MIT Kerberos (KDC, kinit, GSSAPI), Samba's ntlm_auth and curl: " +
	"run `bash .ci/interop-tier.sh` (installs them with apt, as root on Debian), " +
	"or GOSSPI_INTEROP=1 go test ./internal/interop/ where they are installed"

func required() bool { return os.Getenv(envRequire) == "1" }

// tier skips t unless the tier was asked for, and then checks that the
// tools t needs are present: a missing one fails t under
// GOSSPI_REQUIRE_TIERS=1 and skips it otherwise.
func tier(t *testing.T, tools ...*tool) {
	t.Helper()
	if !required() && os.Getenv(envOptIn) != "1" {
		t.Skip(howToRun)
	}
	for _, tl := range tools {
		if err := tl.available(); err != nil {
			if required() {
				t.Fatalf("GOSSPI_REQUIRE_TIERS=1 but %s is missing (Debian package %s): %v", tl.name, tl.pkg, err)
			}
			t.Skipf("%s is missing (Debian package %s): %v", tl.name, tl.pkg, err)
		}
	}
}

// A tool is something the tier runs, checked once per test binary.
type tool struct {
	name, pkg string
	check     func() error
	once      sync.Once
	err       error
}

func (tl *tool) available() error {
	tl.once.Do(func() { tl.err = tl.check() })
	return tl.err
}

// systemPython is Debian's interpreter, whose python3-gssapi binds the
// system's MIT GSSAPI; a python3 earlier on PATH (pyenv, a venv) would
// not have it.
const systemPython = "/usr/bin/python3"

var (
	toolGSSAPI = &tool{name: "python3-gssapi under " + systemPython, pkg: "python3-gssapi", check: func() error {
		out, err := exec.Command(systemPython, "-c", "import gssapi.raw as r; r.acquire_cred_with_password; r.inquire_sec_context_by_oid; r.set_neg_mechs").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
		}
		return nil
	}}
	toolNTLMSSP = &tool{name: "gss-ntlmssp", pkg: "gss-ntlmssp", check: func() error {
		_, err := ntlmsspModule()
		return err
	}}
	toolKDC = &tool{name: "MIT KDC and clients", pkg: "krb5-kdc krb5-admin-server krb5-user", check: func() error {
		return lookPaths("krb5kdc", "kdb5_util", "kadmin.local", "kinit")
	}}
	toolCurl = &tool{name: "curl with GSS-API, SPNEGO and NTLM", pkg: "curl", check: func() error {
		out, err := exec.Command("curl", "-V").Output()
		if err != nil {
			return err
		}
		for _, f := range []string{"GSS-API", "SPNEGO", "NTLM"} {
			if !bytes.Contains(out, []byte(" "+f)) {
				return fmt.Errorf("curl lacks the %s feature", f)
			}
		}
		return nil
	}}
	toolNTLMAuth = &tool{name: "Samba's ntlm_auth", pkg: "winbind", check: func() error {
		return lookPaths("ntlm_auth")
	}}
)

func lookPaths(names ...string) error {
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			// Debian puts the KDC tools in /usr/sbin, which a non-root
			// PATH may lack.
			if _, err := os.Stat(filepath.Join("/usr/sbin", n)); err != nil {
				missing = append(missing, n)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not found: %s", strings.Join(missing, ", "))
	}
	return nil
}

// binPath resolves a tool found by lookPaths.
func binPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return filepath.Join("/usr/sbin", name)
}

// ntlmsspModule finds gss-ntlmssp's GSSAPI module, whose directory
// depends on the architecture.
func ntlmsspModule() (string, error) {
	m, _ := filepath.Glob("/usr/lib/*/gssntlmssp/gssntlmssp.so")
	if len(m) == 0 {
		m, _ = filepath.Glob("/usr/lib*/gssntlmssp/gssntlmssp.so")
	}
	if len(m) == 0 {
		return "", errors.New("gssntlmssp.so not found under /usr/lib")
	}
	return m[0], nil
}

// The matrix: what held against which peer in which direction. Every
// conversation records each operation it tried; TestMain prints the
// table after the tests, and README's "Held against real peers" is a copy.

// Operations, in the order of the matrix's columns.
const (
	opHandshake = "handshake"
	opNames     = "names"
	opKey       = "session key"
	opSign      = "sign"
	opSeal      = "seal"
	opTamper    = "tampered"
	opReplay    = "replayed"
	opBindings  = "channel bindings"
	opPassword  = "bad password"
	opExport    = "export"
)

var opOrder = []string{opHandshake, opNames, opKey, opSign, opSeal, opTamper, opReplay, opBindings, opPassword, opExport}

// Directions.
const (
	fakeInitiates = "fake → peer"
	peerInitiates = "peer → fake"
)

// Outcomes.
const (
	outPass       = "pass"
	outFail       = "FAIL"
	outNA         = "n/a"         // the peer cannot do it (no message protection in ntlm_auth or curl)
	outNotReached = "not reached" // an earlier operation failed
)

type row struct{ peer, dir string }

var matrix = struct {
	sync.Mutex
	rows  []row
	cells map[row]map[string]string
}{cells: map[row]map[string]string{}}

// record notes the outcome of op for peer in dir. A failure stays a
// failure even if a later conversation of the same row passes.
func record(peer, dir, op, outcome string) {
	matrix.Lock()
	defer matrix.Unlock()
	r := row{peer, dir}
	cells, ok := matrix.cells[r]
	if !ok {
		matrix.rows = append(matrix.rows, r)
		cells = map[string]string{}
		matrix.cells[r] = cells
	}
	if prev, ok := cells[op]; ok && prev != outPass && prev != outNA && prev != outNotReached {
		return
	}
	if prev := cells[op]; prev == outPass && outcome == outNotReached {
		return
	}
	cells[op] = outcome
}

// printMatrix writes the matrix as a Markdown table, rows sorted by peer
// then direction.
func printMatrix(w io.Writer) {
	matrix.Lock()
	defer matrix.Unlock()
	if len(matrix.rows) == 0 {
		return
	}
	rows := append([]row(nil), matrix.rows...)
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].peer != rows[j].peer {
			return rows[i].peer < rows[j].peer
		}
		return rows[i].dir < rows[j].dir
	})
	fmt.Fprintln(w, "interop matrix (operation results per peer and direction; \"fake → peer\": the fake initiates):")
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintf(tw, "| peer\t direction\t %s\t\n", strings.Join(opOrder, "\t "))
	sep := make([]string, len(opOrder)+2)
	for i := range sep {
		sep[i] = "---"
	}
	fmt.Fprintf(tw, "|%s\t\n", strings.Join(sep, "\t"))
	for _, r := range rows {
		var cells []string
		for _, op := range opOrder {
			c := matrix.cells[r][op]
			if c == "" {
				c = "-"
			}
			cells = append(cells, c)
		}
		fmt.Fprintf(tw, "| %s\t %s\t %s\t\n", r.peer, r.dir, strings.Join(cells, "\t "))
	}
	tw.Flush()
}

// envMatrix names a file that gets a copy of the matrix, for CI: go test
// shows a passing package's output only with -v.
const envMatrix = "GOSSPI_INTEROP_MATRIX"

func TestMain(m *testing.M) {
	code := m.Run()
	stopKDC()
	printMatrix(os.Stdout)
	if path := os.Getenv(envMatrix); path != "" {
		var b bytes.Buffer
		printMatrix(&b)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "writing the matrix: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
