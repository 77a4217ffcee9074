package serialize

import (
	"bytes"
	"errors"
	"testing"
)

// The seed corpora in testdata/fuzz/FuzzOpen and testdata/fuzz/FuzzParseHeader
// hold the golden blobs and header edge cases; TestGolden -update rewrites
// them. Run a fuzzer with, for example:
//
//	go test ./serialize -run '^$' -fuzz '^FuzzOpen$' -fuzztime 20s

func isSentinel(err error) bool {
	for _, e := range sentinels {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func addSeeds(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
}

// FuzzOpen: Open never panics, fails only with a sentinel, and whatever it
// accepts, Seal reproduces byte for byte from the decoded State and nonce.
func FuzzOpen(f *testing.F) {
	addSeeds(f)
	s := goldenSealer(f)
	f.Fuzz(func(t *testing.T, blob []byte) {
		orig := bytes.Clone(blob)
		st, h, err := s.Open(blob)
		if !bytes.Equal(orig, blob) {
			t.Fatal("Open modified its input")
		}
		if err != nil {
			if !isSentinel(err) || st != nil {
				t.Fatalf("Open: state %v, error %v", st, err)
			}
			return
		}
		again, err := s.Seal(st, bytes.NewReader(h.Nonce[:]))
		if err != nil {
			t.Fatalf("re-sealing an opened state: %v", err)
		}
		if !bytes.Equal(again, blob) {
			t.Fatalf("re-sealed blob differs:\n got %x\nwant %x", again, blob)
		}
	})
}

// FuzzParseHeader: ParseHeader never panics, fails only with a sentinel, and
// every header it accepts is within bounds.
func FuzzParseHeader(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, blob []byte) {
		h, err := ParseHeader(blob)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("ParseHeader: unexpected error %v", err)
			}
			return
		}
		if h.Version < Version1 || h.Version > CurrentVersion || len(h.Package) == 0 || len(h.Package) > MaxNameLen ||
			len(h.MachineID) == 0 || len(h.MachineID) > MaxNameLen {
			t.Fatalf("accepted header out of bounds: %+v", h)
		}
	})
}

// FuzzDecodeState reaches the state decoder directly, which FuzzOpen cannot
// (the AEAD refuses every mutation): decode never panics, in either format
// version, and what it accepts re-encodes to the same bytes (the encoding
// is canonical).
func FuzzDecodeState(f *testing.F) {
	for _, g := range goldens() {
		v := g.version()
		n, err := g.state.encodedLen(v)
		if err != nil {
			f.Fatal(err)
		}
		b := make([]byte, n)
		g.state.encode(b, v)
		f.Add(uint8(v), b)
	}
	f.Add(uint8(Version1), []byte{})
	f.Add(uint8(Version1), make([]byte, stateFixed+4))
	f.Add(uint8(Version2), make([]byte, stateFixed+5))
	f.Add(uint8(Version3), make([]byte, stateFixed+13))
	f.Fuzz(func(t *testing.T, v uint8, b []byte) {
		version := uint16(v%CurrentVersion) + 1
		in := bytes.Clone(b)
		var st State
		if err := st.decode(b, version, []byte("NTLM")); err != nil {
			return
		}
		if (st.PackageVersion == 0) != (version == Version1) {
			t.Fatalf("format version %d decoded PackageVersion %d", version, st.PackageVersion)
		}
		n, err := st.encodedLen(version)
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		out := make([]byte, n)
		st.encode(out, version)
		if !bytes.Equal(in, out) {
			t.Fatalf("re-encoded state differs:\n got %x\nwant %x", out, in)
		}
	})
}
