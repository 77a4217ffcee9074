// Package sspihttp is HTTP Negotiate (SPNEGO, RFC 4559) and NTLM
// authentication for net/http on top of gosspi: a server middleware and a
// client http.RoundTripper, on the emulated backend or on Windows' own
// SSPI alike. It is named as the net/http side of SSPI, in the manner of
// httptest and httputil, because it speaks both schemes and leaves the
// protocols themselves to the security package; search for Negotiate,
// SPNEGO, NTLM or Kerberos and this is the package.
//
// # Server
//
// An Authenticator wraps a handler. Configure gives the http.Server the
// connection hooks it needs:
//
//	store := sspictx.NewStore(m.NewProcess()) // fake: m := fake.NewMachine(...)
//	// on Windows: b, err := winsspi.New(); store := sspictx.NewStore(b)
//	auth, err := sspihttp.NewAuthenticator(store, sspihttp.ServerConfig{})
//	srv := &http.Server{Addr: ":8080", Handler: auth.Wrap(app)}
//	auth.Configure(srv)
//	err = srv.ListenAndServe()
//
//	// in app:
//	id, _ := sspihttp.IdentityFrom(r.Context()) // id.Name == `CONTOSO\alice`
//
// A request without credentials gets 401 with WWW-Authenticate: Negotiate
// and NTLM. The handshake is kept with its TCP connection, as NTLM and
// SPNEGO over NTLM need: every leg must arrive on the connection that
// started it, and a new first token on a connection starts afresh. The
// final token (SPNEGO's mechListMIC, Kerberos' AP-REP) goes out in the
// WWW-Authenticate header of the handler's response. The client's
// identity (name, SID, groups, the package that ran) is in the request's
// context; with Reuse, later requests on the same connection are served
// as that identity without a new handshake, as IIS does (for NTLM by
// default, not for Kerberos).
//
// Failed logons get 401 with fresh challenges, broken headers 400, and
// faults of the security package 500. Handshake state is bounded: one
// handshake and one identity per connection, at most MaxHandshakes
// waiting for a client's next token (the one idle longest is dropped
// first), none older than HandshakeTimeout, and nothing once the
// connection closes.
//
// # Client
//
// A Transport answers 401s:
//
//	tr, err := sspihttp.NewTransport(store, &sspictx.AuthIdentity{
//		Domain: "CONTOSO", User: "alice", Password: "Passw0rd!",
//	}, sspihttp.ClientConfig{}) // nil identity: the process's own user (Windows single sign-on)
//	defer tr.Close()
//	client := &http.Client{Transport: tr}
//	resp, err := client.Get("https://web01.contoso.test/")
//
// Each request borrows a connection of its own for its whole exchange, so
// that concurrent requests never take a connection in the middle of
// another's handshake; idle connections stay authenticated. Bodies are
// sent again on each leg (Request.GetBody), and the server's final token
// is checked before a response is believed (ErrMutualAuth).
//
// # Extended Protection
//
// Over TLS both sides bind the handshake to the TLS channel with
// tls-server-end-point channel bindings (RFC 5929) in a
// SEC_CHANNEL_BINDINGS structure (ChannelBindings), so that credentials
// relayed through another TLS session fail. ExtendedProtection chooses
// IIS's None, Allow or Require. A server passes its bindings with
// ASC_REQ_ALLOW_MISSING_BINDINGS under Allow and without it under
// Require, where Windows itself refuses a client that sent none; for NTLM
// the Authenticator also checks the client's MsvAvChannelBindings
// itself, so Require holds on every backend.
//
// NTLM and Negotiate authenticate HTTP/1.1 connections; the Transport
// does not use HTTP/2.
package sspihttp
