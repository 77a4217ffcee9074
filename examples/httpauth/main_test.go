package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeAndGet runs the example's server and client, over HTTP and
// HTTPS, with a right and a wrong password.
func TestServeAndGet(t *testing.T) {
	for _, tlsFlag := range []string{"-tls=false", "-tls=true"} {
		t.Run(tlsFlag, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() {
				done <- serveCmd(ctx, []string{"-addr", "127.0.0.1:0", tlsFlag, "-user", `CONTOSO\alice:Passw0rd!`}, &bytes.Buffer{}, ready)
			}()
			url := <-ready

			var out bytes.Buffer
			require.NoError(t, run(ctx, []string{"get", "-insecure", "-user", `CONTOSO\alice:Passw0rd!`, url}, &out))
			assert.Contains(t, out.String(), "200 OK")
			assert.Contains(t, out.String(), `hello CONTOSO\alice (NTLM over Negotiate)`)

			out.Reset()
			require.NoError(t, run(ctx, []string{"get", "-insecure", "-user", `CONTOSO\alice:nope`, url}, &out))
			assert.Contains(t, out.String(), "401 Unauthorized")

			cancel()
			require.NoError(t, <-done)
		})
	}
}
