package backendtest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gosspi/gosspi/backend"
)

// testUnsynchronized drives one established pair of contexts from many
// goroutines at once, the way golang.org/x/net/nettest drives a net.Conn.
// The Store serializes the calls on one context, so the suite goes under
// it: Raw hands out each context's handle (and holds the context's lock,
// so that nothing else uses or deletes it meanwhile), and the goroutines
// call the backend with those handles without any lock at all. Run it with
// -race: a backend that keeps per-handle state must guard it.
//
// What must hold, in four phases:
//
//   - every attribute answers concurrently exactly what it answered alone,
//     and a query on the zero handle answers SEC_E_INVALID_HANDLE;
//   - a stream of signed messages from client to server and a stream of
//     sealed messages from server to client, each in order on its own
//     goroutine but all four message calls running at once on the two
//     handles, together with those queries: every message verifies and
//     decrypts;
//   - a burst of signatures (and seals) of one message from many
//     goroutines at once: every call succeeds, and no two results are
//     equal, since each call takes its own sequence number (unless
//     Caps.ConcurrentSequence declares otherwise);
//   - a burst of forged signatures (and ciphertexts): every call fails
//     with a *backend.Error from its own call, SEC_E_MESSAGE_ALTERED,
//     SEC_E_INVALID_TOKEN or SEC_E_OUT_OF_SEQUENCE.
//
// A panic on any goroutine is reported as a failure with its stack.
func (s *suite) testUnsynchronized(t *testing.T, p Package) {
	if !s.need(t, "Unsynchronized", p.Caps.Unsynchronized) {
		s.leftOut(t, "unsynchronized calls on one handle are declared Unsupported on this backend")
	}
	st := s.store(t)
	pr := s.establish(t, st, p)
	err := pr.client.Raw(func(b backend.Backend, ch backend.Handle) error {
		return pr.server.Raw(func(_ backend.Backend, sh backend.Handle) error {
			u := &unsync{s: s, t: t, p: p, b: b, client: ch, server: sh}
			u.run()
			return nil
		})
	})
	s.noError(t, err, "Raw")
}

const (
	unsyncWorkers = 8  // goroutines per burst
	unsyncRounds  = 8  // calls per goroutine in a burst
	unsyncStream  = 32 // messages in each ordered stream
	unsyncQueries = 4  // rounds of every query per query goroutine
	unsyncReports = 20 // failures reported before the rest are only counted
)

// unsyncAttrs are the attributes queried concurrently: those a context
// answers the same way for its whole life.
var unsyncAttrs = []backend.Attribute{
	backend.AttrSizes,
	backend.AttrNames,
	backend.AttrLifespan,
	backend.AttrSessionKey,
	backend.AttrPackageInfo,
	backend.AttrNativeNames,
	backend.AttrFlags,
}

type unsync struct {
	s              *suite
	t              *testing.T
	p              Package
	b              backend.Backend
	client, server backend.Handle
	failures       atomic.Int32
}

// errorf reports a failure from any goroutine; past unsyncReports it only
// counts, so that a broken backend does not print thousands of lines.
func (u *unsync) errorf(format string, args ...any) {
	if n := u.failures.Add(1); n <= unsyncReports {
		u.s.errorf(u.t, format, args...)
	}
}

// parallel runs fn(0) .. fn(n-1) on n goroutines released at once, and
// waits for them. A panic is a failure, reported with its stack.
func (u *unsync) parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					u.errorf("goroutine %d of %d panicked: %v\n%s", i+1, n, r, debug.Stack())
				}
			}()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func (u *unsync) run() {
	signer, _ := u.b.(backend.Signer)
	sealer, _ := u.b.(backend.Sealer)
	sign := u.p.Caps.ClientSign == Supported
	seal := u.p.Caps.Seal == Supported
	u.s.isTrue(u.t, !sign || signer != nil, "ClientSign is declared Supported, but the backend (%T) does not implement backend.Signer", u.b)
	u.s.isTrue(u.t, !seal || sealer != nil, "Seal is declared Supported, but the backend (%T) does not implement backend.Sealer", u.b)
	for _, c := range []struct {
		name string
		sup  Support
	}{{"ClientSign", u.p.Caps.ClientSign}, {"Seal", u.p.Caps.Seal}} {
		if c.sup == Broken {
			u.s.leftOutCheck(u.t, c.name, c.name+" is declared Broken on this backend")
		}
	}
	// An Unsupported capability has no calls to race: the scenario of its
	// own checks the answer.

	// Phase 1: what each attribute answers alone.
	want := map[backend.Handle]map[backend.Attribute]answer{}
	for _, h := range []backend.Handle{u.client, u.server} {
		want[h] = map[backend.Attribute]answer{}
		for _, a := range unsyncAttrs {
			v, err := u.b.QueryContextAttributes(h, a)
			if err != nil {
				var e *backend.Error
				if !errors.As(err, &e) || e.Op != backend.OpQueryContextAttributes {
					u.s.fatalf(u.t, "%v alone: want nil or a *backend.Error from %v, got %T: %v", a, backend.OpQueryContextAttributes, err, err)
				}
			}
			want[h][a] = answer{v, backend.StatusOf(err)}
		}
	}
	csz, ok1 := want[u.client][backend.AttrSizes].v.(backend.Sizes)
	ssz, ok2 := want[u.server][backend.AttrSizes].v.(backend.Sizes)
	u.s.isTrue(u.t, ok1 && ok2, "SECPKG_ATTR_SIZES alone: got %v and %v, want a backend.Sizes on each side",
		want[u.client][backend.AttrSizes], want[u.server][backend.AttrSizes])

	// Phase 2: two ordered streams and the queries, all at once.
	c2s := make(chan [2][]byte, unsyncStream) // message, signature
	s2c := make(chan [3][]byte, unsyncStream) // plaintext, trailer, ciphertext
	u.parallel(4+unsyncWorkers, func(i int) {
		switch i {
		case 0: // the client signs
			defer close(c2s)
			for k := 0; sign && k < unsyncStream; k++ {
				msg := []byte(fmt.Sprintf("stream message %d", k))
				sig, err := u.sign(signer, msg, csz.MaxSignature)
				if err != nil {
					u.errorf("stream: MakeSignature of message %d: %v", k, err)
					return
				}
				c2s <- [2][]byte{msg, sig}
			}
		case 1: // the server verifies, in order
			k := 0
			for m := range c2s {
				if err := u.verify(signer, u.server, m[0], m[1]); err != nil {
					u.errorf("stream: VerifySignature of message %d: %v", k, err)
				}
				k++
			}
		case 2: // the server seals
			defer close(s2c)
			for k := 0; seal && k < unsyncStream; k++ {
				msg := []byte(fmt.Sprintf("sealed stream message %d", k))
				tok, data, err := u.encrypt(sealer, msg, ssz.SecurityTrailer)
				if err != nil {
					u.errorf("stream: EncryptMessage of message %d: %v", k, err)
					return
				}
				s2c <- [3][]byte{msg, tok, data}
			}
		case 3: // the client decrypts, in order
			k := 0
			for m := range s2c {
				plain, err := u.decrypt(sealer, m[1], m[2])
				switch {
				case err != nil:
					u.errorf("stream: DecryptMessage of message %d: %v", k, err)
				case !bytes.Equal(plain, m[0]):
					u.errorf("stream: DecryptMessage of message %d returned %q, want %q", k, plain, m[0])
				}
				k++
			}
		default:
			u.queries(want)
		}
	})

	// Phase 3: a burst of calls that each take a sequence number.
	var sigs, seals [unsyncWorkers][unsyncRounds][]byte
	u.parallel(2*unsyncWorkers, func(i int) {
		for r := 0; r < unsyncRounds; r++ {
			switch w := i % unsyncWorkers; {
			case i < unsyncWorkers && sign:
				sig, err := u.sign(signer, []byte("one message, many signatures"), csz.MaxSignature)
				if err != nil {
					u.errorf("burst: MakeSignature %d/%d: %v", w, r, err)
					continue
				}
				if len(sig) == 0 || len(sig) > int(csz.MaxSignature) {
					u.errorf("burst: MakeSignature %d/%d: a signature of %d bytes, want 1 to cbMaxSignature (%d)", w, r, len(sig), csz.MaxSignature)
				}
				sigs[w][r] = sig
			case i >= unsyncWorkers && seal:
				tok, data, err := u.encrypt(sealer, []byte("one message, many seals"), ssz.SecurityTrailer)
				if err != nil {
					u.errorf("burst: EncryptMessage %d/%d: %v", w, r, err)
					continue
				}
				seals[w][r] = append(bytes.Clone(tok), data...)
			}
		}
	})
	switch {
	case u.p.Caps.SequenceDetect == Unsupported:
		// The package numbers no messages: equal results are allowed.
	case (sign || seal) && u.p.Caps.ConcurrentSequence != Supported:
		u.s.leftOutCheck(u.t, "DistinctSequence", "sequence numbers under concurrent calls are declared "+u.p.Caps.ConcurrentSequence.String()+" on this backend")
	default:
		u.distinct("MakeSignature", sigs)
		u.distinct("EncryptMessage", seals)
	}

	// Phase 4: forgeries, which every goroutine must see refused.
	forged := func(n int) []byte { return bytes.Repeat([]byte{0xA5}, n) }
	refused := []backend.Status{backend.StatusMessageAltered, backend.StatusInvalidToken, backend.StatusOutOfSequence}
	u.parallel(3*unsyncWorkers, func(i int) {
		for r := 0; r < unsyncRounds; r++ {
			switch {
			case i < unsyncWorkers && sign:
				err := u.verify(signer, u.server, []byte("never signed"), forged(int(csz.MaxSignature)))
				if msg := wrongError(err, backend.OpVerifySignature, refused...); msg != "" {
					u.errorf("burst: VerifySignature of a forged signature: %s", msg)
				}
			case i >= unsyncWorkers && i < 2*unsyncWorkers && seal:
				_, err := u.decrypt(sealer, forged(int(ssz.SecurityTrailer)), forged(32))
				if msg := wrongError(err, backend.OpDecryptMessage, refused...); msg != "" {
					u.errorf("burst: DecryptMessage of a forged message: %s", msg)
				}
			case i >= 2*unsyncWorkers:
				_, err := u.b.QueryContextAttributes(backend.Handle{}, backend.AttrSizes)
				if msg := wrongError(err, backend.OpQueryContextAttributes, backend.StatusInvalidHandle); msg != "" {
					u.errorf("burst: query on the zero handle: %s", msg)
				}
			}
		}
	})
	if n := u.failures.Load(); n > unsyncReports {
		u.s.errorf(u.t, "and %d more failures", n-unsyncReports)
	}
}

// answer is what a query answered: its value, or the status it failed with.
type answer struct {
	v  any
	st backend.Status
}

func (a answer) String() string {
	if a.st != backend.StatusOK {
		return a.st.String()
	}
	return fmt.Sprintf("%T %+v", a.v, a.v)
}

// queries asks every attribute of both contexts, and of the zero handle,
// and compares the answers with want.
func (u *unsync) queries(want map[backend.Handle]map[backend.Attribute]answer) {
	for q := 0; q < unsyncQueries; q++ {
		for h, attrs := range want {
			for _, a := range unsyncAttrs {
				v, err := u.b.QueryContextAttributes(h, a)
				if err != nil {
					if msg := wrongError(err, backend.OpQueryContextAttributes, attrs[a].st); msg != "" {
						u.errorf("concurrent %v: %s; alone it answered %v", a, msg, attrs[a])
					}
					continue
				}
				if got := (answer{v, backend.StatusOK}); !reflect.DeepEqual(got, attrs[a]) {
					u.errorf("concurrent %v: %v; alone it answered %v", a, got, attrs[a])
				}
			}
		}
		_, err := u.b.QueryContextAttributes(backend.Handle{}, backend.AttrSizes)
		if msg := wrongError(err, backend.OpQueryContextAttributes, backend.StatusInvalidHandle); msg != "" {
			u.errorf("concurrent query on the zero handle: %s", msg)
		}
	}
}

// distinct fails unless the results of a burst are pairwise different.
// Unset results (calls that failed, or were not made) are left out.
func (u *unsync) distinct(call string, res [unsyncWorkers][unsyncRounds][]byte) {
	seen := map[string][2]int{}
	for w := range res {
		for r, b := range res[w] {
			if b == nil {
				continue
			}
			if prev, ok := seen[string(b)]; ok {
				u.errorf("burst: %s %d/%d and %d/%d returned the same bytes %x: two calls took one sequence number", call, prev[0], prev[1], w, r, b)
				continue
			}
			seen[string(b)] = [2]int{w, r}
		}
	}
}

// sign is Context.Sign on the client handle, without the Store.
func (u *unsync) sign(sg backend.Signer, msg []byte, maxSig uint32) ([]byte, error) {
	bufs := []backend.Buffer{{Type: backend.BufferData | backend.BufferReadOnly, Data: msg}, {Type: backend.BufferToken, Data: make([]byte, maxSig)}}
	if err := sg.MakeSignature(u.client, 0, bufs, 0); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}

// verify is Context.Verify on h, without the Store.
func (u *unsync) verify(sg backend.Signer, h backend.Handle, msg, sig []byte) error {
	bufs := []backend.Buffer{{Type: backend.BufferData | backend.BufferReadOnly, Data: msg}, {Type: backend.BufferToken, Data: bytes.Clone(sig)}}
	_, err := sg.VerifySignature(h, bufs, 0)
	return err
}

// encrypt is Context.Seal on the server handle, without the Store.
func (u *unsync) encrypt(sl backend.Sealer, msg []byte, trailer uint32) (token, data []byte, err error) {
	bufs := []backend.Buffer{{Type: backend.BufferToken, Data: make([]byte, trailer)}, {Type: backend.BufferData, Data: bytes.Clone(msg)}}
	if err := sl.EncryptMessage(u.server, 0, bufs, 0); err != nil {
		return nil, nil, err
	}
	return bufs[0].Data, bufs[1].Data, nil
}

// decrypt is Context.Unseal on the client handle, without the Store.
func (u *unsync) decrypt(sl backend.Sealer, token, data []byte) ([]byte, error) {
	bufs := []backend.Buffer{{Type: backend.BufferToken, Data: bytes.Clone(token)}, {Type: backend.BufferData, Data: bytes.Clone(data)}}
	if _, err := sl.DecryptMessage(u.client, bufs, 0); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}
