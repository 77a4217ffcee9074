package fake

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The golden Negotiate-over-Kerberos blobs hold Negotiate's layout 1
// naming Kerberos, with Kerberos' layout 1 inside: what a Negotiate
// context over Kerberos exports.
func TestNegotiateKerberosGoldenLayout(t *testing.T) {
	n := 0
	for _, gc := range goldenCases {
		if !strings.HasPrefix(gc.name, "negotiate-kerberos-") {
			continue
		}
		n++
		blob, err := os.ReadFile(filepath.Join(goldenDir, gc.name+".blob"))
		require.NoError(t, err)
		st, _, err := keyedMachine().sealer.Open(blob)
		require.NoError(t, err)
		assert.Equal(t, uint8(negStateV1), st.PackageVersion, gc.name)
		require.Greater(t, len(st.PackageState), 11, gc.name)
		assert.Equal(t, "\x08Kerberos\x01", string(st.PackageState[:10]), gc.name)
		var side byte
		if gc.server {
			side = krbStateAcceptor
		}
		assert.Equal(t, side, st.PackageState[10]&krbStateAcceptor, gc.name)
	}
	assert.Equal(t, 4, n, "server and client, with and without RESET_NEW")
}

// Negotiate offers Kerberos under Windows' legacy OID and RFC 4121's, then
// NTLM; its fallback offer is NTLM alone.
func TestNegotiateOffer(t *testing.T) {
	require.Len(t, offer.tails, 2)
	assert.Equal(t, []*pkgDesc{kerberosPkg, ntlmPkg}, offer.mechs)
	assert.Equal(t, "1.2.840.48018.1.2.2 1.2.840.113554.1.2.2 1.3.6.1.4.1.311.2.2.10", oidString(offer))
	assert.Equal(t, "1.3.6.1.4.1.311.2.2.10", oidString(offer.tails[1]))
	assert.Equal(t, "Kerberos or NTLM", offer.names)
}

func oidString(o *negOffer) string {
	var s []string
	for _, oid := range o.oids {
		s = append(s, oid.String())
	}
	return strings.Join(s, " ")
}
