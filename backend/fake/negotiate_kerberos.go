package fake

import (
	"errors"

	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// Kerberos inside Negotiate: what the acceptor needs to know to pass over
// it for the client's next mechanism (negAcceptor, negotiate.go).

var _ negAcceptor = kerberosMech{}

// canAccept: a machine accepts Kerberos when it is in a domain and the
// process's accounts have keys there (kerberosKeys), as Windows' acceptor
// has Kerberos credentials only then.
func (kerberosMech) canAccept(h *host) bool {
	d := h.m.dom
	return d != nil && h.kerberosKeys(d) != nil
}

// declines: a ticket for a service the server holds no key of, of its
// realm or another (KRB_AP_ERR_NOT_US), is for another server. Windows
// and MIT clients in a realm the server is not in send those.
func (kerberosMech) declines(err error) bool {
	return errors.Is(err, msg.KRBAPErrNotUs)
}
