package backendtest_test

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/backendtest"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
)

// envMode selects the backend TestSuite runs the suite against: unset, the
// fake as it is; otherwise one of the broken backends below, which
// TestSuiteCatches runs in a child process and expects to fail.
const envMode = "GOSSPI_BACKENDTEST_MODE"

// TestSuite runs the suite against the fake, or, in a child process of
// TestSuiteCatches, against a deliberately broken backend.
func TestSuite(t *testing.T) {
	mode := os.Getenv(envMode)
	m := fake.NewMachine(fake.MachineConfig{Name: "FAKEHOST", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	h := backendtest.Harness{
		Name:         "fake/" + mode,
		DoubleDelete: true,
		Packages: []backendtest.Package{{
			Name:          "NTLM",
			Client:        &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"},
			Target:        "HOST/fakehost.contoso.test",
			ClientName:    `CONTOSO\alice`,
			WrongPassword: &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"},
		}},
	}
	switch mode {
	case "":
		h.Name = "fake"
		h.NewBackend = func(testing.TB) backend.Backend { return m.NewProcess() }
	case "wrongop":
		h.NewBackend = func(testing.TB) backend.Backend { return wrongOp{m.NewProcess()} }
	case "sharedseq":
		h.NewBackend = func(testing.TB) backend.Backend { return &sharedSeq{Process: m.NewProcess()} }
	case "panic":
		h.NewBackend = func(testing.TB) backend.Backend { return &panicky{Process: m.NewProcess()} }
	case "ownclient":
		h.NewBackend = func(testing.TB) backend.Backend { return ownClient{m.NewProcess()} }
	case "observed", "observedwrong":
		// A backend whose receiver answers SEC_E_MESSAGE_ALTERED where the
		// fake answers SEC_E_OUT_OF_SEQUENCE, and whose signatures share
		// sequence numbers under unsynchronized calls: a harness that
		// declares those answers unknown must pass, with the answers
		// logged; one that accepts other statuses must still fail.
		h.NewBackend = func(testing.TB) backend.Backend { return desync{&sharedSeq{Process: m.NewProcess()}} }
		// Imports go through JSON, as to a child process.
		h.Importer = func(t testing.TB, job backendtest.ImportJob) backendtest.ImportResult {
			var j backendtest.ImportJob
			roundTrip(t, job, &j)
			// A fake token handle is bound to its process: one that
			// crossed to another answers as a foreign handle does.
			var r backendtest.ImportResult
			roundTrip(t, backendtest.DoImport(desync{&sharedSeq{Process: m.NewProcess()}}, j), &r)
			return r
		}
		seq := []sspictx.Status{sspictx.StatusOutOfSequence, sspictx.StatusMessageAltered}
		if mode == "observedwrong" {
			seq = []sspictx.Status{sspictx.StatusInvalidToken}
		}
		h.Packages[0].Caps.Unsynchronized = backendtest.Unknown
		h.Packages[0].Caps.Observed = map[backendtest.Check][]sspictx.Status{
			backendtest.CheckReplay:       seq,
			backendtest.CheckReorder:      seq,
			backendtest.CheckExportCopies: seq,
			backendtest.CheckImport:       {sspictx.StatusOK, sspictx.StatusInvalidToken},
			backendtest.CheckToKernel:     {sspictx.StatusUnsupportedFunction, sspictx.StatusOK},
			backendtest.CheckImportToken:  {sspictx.StatusOK, sspictx.StatusInvalidHandle, sspictx.StatusInvalidToken},
		}
	case "hang":
		h.Timeout = 300 * time.Millisecond
		h.NewBackend = func(testing.TB) backend.Backend { return hanging{m.NewProcess()} }
	default:
		t.Fatalf("%s=%q names no backend", envMode, mode)
	}
	backendtest.Run(t, h)
}

// TestSuiteCatches runs the suite against backends with one bug each and
// checks that it fails, naming the backend and the bug.
func TestSuiteCatches(t *testing.T) {
	for _, c := range []struct {
		mode string
		want []string
	}{
		{"wrongop", []string{
			"--- FAIL: TestSuite/NTLM/Sign/ClientToServer",
			"fake/wrongop: Verify of a tampered message: got SEC_E_MESSAGE_ALTERED (0x8009030f) from MakeSignature, want SEC_E_MESSAGE_ALTERED (0x8009030f) from VerifySignature",
		}},
		{"sharedseq", []string{
			"--- PASS: TestSuite/NTLM/Concurrent", // the Store serializes
			"--- FAIL: TestSuite/NTLM/Unsynchronized",
			"fake/sharedseq: burst: MakeSignature",
			"two calls took one sequence number",
		}},
		{"panic", []string{
			"--- FAIL: TestSuite/NTLM/Unsynchronized",
			"panicked: two queries at once",
			"backendtest_test.(*panicky).QueryContextAttributes",
		}},
		{"ownclient", []string{
			"--- PASS: TestSuite/NTLM/Handshake", // its own client asks for signing
			"--- PASS: TestSuite/NTLM/RealClients/MIT",
			"--- FAIL: TestSuite/NTLM/RealClients/Samba",
			"fake/ownclient: AcceptSecurityContext of Samba 4.17 ntlm_auth's NEGOTIATE_MESSAGE",
		}},
		{"observedwrong", []string{
			"--- FAIL: TestSuite/NTLM/Sign/ClientToServer",
			"Verify of a reordered message (check Reorder, where the harness accepts what is plausible): got SEC_E_MESSAGE_ALTERED",
		}},
		{"hang", []string{
			"panic: backendtest: fake/hang: scenario TestSuite/NTLM/Sign did not finish within 300ms",
			"goroutine ",
			"backendtest_test.hanging.MakeSignature",
		}},
	} {
		t.Run(c.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuite$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), envMode+"="+c.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a backend with a bug:\n%s", out)
			}
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("running the child: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("the output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestSuiteObserves runs the suite, in a child process, against a backend
// that answers differently from the fake where the harness declares the
// answer unknown: the suite must pass and log what it observed.
func TestSuiteObserves(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSuite$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envMode+"=observed")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the suite failed where the harness declares the answers unknown: %v\n%s", err, out)
	}
	for _, w := range []string{
		"backendtest: observed Reorder TestSuite/NTLM/Sign/ClientToServer on fake/observed: Verify of a reordered message answered SEC_E_MESSAGE_ALTERED",
		"backendtest: observed Replay TestSuite/NTLM/Sign/ServerToClient on fake/observed: Verify of a replayed message answered SEC_E_MESSAGE_ALTERED",
		"backendtest: observed ExportCopies TestSuite/NTLM/Export/Flags=0",
		"backendtest: observed Import TestSuite/NTLM/Export/Token on fake/observed: ImportSecurityContext with no token answered SEC_E_OK",
		"backendtest: observed ToKernel TestSuite/NTLM/Export/ToKernel",
		"backendtest: observed ImportToken TestSuite/NTLM/Export/Token on fake/observed: ImportSecurityContext with the exported token answered SEC_E_",
		"backendtest: observing TestSuite/NTLM/Unsynchronized on fake/observed",
		"backendtest: observed TestSuite/NTLM/Unsynchronized on fake/observed, where Unsynchronized is declared Unknown",
		"two calls took one sequence number",
		"--- PASS: TestSuite/NTLM/Export/Flags=0",
		"--- PASS: TestSuite/NTLM/Export/Flags=ResetNew",
	} {
		if !strings.Contains(string(out), w) {
			t.Errorf("the output lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// roundTrip copies v into out through JSON, failing t if it cannot.
func roundTrip(t testing.TB, v, out any) {
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		t.Fatalf("JSON round trip of %T: %v", v, err)
	}
}

// desync answers SEC_E_MESSAGE_ALTERED where the fake answers
// SEC_E_OUT_OF_SEQUENCE, as a receiver whose RC4 stream a lost or
// replayed message desynchronised may.
type desync struct{ *sharedSeq }

func (b desync) VerifySignature(ctx backend.Handle, msg []backend.Buffer, seq uint32) (uint32, error) {
	qop, err := b.sharedSeq.VerifySignature(ctx, msg, seq)
	if e, ok := err.(*backend.Error); ok && e.Status == backend.StatusOutOfSequence {
		e.Status = backend.StatusMessageAltered
	}
	return qop, err
}

// wrongOp names VerifySignature's failures as MakeSignature's, a
// copy-and-paste slip in a backend's error path.
type wrongOp struct{ *fake.Process }

func (b wrongOp) VerifySignature(ctx backend.Handle, msg []backend.Buffer, seq uint32) (uint32, error) {
	qop, err := b.Process.VerifySignature(ctx, msg, seq)
	if e, ok := err.(*backend.Error); ok {
		e.Op = backend.OpMakeSignature
	}
	return qop, err
}

// overlap counts the calls in flight on each handle.
type overlap struct {
	mu       sync.Mutex
	inFlight map[backend.Handle]int
}

// enter records a call on h and reports whether another one is in flight
// on it; the caller calls the returned function when it is done.
func (o *overlap) enter(h backend.Handle) (others bool, done func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.inFlight == nil {
		o.inFlight = make(map[backend.Handle]int)
	}
	o.inFlight[h]++
	return o.inFlight[h] > 1, func() {
		o.mu.Lock()
		o.inFlight[h]--
		o.mu.Unlock()
	}
}

// sharedSeq behaves under the Store, but when two MakeSignature calls on
// one handle overlap, the second hands out the signature of the first
// again, as a backend does whose sequence number is read and bumped
// without a lock.
type sharedSeq struct {
	*fake.Process
	overlap
	mu   sync.Mutex
	last map[backend.Handle][]byte
}

func (b *sharedSeq) MakeSignature(ctx backend.Handle, qop uint32, msg []backend.Buffer, seq uint32) error {
	others, done := b.enter(ctx)
	defer done()
	tok := &msg[len(msg)-1]
	if others {
		b.mu.Lock()
		last := b.last[ctx]
		b.mu.Unlock()
		if last != nil {
			tok.Data = append(tok.Data[:0], last...)
			return nil
		}
	}
	time.Sleep(time.Millisecond) // widen the window for the next call
	if err := b.Process.MakeSignature(ctx, qop, msg, seq); err != nil {
		return err
	}
	b.mu.Lock()
	if b.last == nil {
		b.last = make(map[backend.Handle][]byte)
	}
	b.last[ctx] = append([]byte(nil), tok.Data...)
	b.mu.Unlock()
	return nil
}

// panicky panics when two queries on one handle overlap, as a backend
// that writes its per-handle state without a lock may crash.
type panicky struct {
	*fake.Process
	overlap
}

func (b *panicky) QueryContextAttributes(ctx backend.Handle, attr backend.Attribute) (any, error) {
	others, done := b.enter(ctx)
	defer done()
	if others {
		panic("two queries at once")
	}
	time.Sleep(100 * time.Microsecond)
	return b.Process.QueryContextAttributes(ctx, attr)
}

// ownClient takes only NEGOTIATE_MESSAGEs that ask for signing, as its
// own client's do: tested against itself alone, such a backend never
// meets Samba's client, which asks for none.
type ownClient struct{ *fake.Process }

func (b ownClient) AcceptSecurityContext(req *backend.AcceptRequest) (backend.AcceptResult, error) {
	const negotiateSign = 0x10
	for _, in := range req.Input {
		if req.Context.IsZero() && in.Type.Kind() == backend.BufferToken && len(in.Data) >= 16 && binary.LittleEndian.Uint32(in.Data[12:])&negotiateSign == 0 {
			return backend.AcceptResult{}, backend.NewError(backend.OpAcceptSecurityContext, "NTLM", backend.StatusInvalidToken, "a NEGOTIATE_MESSAGE that asks for no signing", nil)
		}
	}
	return b.Process.AcceptSecurityContext(req)
}

// hanging never returns from MakeSignature.
type hanging struct{ *fake.Process }

func (hanging) MakeSignature(backend.Handle, uint32, []backend.Buffer, uint32) error {
	select {}
}
