package spnego

import (
	"bytes"
	"encoding/asn1"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// derInputs are the seed corpora, every prefix of them, random
// mutations of them and random short strings biased towards DER's
// tricky bytes (long-form lengths, high tag numbers, 0x80 continuation).
func derInputs(t *testing.T) [][]byte {
	t.Helper()
	var seeds [][]byte
	files, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if q, ok := strings.CutPrefix(line, "[]byte("); ok {
				s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
				if err == nil {
					seeds = append(seeds, []byte(s))
				}
			}
		}
	}
	if len(seeds) == 0 {
		t.Fatal("no seeds")
	}
	r := rand.New(rand.NewSource(1))
	tricky := []byte{0x00, 0x01, 0x02, 0x04, 0x06, 0x0a, 0x1f, 0x30, 0x7f, 0x80, 0x81, 0x82, 0x84, 0x85, 0xa0, 0xa1, 0xff}
	var in [][]byte
	for _, s := range seeds {
		for i := 0; i <= len(s); i++ {
			in = append(in, s[:i], s[i:])
		}
		for range 300 {
			m := bytes.Clone(s)
			for range 1 + r.Intn(3) {
				if len(m) > 0 {
					m[r.Intn(len(m))] = tricky[r.Intn(len(tricky))]
				}
			}
			in = append(in, m)
		}
	}
	for range 20000 {
		b := make([]byte, r.Intn(12))
		for i := range b {
			if r.Intn(2) == 0 {
				b[i] = tricky[r.Intn(len(tricky))]
			} else {
				b[i] = byte(r.Intn(256))
			}
		}
		in = append(in, b)
	}
	return in
}

// TestDERReaderMatches holds the hand-written reader to encoding/asn1:
// the same elements accepted, with the same parts, and the same OIDs,
// ENUMERATED values and mechanism lists.
func TestDERReaderMatches(t *testing.T) {
	for _, b := range derInputs(t) {
		var want asn1.RawValue
		wantRest, wantErr := asn1.Unmarshal(b, &want)
		got, rest, err := readTLV(b)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%x: readTLV error %v, encoding/asn1 %v", b, err, wantErr)
		}
		if err != nil {
			continue
		}
		if int(got.Class) != want.Class || got.Tag != want.Tag || got.IsCompound != want.IsCompound ||
			!bytes.Equal(got.Bytes(), want.Bytes) || !bytes.Equal(got.FullBytes, want.FullBytes) || !bytes.Equal(rest, wantRest) {
			t.Fatalf("%x: readTLV %+v, encoding/asn1 %+v", b, got, want)
		}
		var wantOID asn1.ObjectIdentifier
		_, oidErr := asn1.Unmarshal(append([]byte{0x06}, append(lenOf(len(got.Bytes())), got.Bytes()...)...), &wantOID)
		gotOID, err := parseOID(nil, got.Bytes())
		if (err != nil) != (oidErr != nil) || err == nil && !gotOID.Equal(wantOID) {
			t.Fatalf("OID %x: got %v, %v; encoding/asn1 %v, %v", got.Bytes(), gotOID, err, wantOID, oidErr)
		}
		var wantEnum asn1.Enumerated
		_, enumErr := asn1.Unmarshal(append([]byte{0x0a}, append(lenOf(len(got.Bytes())), got.Bytes()...)...), &wantEnum)
		gotEnum, err := parseEnum32(got.Bytes())
		if (err != nil) != (enumErr != nil) || err == nil && int(gotEnum) != int(wantEnum) {
			t.Fatalf("ENUMERATED %x: got %v, %v; encoding/asn1 %v, %v", got.Bytes(), gotEnum, err, wantEnum, enumErr)
		}
		gotMechs, err := parseMechTypes(got)
		wantMechs, wantErr := mechTypesASN1(got)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("mechTypes %x: error %v, encoding/asn1 %v", got.FullBytes, err, wantErr)
		}
		for i := range gotMechs {
			if !gotMechs[i].Equal(wantMechs[i]) {
				t.Fatalf("mechTypes %x: got %v, encoding/asn1 %v", got.FullBytes, gotMechs, wantMechs)
			}
		}
	}
}

// lenOf is a DER length field.
func lenOf(n int) []byte { return appendTL(nil, 0, n)[1:] }

// mechTypesASN1 is what ParseNegTokenInit did with encoding/asn1.
func mechTypesASN1(rv element) ([]asn1.ObjectIdentifier, error) {
	var mechs []asn1.ObjectIdentifier
	if err := decodeValue(rv, asn1.TagSequence, true, &mechs, "mechTypes"); err != nil {
		return nil, err
	}
	if len(mechs) == 0 {
		return nil, malformed("empty mechTypes")
	}
	canon, err := asn1.Marshal(mechs)
	if err != nil || !bytes.Equal(canon, rv.FullBytes) {
		return nil, malformed("mechTypes is not DER")
	}
	return mechs, nil
}
