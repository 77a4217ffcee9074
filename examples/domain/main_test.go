package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDomain runs the example: Kerberos to the registered SPN, NTLM to the
// unregistered one, the user and her groups by name both times.
func TestDomain(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		done <- b.String()
	}()
	err = run()
	os.Stdout = stdout
	w.Close()
	out := <-done
	require.NoError(t, err, out)
	assert.Contains(t, out, `HTTP/web01.contoso.test: CONTOSO\alice authenticated with Kerberos`)
	assert.Contains(t, out, `HTTP/intranet.contoso.test: CONTOSO\alice authenticated with NTLM`)
	assert.Contains(t, out, `CONTOSO\Domain Admins, CONTOSO\Report Readers`)
	assert.Contains(t, out, "Authentication authority asserted identity", "a Kerberos logon's token says the KDC vouched for her")
	assert.Contains(t, out, `the server read "GET /reports"`)
}
