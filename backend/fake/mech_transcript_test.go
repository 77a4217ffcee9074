package fake

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/spnego"
)

// The transcripts in testdata/transcript pin what the emulated packages do,
// byte for byte: every token on the wire, every signature and sealed
// message, every attribute, and the text of every error, for deterministic
// handshakes on the keyed machine. Run `go test ./backend/fake -run
// Transcript -update` to write a missing one; an existing one changes only
// with a deliberate change of behaviour.
var transcriptDir = filepath.Join("testdata", "transcript")

// transcript records lines of a run.
type transcript struct {
	t     *testing.T
	lines []string
}

func (tr *transcript) add(label string, v any) {
	switch v := v.(type) {
	case []byte:
		tr.lines = append(tr.lines, fmt.Sprintf("%s %x", label, v))
	case error:
		tr.lines = append(tr.lines, fmt.Sprintf("%s error %q", label, v.Error()))
	default:
		tr.lines = append(tr.lines, fmt.Sprintf("%s %+v", label, v))
	}
}

// check compares the lines with the stored transcript, writing it when it
// is missing and -update is set.
func (tr *transcript) check(name string) {
	t := tr.t
	t.Helper()
	got := strings.Join(tr.lines, "\n") + "\n"
	path := filepath.Join(transcriptDir, name+".txt")
	want, err := os.ReadFile(path)
	if os.IsNotExist(err) && *update {
		require.NoError(t, os.MkdirAll(transcriptDir, 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	require.NoError(t, err, "missing transcript; write it with -update")
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := 0; i < len(wl) || i < len(gl); i++ {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Fatalf("%s differs at line %d:\nwant %s\n got %s", path, i+1, w, g)
			}
		}
	}
}

// rawPeer is one side of a handshake on the raw Backend interface.
type rawPeer struct {
	p    *Process
	cred backend.Handle
	h    backend.Handle
}

func rawCred(t *testing.T, p *Process, pkg string, use flags.CredentialUse, id *backend.AuthIdentity) backend.Handle {
	t.Helper()
	h, _, err := p.AcquireCredentialsHandle("", pkg, use, id)
	require.NoError(t, err)
	return h
}

// appBindings is a SEC_CHANNEL_BINDINGS structure holding only
// application data, as for TLS.
func appBindings(app string) []byte {
	b := make([]byte, 32, 32+len(app))
	binary.LittleEndian.PutUint32(b[24:], uint32(len(app)))
	binary.LittleEndian.PutUint32(b[28:], 32)
	return append(b, app...)
}

func input(tok, bindings []byte) []backend.Buffer {
	var in []backend.Buffer
	if tok != nil {
		in = append(in, backend.Buffer{Type: backend.BufferToken, Data: bytes.Clone(tok)})
	}
	if bindings != nil {
		in = append(in, backend.Buffer{Type: backend.BufferChannelBindings, Data: bindings})
	}
	return in
}

func (c *rawPeer) initialize(tr *transcript, label string, tok, bindings []byte) ([]byte, error) {
	res, err := c.p.InitializeSecurityContext(&backend.InitializeRequest{
		Credential: c.cred, Context: c.h, Target: "HTTP/golden.contoso.test",
		Flags: flags.ClientReqIntegrity | flags.ClientReqConfidentiality | flags.ClientReqReplayDetect,
		Input: input(tok, bindings),
	})
	if err != nil {
		tr.add(label, err)
		return nil, err
	}
	c.h = res.Context
	tr.add(label, fmt.Sprintf("status=%v flags=%#x expiry=%s out=%x", res.Status, uint32(res.Flags), res.Expiry.UTC().Format("2006-01-02T15:04:05.999999999"), res.Output))
	return res.Output, nil
}

func (s *rawPeer) accept(tr *transcript, label string, tok, bindings []byte) ([]byte, error) {
	res, err := s.p.AcceptSecurityContext(&backend.AcceptRequest{
		Credential: s.cred, Context: s.h,
		Flags: flags.ServerReqIntegrity | flags.ServerReqConfidentiality | flags.ServerReqReplayDetect,
		Input: input(tok, bindings),
	})
	if err != nil {
		tr.add(label, err)
		return nil, err
	}
	s.h = res.Context
	tr.add(label, fmt.Sprintf("status=%v flags=%#x expiry=%s out=%x", res.Status, uint32(res.Flags), res.Expiry.UTC().Format("2006-01-02T15:04:05.999999999"), res.Output))
	return res.Output, nil
}

// attrs records the attributes a context answers.
func (tr *transcript) attrs(label string, p *Process, h backend.Handle) {
	for _, a := range []backend.Attribute{backend.AttrSizes, backend.AttrPackageInfo, backend.AttrNegotiationInfo, backend.AttrFlags,
		backend.AttrNames, backend.AttrNativeNames, backend.AttrLifespan, backend.AttrAuthority, backend.AttrSessionKey} {
		v, err := p.QueryContextAttributes(h, a)
		if err != nil {
			tr.add(fmt.Sprintf("%s %s", label, a), err)
			continue
		}
		if l, ok := v.(backend.Lifespan); ok {
			v = l.Start.UTC().Format("2006-01-02T15:04:05") + " " + l.Expiry.UTC().Format("2006-01-02T15:04:05")
		}
		if k, ok := v.(backend.SessionKey); ok {
			v = k.Key
		}
		tr.add(fmt.Sprintf("%s %s", label, a), v)
	}
}

// messages records one signature and one sealed message each way, the
// in-place and the several-buffer paths, and refusals.
func (tr *transcript) messages(label string, a, b *rawPeer) {
	sign := func(from, to *rawPeer, dir string, msg []byte) {
		m := []backend.Buffer{{Type: backend.BufferData, Data: msg}, {Type: backend.BufferToken, Data: make([]byte, 16)}}
		if err := from.p.MakeSignature(from.h, 0, m, 0); err != nil {
			tr.add(label+" sign "+dir, err)
			return
		}
		tr.add(label+" sign "+dir, m[1].Data)
		_, err := to.p.VerifySignature(to.h, m, 0)
		tr.add(label+" verify "+dir, fmt.Sprint(err))
	}
	seal := func(from, to *rawPeer, dir string, parts ...string) {
		var m []backend.Buffer
		m = append(m, backend.Buffer{Type: backend.BufferToken, Data: make([]byte, 16)})
		for _, p := range parts {
			m = append(m, backend.Buffer{Type: backend.BufferData, Data: []byte(p)})
		}
		if err := from.p.EncryptMessage(from.h, 0, m, 0); err != nil {
			tr.add(label+" seal "+dir, err)
			return
		}
		for i, x := range m {
			tr.add(fmt.Sprintf("%s seal %s %d", label, dir, i), x.Data)
		}
		_, err := to.p.DecryptMessage(to.h, m, 0)
		tr.add(label+" unseal "+dir, fmt.Sprint(err))
		for i, x := range m[1:] {
			tr.add(fmt.Sprintf("%s unsealed %s %d", label, dir, i), string(x.Data))
		}
	}
	sign(a, b, "a>b", []byte("hello"))
	sign(b, a, "b>a", []byte("hello back"))
	seal(a, b, "a>b", "one buffer, sealed in place")
	seal(b, a, "b>a", "several ", "buffers")
	seal(a, b, "a>b", "")

	// Refusals: an altered signature, a replay, an altered sealed message,
	// and a token buffer too small.
	m := []backend.Buffer{{Type: backend.BufferData, Data: []byte("x")}, {Type: backend.BufferToken, Data: make([]byte, 16)}}
	if err := a.p.MakeSignature(a.h, 0, m, 0); err == nil {
		saved := bytes.Clone(m[1].Data)
		m[1].Data[6] ^= 1
		_, err := b.p.VerifySignature(b.h, m, 0)
		tr.add(label+" altered signature", err)
		m[1].Data = saved
		_, err = b.p.VerifySignature(b.h, m, 0)
		tr.add(label+" good signature after", fmt.Sprint(err))
		_, err = b.p.VerifySignature(b.h, m, 0)
		tr.add(label+" replay", err)
	}
	e := []backend.Buffer{{Type: backend.BufferToken, Data: make([]byte, 16)}, {Type: backend.BufferData, Data: []byte("sealed")}}
	if err := a.p.EncryptMessage(a.h, 0, e, 0); err == nil {
		e[1].Data[0] ^= 1
		_, err := b.p.DecryptMessage(b.h, e, 0)
		tr.add(label+" altered sealed message", err)
		tr.add(label+" altered sealed message after", e[1].Data)
		e[1].Data[0] ^= 1
		_, err = b.p.DecryptMessage(b.h, e, 0)
		tr.add(label+" the sealed message unaltered", fmt.Sprint(err))
	}
	small := []backend.Buffer{{Type: backend.BufferData, Data: []byte("x")}, {Type: backend.BufferToken, Data: make([]byte, 15)}}
	tr.add(label+" small token", a.p.MakeSignature(a.h, 0, small, 0))
	tr.add(label+" small trailer", a.p.EncryptMessage(a.h, 0, small, 0))
	tr.add(label+" no token", a.p.MakeSignature(a.h, 0, small[:1], 0))
}

// TestTranscript runs deterministic handshakes, messages, exports and
// imports of each package, and the refusals around them, and compares all
// of it with the stored transcripts.
func TestTranscript(t *testing.T) {
	alice := &backend.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"}
	wrong := &backend.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"}
	for _, tc := range []struct {
		name, pkg string
		bindings  []byte
	}{
		{"ntlm", "NTLM", nil},
		{"ntlm-bindings", "NTLM", appBindings("tls-server-end-point:0123456789")},
		{"negotiate", "Negotiate", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &transcript{t: t}
			m := keyedMachine()
			p := m.NewProcess()
			scred := rawCred(t, p, tc.pkg, flags.Inbound, nil)
			ccred := rawCred(t, p, tc.pkg, flags.Outbound, alice)

			// The handshake, with the refusals a handshake in progress gives.
			c := &rawPeer{p: p, cred: ccred}
			s := &rawPeer{p: p, cred: scred}
			_, err := c.initialize(tr, "client first with a token", []byte("x"), nil)
			require.Error(t, err)
			_, err = s.accept(tr, "server first without a token", nil, nil)
			require.Error(t, err)
			tok, err := c.initialize(tr, "client 1", nil, tc.bindings)
			require.NoError(t, err)
			tr.attrs("client in handshake", p, c.h)
			tr.add("sign in handshake", p.MakeSignature(c.h, 0, []backend.Buffer{{Type: backend.BufferToken, Data: make([]byte, 16)}}, 0))
			_, _, err = p.ExportSecurityContext(c.h, 0, false)
			tr.add("export in handshake", err)
			_, err = c.initialize(tr, "client 2 without a token", nil, nil)
			require.Error(t, err)
			tok, err = s.accept(tr, "server 1", tok, tc.bindings)
			require.NoError(t, err)
			tr.attrs("server in handshake", p, s.h)
			_, err = (&rawPeer{p: p, cred: ccred, h: s.h}).initialize(tr, "client step on a server context", tok, nil)
			require.Error(t, err)
			for i := 2; ; i++ {
				if tok, err = c.initialize(tr, fmt.Sprintf("client %d", i), tok, tc.bindings); err != nil {
					t.Fatal(err)
				}
				if tok == nil {
					break
				}
				if tok, err = s.accept(tr, fmt.Sprintf("server %d", i), tok, tc.bindings); err != nil {
					t.Fatal(err)
				}
				if tok == nil {
					break
				}
			}
			_, err = c.initialize(tr, "client step after the handshake", []byte("x"), nil)
			require.Error(t, err)
			_, err = s.accept(tr, "server step after the handshake", []byte("x"), nil)
			require.Error(t, err)
			tr.attrs("client", p, c.h)
			tr.attrs("server", p, s.h)
			tr.messages("established", c, s)

			// Export and import, with and without RESET_NEW: the imported
			// context answers the same attributes and continues (or
			// restarts) the session.
			for _, f := range []flags.Export{flags.ResetNew, 0} {
				for _, side := range []*rawPeer{s, c} {
					blob, _, err := p.ExportSecurityContext(side.h, f, false)
					require.NoError(t, err)
					p2 := m.NewProcess()
					ih, err := p2.ImportSecurityContext(tc.pkg, blob, 0)
					require.NoError(t, err)
					imp := &rawPeer{p: p2, h: ih}
					label := fmt.Sprintf("import %v of the %s", f, map[bool]string{true: "server", false: "client"}[side == s])
					tr.attrs(label, p2, ih)
					if f == 0 {
						peer := c
						if side == c {
							peer = s
						}
						tr.messages(label, imp, peer)
						// The exporter was not deleted: move it back in line.
						require.NoError(t, p.DeleteSecurityContext(side.h))
						side.h = imp.h
						side.p = p2
					} else {
						m := []backend.Buffer{{Type: backend.BufferData, Data: []byte("after a reset")}, {Type: backend.BufferToken, Data: make([]byte, 16)}}
						require.NoError(t, p2.MakeSignature(ih, 0, m, 0))
						tr.add(label+" first signature", m[1].Data)
						require.NoError(t, p2.DeleteSecurityContext(ih))
					}
				}
			}
			_, err = p.ImportSecurityContext(map[string]string{"NTLM": "Negotiate", "Negotiate": "NTLM"}[tc.pkg], mustExport(t, s), 0)
			tr.add("import as the other package", err)
			tr.check(tc.name)
		})
	}

	// Handshake failures, and what a context answers after one.
	t.Run("failures", func(t *testing.T) {
		tr := &transcript{t: t}
		for _, pkg := range []string{"NTLM", "Negotiate"} {
			m := keyedMachine()
			p := m.NewProcess()
			scred := rawCred(t, p, pkg, flags.Inbound, nil)
			good := rawCred(t, p, pkg, flags.Outbound, alice)
			bad := rawCred(t, p, pkg, flags.Outbound, wrong)

			// A wrong password, then the good AUTHENTICATE on the same
			// server context: a challenge serves one attempt.
			cb := &rawPeer{p: p, cred: bad}
			sb := &rawPeer{p: p, cred: scred}
			tok, err := cb.initialize(tr, pkg+" bad client 1", nil, nil)
			require.NoError(t, err)
			tok, err = sb.accept(tr, pkg+" bad server 1", tok, nil)
			require.NoError(t, err)
			auth, err := cb.initialize(tr, pkg+" bad client 2", tok, nil)
			require.NoError(t, err)
			_, err = sb.accept(tr, pkg+" bad server 2", auth, nil)
			require.Error(t, err)
			_, err = sb.accept(tr, pkg+" bad server 2 again", auth, nil)
			require.Error(t, err)
			tr.attrs(pkg+" refused server", p, sb.h)

			// Mismatched channel bindings.
			cc := &rawPeer{p: p, cred: good}
			sc := &rawPeer{p: p, cred: scred}
			tok, err = cc.initialize(tr, pkg+" bindings client 1", nil, appBindings("one channel"))
			require.NoError(t, err)
			tok, err = sc.accept(tr, pkg+" bindings server 1", tok, appBindings("another channel"))
			require.NoError(t, err)
			tok, err = cc.initialize(tr, pkg+" bindings client 2", tok, appBindings("one channel"))
			require.NoError(t, err)
			_, err = sc.accept(tr, pkg+" bindings server 2", tok, appBindings("another channel"))
			require.Error(t, err)

			// Garbage where a token belongs.
			s := &rawPeer{p: p, cred: scred}
			_, err = s.accept(tr, pkg+" garbage first", []byte("garbage"), nil)
			require.Error(t, err)
			c := &rawPeer{p: p, cred: good}
			_, err = c.initialize(tr, pkg+" client 1", nil, nil)
			require.NoError(t, err)
			_, err = c.initialize(tr, pkg+" client garbage", []byte("garbage"), nil)
			require.Error(t, err)
			if pkg != "Negotiate" {
				continue
			}

			// Negotiate: a garbage second token leaves the server able to
			// go on; an altered client MIC ends its handshake; an altered
			// server MIC leaves the client able to go on.
			c = &rawPeer{p: p, cred: good}
			s = &rawPeer{p: p, cred: scred}
			tok, err = c.initialize(tr, "neg client 1", nil, nil)
			require.NoError(t, err)
			tok, err = s.accept(tr, "neg server 1", tok, nil)
			require.NoError(t, err)
			auth, err = c.initialize(tr, "neg client 2", tok, nil)
			require.NoError(t, err)
			_, err = s.accept(tr, "neg server 2 garbage", []byte("\xa1\x03\x30\x01\x00"), nil)
			require.Error(t, err)
			final, err := s.accept(tr, "neg server 2", auth, nil)
			require.NoError(t, err)
			_, err = c.initialize(tr, "neg client 3 altered MIC", alterMIC(t, final), nil)
			require.Error(t, err)
			_, err = c.initialize(tr, "neg client 3", final, nil)
			require.NoError(t, err)

			c = &rawPeer{p: p, cred: good}
			s = &rawPeer{p: p, cred: scred}
			tok, err = c.initialize(tr, "neg2 client 1", nil, nil)
			require.NoError(t, err)
			tok, err = s.accept(tr, "neg2 server 1", tok, nil)
			require.NoError(t, err)
			auth, err = c.initialize(tr, "neg2 client 2", tok, nil)
			require.NoError(t, err)
			_, err = s.accept(tr, "neg2 server 2 altered MIC", alterMIC(t, auth), nil)
			require.Error(t, err)
			tr.attrs("neg2 server after altered MIC", p, s.h)
			_, err = s.accept(tr, "neg2 server 2 again", auth, nil)
			require.Error(t, err)
			tr.add("neg2 sign after altered MIC", p.MakeSignature(s.h, 0, []backend.Buffer{{Type: backend.BufferToken, Data: make([]byte, 16)}}, 0))
		}
		tr.check("failures")
	})
}

func mustExport(t *testing.T, s *rawPeer) []byte {
	t.Helper()
	blob, _, err := s.p.ExportSecurityContext(s.h, 0, false)
	require.NoError(t, err)
	return blob
}

// alterMIC flips a bit of the mechListMIC of a NegTokenResp.
func alterMIC(t *testing.T, tok []byte) []byte {
	t.Helper()
	r, err := spnego.ParseNegTokenResp(tok)
	require.NoError(t, err)
	assert.NotEmpty(t, r.MechListMIC)
	r.MechListMIC[5] ^= 1
	out, err := r.Marshal()
	require.NoError(t, err)
	return out
}
