package interop

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// callTimeout bounds one request to a peer process: a peer that hangs
// (waiting for input it will never get, say) fails the test instead of
// stalling it until go test's own timeout.
const callTimeout = 20 * time.Second

// lineProc is a child process spoken to one line at a time over
// stdin/stdout, as testdata/gsspeer.py and ntlm_auth's helper protocols
// are.
type lineProc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *lockedBuffer
	mu     sync.Mutex
}

// lockedBuffer collects a child's stderr, for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startProc starts argv with env as its whole environment; the process is
// killed when the test ends.
func startProc(t testing.TB, name string, env []string, argv ...string) *lineProc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &lineProc{t: t, name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 16), stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return p
}

// send writes one line.
func (p *lineProc) send(line string) error {
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return fmt.Errorf("%s: writing %q: %v; stderr: %s", p.name, line, err, p.stderr)
	}
	return nil
}

// recv reads one line.
func (p *lineProc) recv() (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", fmt.Errorf("%s exited; stderr: %s", p.name, p.stderr)
		}
		return l, nil
	case <-time.After(callTimeout):
		return "", fmt.Errorf("%s did not answer within %v; stderr: %s", p.name, callTimeout, p.stderr)
	}
}

// call sends a line and returns the answer.
func (p *lineProc) call(line string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.send(line); err != nil {
		return "", err
	}
	return p.recv()
}

// b64 encodes a token for a line protocol, "-" for none.
func b64(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return base64.StdEncoding.EncodeToString(b)
}

// unb64 decodes b64's output.
func unb64(s string) ([]byte, error) {
	if s == "-" || s == "*" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// childEnv is the environment of a peer process: the test's own minus
// every variable that steers GSSAPI, Kerberos, gss-ntlmssp or curl, plus
// extra. So a peer reads only the configuration the test wrote, and the
// machine's /etc/gss/mech.d (where gss-ntlmssp registers itself) is not
// read at all: GSS_MECH_CONFIG names the test's own file.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "KRB5"), strings.HasPrefix(k, "GSS_"), strings.HasPrefix(k, "NTLM"),
			k == "http_proxy", k == "https_proxy", k == "HTTP_PROXY", k == "HTTPS_PROXY", k == "ALL_PROXY", k == "all_proxy",
			k == "NO_PROXY", k == "no_proxy", k == "CURL_HOME", k == "HOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// peerDir is a per-test directory for a peer's configuration files.
type peerDir struct {
	t   testing.TB
	dir string
}

func newPeerDir(t testing.TB) *peerDir {
	t.Helper()
	return &peerDir{t: t, dir: t.TempDir()}
}

// write creates a file in the directory and returns its path.
func (d *peerDir) write(name, content string) string {
	d.t.Helper()
	p := filepath.Join(d.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		d.t.Fatal(err)
	}
	return p
}

// gssEnv is the environment of a GSSAPI peer: gss-ntlmssp as the only
// mechanism beside MIT's built-in Kerberos and SPNEGO, the NTLM users of
// users (lines DOMAIN:USER:PASSWORD; gss-ntlmssp's acceptor checks
// passwords against them and its initiator takes default credentials from
// them), and krb5conf as the Kerberos configuration (empty: no realm, so
// Kerberos offers nothing). extra is appended.
func (d *peerDir) gssEnv(users, krb5conf string, extra ...string) []string {
	d.t.Helper()
	mod, err := ntlmsspModule()
	if err != nil {
		d.t.Fatal(err)
	}
	mech := d.write("gss-mech", fmt.Sprintf("gssntlmssp_v1 1.3.6.1.4.1.311.2.2.10 %s\n", mod))
	env := []string{
		"GSS_MECH_CONFIG=" + mech,
		"NTLM_USER_FILE=" + d.write("ntlm-users", users),
		"KRB5_CONFIG=" + d.write("krb5.conf", krb5conf),
		"KRB5CCNAME=FILE:" + filepath.Join(d.dir, "no-ccache"),
		"KRB5_KTNAME=FILE:" + filepath.Join(d.dir, "no-keytab"),
		"HOME=" + d.dir,
	}
	return childEnv(append(env, extra...)...)
}
