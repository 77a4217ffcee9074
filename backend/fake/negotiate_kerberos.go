package fake

import (
	"errors"

	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// Kerberos inside Negotiate: what the acceptor needs to know to pass over
// it for the client's next mechanism (negAcceptor, negotiate.go).

var _ negAcceptor = kerberosMech{}

// canAccept: a machine accepts Kerberos when it is in a domain and the
// credential's explicit service account, or else the process's accounts,
// have keys there (the keys krbAcceptor takes), as Windows' acceptor has
// Kerberos credentials only then.
func (kerberosMech) canAccept(h *host) bool {
	d := h.m.dom
	if d == nil {
		return false
	}
	if h.explicit != nil {
		return explicitKeys(d, h.explicit) != nil
	}
	return h.kerberosKeys(d) != nil
}

// declines: a ticket for a service the server holds no key of, of its
// realm or another (KRB_AP_ERR_NOT_US), is for another server. Windows
// and MIT clients in a realm the server is not in send those.
func (kerberosMech) declines(err error) bool {
	return errors.Is(err, msg.KRBAPErrNotUs)
}

// negNamed is a done negotiator whose mechanism's session has principal
// names of its own for SECPKG_ATTR_NATIVE_NAMES (nativeNamer: Kerberos'
// alice@CONTOSO.TEST): Negotiate reports them, as Windows does for a
// Negotiate context that runs Kerberos.
type negNamed struct{ *negotiator }

func (n negNamed) nativeNames() (client, server string) {
	return n.sess.(nativeNamer).nativeNames()
}

// session is what a done negotiator is to the generic code: itself, or
// negNamed when its mechanism's session names its peers.
func (n *negotiator) session() session {
	if _, ok := n.sess.(nativeNamer); ok {
		return negNamed{n}
	}
	return n
}
