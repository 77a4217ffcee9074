//go:build windows

package winsspi_test

import (
	"testing"

	"github.com/gosspi/gosspi/backend/backendtest"
)

// TestConformance runs the conformance suite against the real SSPI: on
// Windows with NTLM loopback and a local test account, under Wine with NTLM
// through ntlm_auth and Kerberos against a loopback MIT KDC, each with the
// capabilities the platform has.
func TestConformance(t *testing.T) {
	backendtest.Run(t, harness(t))
}
