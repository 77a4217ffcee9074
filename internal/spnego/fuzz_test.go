package spnego

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/: the real-world tokens of
// examples_test.go, tokens from Marshal, and a few near misses.

// hasInit2Fields reports whether an accepted NegTokenInit used the
// NegTokenInit2 layout (negHints at [3], or mechListMIC at [4]), the only
// inputs that Marshal does not reproduce byte for byte.
func hasInit2Fields(b []byte) bool {
	outer, _ := only(b, "")
	_, rest, _ := next(outer.Bytes(), "")
	choice, _ := only(rest, "")
	fields, err := sequenceFields(nil, choice.Bytes(), 4, "")
	if err != nil {
		return false
	}
	for _, f := range fields {
		if f.tag == 4 || (f.tag == 3 && f.inner.Tag == asn1.TagSequence) {
			return true
		}
	}
	return false
}

func FuzzParseNegTokenInit(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseNegTokenInit(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			if tok != nil {
				t.Fatal("token returned with an error")
			}
			return
		}
		out, err := tok.Marshal()
		if err != nil {
			t.Fatalf("parsed token does not marshal: %v", err)
		}
		// Strict DER: an accepted token is the one canonical encoding.
		if !bytes.Equal(out, b) && !hasInit2Fields(b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, out)
		}
		again, err := ParseNegTokenInit(out)
		if err != nil {
			t.Fatalf("re-encoded token does not parse: %v", err)
		}
		if d := cmp.Diff(tok, again); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
		list, err := MechTypeListDER(tok.MechTypes)
		if err != nil || !bytes.Contains(b, list) {
			t.Fatalf("MechTypeListDER %x not in token (err %v)", list, err)
		}
	})
}

func FuzzParseNegTokenResp(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseNegTokenResp(b)
		// The parse in place agrees, and leaves nothing after an error.
		var inPlace NegTokenResp
		errInPlace := ParseNegTokenRespInto(&inPlace, b)
		if (err == nil) != (errInPlace == nil) {
			t.Fatalf("ParseNegTokenResp: %v; ParseNegTokenRespInto: %v", err, errInPlace)
		}
		if err == nil {
			if d := cmp.Diff(tok, &inPlace); d != "" {
				t.Fatalf("in place (-copied +in place):\n%s", d)
			}
		} else if d := cmp.Diff(NegTokenResp{}, inPlace); d != "" {
			t.Fatalf("a failed parse in place left a result:\n%s", d)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			if tok != nil {
				t.Fatal("token returned with an error")
			}
			return
		}
		out, err := tok.Marshal()
		if err != nil {
			t.Fatalf("parsed token does not marshal: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, out)
		}
		again, err := ParseNegTokenResp(out)
		if err != nil {
			t.Fatalf("re-encoded token does not parse: %v", err)
		}
		if d := cmp.Diff(tok, again); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}
