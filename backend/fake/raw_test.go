package fake

import (
	"testing"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
)

// raw returns the process and handle under a Store context, for tests and
// benchmarks that call the backend directly.
func raw(tb testing.TB, c *sspictx.Context) (*Process, backend.Handle) {
	tb.Helper()
	var p *Process
	var h backend.Handle
	err := c.Raw(func(b backend.Backend, rh backend.Handle) error {
		p, h = b.(*Process), rh
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p, h
}
