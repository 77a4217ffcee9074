package backendtest

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosspi/gosspi/internal/capture"
)

// The tokens the suite replays are the ones the interop tier captured:
// the first token of each capture named here.
func TestRealNegotiatesAreCaptured(t *testing.T) {
	files := map[string]string{
		"MIT GSSAPI with gss-ntlmssp 1.2": "mit-ntlm-to-fake.txt",
		"Samba 4.17 ntlm_auth":            "samba-ntlm-to-fake.txt",
	}
	if len(files) != len(realNegotiates) {
		t.Fatalf("%d captures for %d tokens", len(files), len(realNegotiates))
	}
	for _, rc := range realNegotiates {
		name, ok := files[rc.client]
		if !ok {
			t.Fatalf("no capture named for %s", rc.client)
		}
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "interop", name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := capture.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Tokens) == 0 || !c.Tokens[0].FromInitiator {
			t.Fatalf("%s does not start with the client's token", name)
		}
		if got := hex.EncodeToString(c.Tokens[0].Data); got != rc.hex {
			t.Errorf("%s: the suite replays %s, the capture starts with %s", rc.client, rc.hex, got)
		}
	}
}
