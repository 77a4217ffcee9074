package kdc_test

import (
	"context"
	"testing"

	"github.com/gosspi/gosspi/internal/krb5/ap"
	"github.com/gosspi/gosspi/internal/krb5/client"
	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// The benchmarks of what the fake's Kerberos package will do per
// context, all in memory: the KDC exchanges, and the AP handshake with
// both sides' sessions.

func benchEnv(b *testing.B) (*env, *client.Client, ap.KeyFunc) {
	e := newEnv(b)
	c := e.client("alice", "s3cret")
	// The first TGT learns the salt (and derives the key, once), as a
	// logon does; what is measured after it is a request's work.
	if _, err := c.GetTGT(context.Background()); err != nil {
		b.Fatal(err)
	}
	keys, err := e.kdc.ServiceKeys(spn)
	if err != nil {
		b.Fatal(err)
	}
	return e, c, keys
}

// handshake is the AP exchange of a context: AP-REQ, its acceptance and
// AP-REP, the initiator's check of it, and both sides' sessions.
func handshake(b *testing.B, st *client.Credential, acc *ap.Acceptor) {
	ini, tok, err := ap.Initiate(ap.InitiatorConfig{Ticket: st.Ticket, SessionKey: st.SessionKey, CRealm: st.CRealm, CName: st.CName,
		Flags: gss.FlagMutual | gss.FlagInteg | gss.FlagConf | gss.FlagSequence | gss.FlagReplay, Rand: acc.Rand, Now: acc.Now})
	if err != nil {
		b.Fatal(err)
	}
	a, err := acc.Accept(tok, nil)
	if err != nil {
		b.Fatal(err)
	}
	est, err := ini.Finish(a.Output)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gss.NewSession(est.Session); err != nil {
		b.Fatal(err)
	}
	if _, err := gss.NewSession(a.Session); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkASAndTGS is a TGT (one AS-REQ, pre-authenticated at once) and
// a service ticket, through the in-memory KDC.
func BenchmarkASAndTGS(b *testing.B) {
	e, c, _ := benchEnv(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tgt, err := c.GetTGT(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.GetServiceTicket(ctx, tgt, e.http); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstHandshake is a context with nothing cached but the
// user's key: AS, TGS and the AP handshake with both sessions.
func BenchmarkFirstHandshake(b *testing.B) {
	e, c, keys := benchEnv(b)
	acc := &ap.Acceptor{Key: keys, Services: []msg.PrincipalName{e.http}, Now: e.clock.Now}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tgt, err := c.GetTGT(ctx)
		if err != nil {
			b.Fatal(err)
		}
		st, err := c.GetServiceTicket(ctx, tgt, e.http)
		if err != nil {
			b.Fatal(err)
		}
		handshake(b, st, acc)
	}
}

// BenchmarkAPHandshakeCachedTicket is a context with the service ticket
// cached: the AP handshake and both sessions, with the replay cache.
func BenchmarkAPHandshakeCachedTicket(b *testing.B) {
	e, c, keys := benchEnv(b)
	ctx := context.Background()
	tgt, err := c.GetTGT(ctx)
	if err != nil {
		b.Fatal(err)
	}
	st, err := c.GetServiceTicket(ctx, tgt, e.http)
	if err != nil {
		b.Fatal(err)
	}
	acc := &ap.Acceptor{Key: keys, Services: []msg.PrincipalName{e.http}, Now: e.clock.Now, Replay: &ap.MemoryReplayCache{Now: e.clock.Now}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		handshake(b, st, acc)
	}
}
