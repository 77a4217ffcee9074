package interop

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Samba's ntlm_auth, whose helper protocols expose Samba's own NTLMSSP
// and SPNEGO (the code smbd and winbindd run) one token per line. With
// --password it checks a client's response against that password itself,
// so no winbindd is needed. It cannot sign or seal, so only the handshake,
// names and session keys are held against it.

const (
	peerSambaNTLM   = "Samba ntlm_auth, NTLM"
	peerSambaSPNEGO = "Samba ntlm_auth, SPNEGO"
)

// ntlmAuth is one ntlm_auth helper process: one side of one context.
type ntlmAuth struct {
	proc     *lineProc
	protocol string
	server   bool
	first    bool
	user     string // the client a server side authenticated
	done     bool
}

// startNTLMAuth runs ntlm_auth with helper protocol protocol as the test
// account with password: a client authenticates with it, a server checks
// clients against it.
func startNTLMAuth(t testing.TB, protocol string, server bool, password string) *ntlmAuth {
	t.Helper()
	d := newPeerDir(t)
	// An empty smb.conf: Samba's defaults, not the machine's configuration.
	conf := d.write("smb.conf", "[global]\n")
	env := childEnv("HOME=" + d.dir)
	p := startProc(t, "ntlm_auth "+protocol, env, "ntlm_auth", "--configfile="+conf,
		"--helper-protocol="+protocol, "--username="+testUser, "--domain="+testDomain, "--password="+password)
	return &ntlmAuth{proc: p, protocol: protocol, server: server, first: true}
}

func (a *ntlmAuth) step(in []byte) ([]byte, bool, error) {
	var req string
	switch {
	case a.server && a.first:
		req = "YR " + b64(in)
	case a.server:
		req = "KK " + b64(in)
	case a.first:
		req = "YR"
	default:
		req = "TT " + b64(in)
	}
	a.first = false
	line, err := a.proc.call(req)
	if err != nil {
		return nil, false, err
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil, false, fmt.Errorf("ntlm_auth answered an empty line")
	}
	switch f[0] {
	case "YR", "TT", "KK":
		if len(f) < 2 {
			return nil, false, fmt.Errorf("ntlm_auth answered %q without a token", line)
		}
		tok, err := unb64(f[1])
		return tok, false, err
	case "AF":
		// A client's AF may carry its last token; a server's carries the
		// client's name, after the token for gss-spnego.
		var tok []byte
		rest := f[1:]
		if a.server && a.protocol == "gss-spnego" || !a.server {
			if len(rest) > 0 {
				if tok, err = unb64(rest[0]); err != nil {
					return nil, false, err
				}
				rest = rest[1:]
			}
		}
		if a.server {
			a.user = strings.Join(rest, " ")
		}
		a.done = true
		return tok, true, nil
	case "NA", "BH":
		return nil, false, errors.New("ntlm_auth refused: " + line)
	}
	return nil, false, fmt.Errorf("ntlm_auth answered %q", line)
}

// info gives a server's view of its client, and a client's session key
// where ntlm_auth tells it (GK).
func (a *ntlmAuth) info() (peerInfo, error) {
	if a.server {
		return peerInfo{name: a.user}, nil
	}
	line, err := a.proc.call("GK")
	if err != nil {
		return peerInfo{}, err
	}
	f := strings.Fields(line)
	if len(f) == 2 && f[0] == "GK" {
		key, err := base64.StdEncoding.DecodeString(f[1])
		return peerInfo{key: key}, err
	}
	// "BH No session key": this protocol does not hand it out.
	return peerInfo{}, nil
}

func sambaClient(protocol string) func(*testing.T, string) peer {
	return func(t *testing.T, password string) peer { return startNTLMAuth(t, protocol, false, password) }
}

func sambaServer(protocol string) func(*testing.T, string) peer {
	return func(t *testing.T, _ string) peer { return startNTLMAuth(t, protocol, true, testPassword) }
}

func TestSambaNTLM(t *testing.T) {
	tier(t, toolNTLMAuth)
	t.Run("fake initiates", func(t *testing.T) {
		converse(t, pairing{peer: peerSambaNTLM, fakePkg: "NTLM", fakeInitiates: true, start: sambaServer("squid-2.5-ntlmssp")})
	})
	t.Run("peer initiates", func(t *testing.T) {
		converse(t, pairing{peer: peerSambaNTLM, fakePkg: "NTLM", start: sambaClient("ntlmssp-client-1")})
	})
}

func TestSambaSPNEGO(t *testing.T) {
	tier(t, toolNTLMAuth)
	t.Run("fake initiates", func(t *testing.T) {
		converse(t, pairing{peer: peerSambaSPNEGO, fakePkg: "Negotiate", fakeInitiates: true, start: sambaServer("gss-spnego")})
	})
	t.Run("peer initiates", func(t *testing.T) {
		converse(t, pairing{peer: peerSambaSPNEGO, fakePkg: "Negotiate", start: sambaClient("gss-spnego-client")})
	})
}

const peerSambaRawNTLM = "Samba ntlm_auth, raw NTLM to Negotiate"

func TestSambaRawNTLMToNegotiate(t *testing.T) {
	tier(t, toolNTLMAuth)
	converse(t, pairing{peer: peerSambaRawNTLM, fakePkg: "Negotiate", start: sambaClient("ntlmssp-client-1"), checkTranscript: wantRawNTLM})
}
