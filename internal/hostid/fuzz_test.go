package hostid

import (
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
