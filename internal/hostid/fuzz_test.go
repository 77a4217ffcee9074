package hostid

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// FuzzParseIdentity feeds arbitrary text to the three identity parsers
// (machine-id files, GUIDs from the registry, ioreg output): none may
// panic, and whatever they accept is in the canonical form the key file
// name and the blob header rely on.
func FuzzParseIdentity(f *testing.F) {
	f.Add("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
	f.Add("00000000000000000000000000000000")
	f.Add("8B7E2D58-3A4B-5C6D-9E0F-112233445566")
	f.Add("  | \"IOPlatformUUID\" = \"8B7E2D58-3A4B-5C6D-9E0F-112233445566\"\n")
	f.Add("\"IOPlatformUUID\" = \"")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if id, err := parseHexID(s); err == nil {
			if len(id) != 32 || !isHex(id) || strings.Trim(id, "0") == "" {
				t.Fatalf("parseHexID accepted %q as %q", s, id)
			}
		}
		for _, parse := range []func(string) (string, error){
			parseGUID,
			func(s string) (string, error) { return parseIOReg([]byte(s)) },
		} {
			id, err := parse(s)
			if err != nil {
				continue
			}
			if len(id) != 36 || strings.Count(id, "-") != 4 || !isHex(strings.ReplaceAll(id, "-", "")) {
				t.Fatalf("accepted %q as %q", s, id)
			}
		}
	})
}

// FuzzLedgerDecode feeds arbitrary bytes to the parsers of the ledger's
// files (the index, a table header, a slot, a table's file name): none may
// panic, and whatever they accept must be exactly what the encoders write
// for the value they return, so no two byte strings mean the same thing.
func FuzzLedgerDecode(f *testing.F) {
	x := sampleIndex()
	b := make([]byte, indexSize)
	encodeIndex(b, &x)
	f.Add(b)
	h := sampleHeader()
	f.Add(appendHeader(nil, &h))
	fp := fingerprint([]byte("nonce"))
	s := make([]byte, slotSize+8)
	encodeSlot(s[8:], &fp, 7)
	s[0] = 7
	f.Add(s)
	f.Add([]byte("170001-3.tab"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if x, err := decodeIndex(b); err == nil {
			got := make([]byte, indexSize)
			encodeIndex(got, &x)
			if !bytes.Equal(got, b) {
				t.Fatalf("index %x decodes to %+v, which encodes to %x", b, x, got)
			}
		}
		if h, err := decodeHeader(b); err == nil {
			if got := appendHeader(nil, &h); !bytes.Equal(got, b) {
				t.Fatalf("header %x decodes to %+v, which encodes to %x", b, h, got)
			}
			if h.srcGen != 0 && h.srcGen != h.gen-1 || h.size < minSlots || h.size > maxSlots {
				t.Fatalf("header %+v accepted", h)
			}
		}
		// A slot: the first 8 bytes say which slot, the next 16 are it.
		if len(b) == 8+slotSize {
			i := binary.LittleEndian.Uint64(b)
			kind, fp := decodeSlot(b[8:], i)
			got := make([]byte, slotSize)
			if kind == slotFull {
				encodeSlot(got, &fp, i)
			}
			if kind != slotBad && !bytes.Equal(got, b[8:]) {
				t.Fatalf("slot %d %x read as kind %d %x", i, b[8:], kind, fp)
			}
		}
		if e, g, ok := parseTableName(string(b)); ok && tableName(e, g) != string(b) {
			t.Fatalf("%q parsed as epoch %d generation %d", b, e, g)
		}
	})
}

func appendHeader(b []byte, h *header) []byte {
	out := make([]byte, headerSize)
	encodeHeader(out, h)
	return append(b, out...)
}
