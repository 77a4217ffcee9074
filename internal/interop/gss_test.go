package interop

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// gssPeer is one side of one GSSAPI security context in a
// testdata/gsspeer.py process (MIT krb5's GSSAPI, through python3-gssapi).
type gssPeer struct {
	proc *lineProc
}

// gssError is a GSSAPI failure the peer reported.
type gssError struct {
	major uint32
	text  string
}

func (e *gssError) Error() string { return fmt.Sprintf("GSSAPI major %#x: %s", e.major, e.text) }

// startGSSAcceptor starts an acceptor of mech ("ntlm", "spnego" or
// "kerberos").
func startGSSAcceptor(t testing.TB, env []string, mech string) *gssPeer {
	t.Helper()
	return startGSS(t, env, "", "accept", mech)
}

// startGSSInitiator starts an initiator of mech towards target (a
// host-based service name, service@host). cred is "default" (the
// environment's Kerberos ccache and NTLM_USER_FILE) or "password:DOMAIN\\user",
// in which case password is its password and the credential is NTLM only.
func startGSSInitiator(t testing.TB, env []string, mech, target, cred, password string) *gssPeer {
	t.Helper()
	return startGSS(t, env, password, "initiate", mech, target, cred)
}

func startGSS(t testing.TB, env []string, password string, args ...string) *gssPeer {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "gsspeer.py"))
	if err != nil {
		t.Fatal(err)
	}
	p := &gssPeer{proc: startProc(t, "gsspeer "+strings.Join(args, " "), env, append([]string{systemPython, script}, args...)...)}
	for _, a := range args {
		if strings.HasPrefix(a, "password:") {
			if err := p.proc.send(password); err != nil {
				t.Fatal(err)
			}
		}
	}
	line, err := p.proc.recv()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "ready") {
		t.Fatalf("gsspeer did not start: %q; stderr: %s", line, p.proc.stderr)
	}
	return p
}

// do runs one command and returns the values of its "ok" answer.
func (p *gssPeer) do(words ...string) ([][]byte, error) {
	line, err := p.proc.call(strings.Join(words, " "))
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	switch {
	case len(f) >= 1 && f[0] == "ok":
		vals := make([][]byte, 0, len(f)-1)
		for _, s := range f[1:] {
			v, err := unb64(s)
			if err != nil {
				return nil, fmt.Errorf("gsspeer: bad value in %q: %v", line, err)
			}
			vals = append(vals, v)
		}
		return vals, nil
	case len(f) == 3 && f[0] == "fail":
		major, _ := strconv.ParseUint(f[1], 16, 32)
		text, _ := unb64(f[2])
		return nil, &gssError{major: uint32(major), text: string(text)}
	}
	return nil, fmt.Errorf("gsspeer: unexpected answer %q; stderr: %s", line, p.proc.stderr)
}

func (p *gssPeer) step(in []byte) ([]byte, bool, error) {
	v, err := p.do("step", b64(in))
	if err != nil {
		return nil, false, err
	}
	if len(v) != 2 {
		return nil, false, fmt.Errorf("gsspeer: step answered %d values", len(v))
	}
	return v[0], string(v[1]) == "1", nil
}

func (p *gssPeer) wrap(msg []byte) ([]byte, error) {
	v, err := p.do("wrap", b64(msg))
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

func (p *gssPeer) unwrap(tok []byte) ([]byte, error) {
	v, err := p.do("unwrap", b64(tok))
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

func (p *gssPeer) mic(msg []byte) ([]byte, error) {
	v, err := p.do("mic", b64(msg))
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

func (p *gssPeer) verifyMIC(msg, mic []byte) error {
	_, err := p.do("verify", b64(msg), b64(mic))
	return err
}

func (p *gssPeer) info() (peerInfo, error) {
	v, err := p.do("info")
	if err != nil {
		return peerInfo{}, err
	}
	if len(v) != 3 {
		return peerInfo{}, fmt.Errorf("gsspeer: info answered %d values", len(v))
	}
	return peerInfo{name: string(v[0]), mech: string(v[1]), key: v[2]}, nil
}
