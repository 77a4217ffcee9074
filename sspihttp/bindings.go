package sspihttp

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"fmt"
)

// ExtendedProtection is the Extended Protection for Authentication policy:
// whether a handshake over TLS is bound to the TLS channel with the
// channel bindings of RFC 5929's tls-server-end-point, so that credentials
// a client sent through a man in the middle's TLS session cannot be
// forwarded to the real server. The three values are IIS's tokenChecking
// None, Allow and Require (.NET's Never, WhenSupported and Always). Over
// plain HTTP there is no channel to bind to.
type ExtendedProtection uint8

const (
	// ProtectionAllow, the zero value, binds when the peer does. A server
	// passes the bindings to the security package, which refuses a client
	// that sent different ones and accepts one that sent none; a client
	// sends bindings over TLS.
	ProtectionAllow ExtendedProtection = iota
	// ProtectionOff never binds: no bindings are passed or sent.
	ProtectionOff
	// ProtectionRequire binds always. A server refuses plain HTTP (403)
	// and any client that did not bind its handshake to the TLS channel; a
	// client refuses to authenticate over plain HTTP.
	ProtectionRequire
)

// String returns "Allow", "Off" or "Require".
func (p ExtendedProtection) String() string {
	switch p {
	case ProtectionAllow:
		return "Allow"
	case ProtectionOff:
		return "Off"
	case ProtectionRequire:
		return "Require"
	}
	return fmt.Sprintf("ExtendedProtection(%d)", uint8(p))
}

func (p ExtendedProtection) valid() bool { return p <= ProtectionRequire }

// ChannelBindings returns the SEC_CHANNEL_BINDINGS structure that binds a
// handshake to a TLS connection whose server presented cert, in the form
// Context.SetChannelBindings takes: a 32-byte header of eight
// little-endian 32-bit fields (initiator address type, length and offset;
// acceptor address type, length and offset; application data length and
// offset), all zero but the last two, then the application data
// "tls-server-end-point:" followed by the certificate's hash (RFC 5929,
// section 4). Both ends compute the same bytes from the same certificate.
func ChannelBindings(cert *x509.Certificate) []byte {
	const header = 32
	const prefix = "tls-server-end-point:"
	h := endPointHash(cert)
	b := make([]byte, header, header+len(prefix)+len(h))
	binary.LittleEndian.PutUint32(b[24:], uint32(len(prefix)+len(h))) // cbApplicationDataLength
	binary.LittleEndian.PutUint32(b[28:], header)                     // dwApplicationDataOffset
	b = append(b, prefix...)
	return append(b, h...)
}

// endPointHash hashes the certificate's DER as RFC 5929 section 4.1 says:
// with the hash of its signature algorithm, except that MD5 and SHA-1
// become SHA-256. For algorithms the RFC leaves undefined (Ed25519, which
// signs without a separate hash) this package uses SHA-256 too.
func endPointHash(cert *x509.Certificate) []byte {
	switch hashOf(cert.SignatureAlgorithm) {
	case crypto.SHA384:
		s := sha512.Sum384(cert.Raw)
		return s[:]
	case crypto.SHA512:
		s := sha512.Sum512(cert.Raw)
		return s[:]
	}
	s := sha256.Sum256(cert.Raw)
	return s[:]
}

func hashOf(a x509.SignatureAlgorithm) crypto.Hash {
	switch a {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		return crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		return crypto.SHA512
	}
	return crypto.SHA256
}
