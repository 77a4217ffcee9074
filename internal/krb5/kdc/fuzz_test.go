package kdc_test

import (
	"context"
	"testing"

	"github.com/gosspi/gosspi/internal/krb5/client"
	"github.com/gosspi/gosspi/internal/krb5/internal/seedcorpus"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// FuzzHandle feeds requests to the KDC, which must answer every one with
// a reply or a KRB-ERROR and never panic.
func FuzzHandle(f *testing.F) {
	e := newEnv(f)
	var reqs [][]byte
	rec := func(ctx context.Context, r string, req []byte) ([]byte, error) {
		reqs = append(reqs, append([]byte(nil), req...))
		return e.kdc.Exchange(ctx, r, req)
	}
	c := client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "alice"), Key: client.PasswordKeys("s3cret"), Exchange: rec, Now: e.clock.Now})
	tgt, err := c.GetTGT(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	if _, err := c.GetServiceTicket(context.Background(), tgt, e.http); err != nil {
		f.Fatal(err)
	}
	seedcorpus.Sync(f, reqs...)
	f.Fuzz(func(t *testing.T, req []byte) {
		rep := e.kdc.Handle(req)
		if _, err := msg.MessageType(rep); err != nil {
			t.Fatalf("the KDC answered with no message: %v", err)
		}
	})
}
