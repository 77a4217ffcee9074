package kcrypto

import (
	"errors"
	"fmt"
)

// EType is a Kerberos encryption type number (RFC 3961 section 8).
type EType int32

// The encryption types this package implements (RFC 3962 section 7).
const (
	AES128CTSHMACSHA196 EType = 17 // aes128-cts-hmac-sha1-96
	AES256CTSHMACSHA196 EType = 18 // aes256-cts-hmac-sha1-96
)

// String returns the name RFC 3962 gives the encryption type, or its number.
func (e EType) String() string {
	switch e {
	case AES128CTSHMACSHA196:
		return "aes128-cts-hmac-sha1-96"
	case AES256CTSHMACSHA196:
		return "aes256-cts-hmac-sha1-96"
	}
	return fmt.Sprintf("etype(%d)", int32(e))
}

// Supported reports whether this package implements e.
func (e EType) Supported() bool { return profileOf(e) != nil }

// KeySize is the length of e's keys in bytes, 0 if e is not supported.
func (e EType) KeySize() int {
	if p := profileOf(e); p != nil {
		return p.keySize
	}
	return 0
}

// ChecksumType is the checksum type that goes with keys of e (RFC 3962
// section 7): the one a KDC and a GSS peer use with such a key.
func (e EType) ChecksumType() ChecksumType {
	if p := profileOf(e); p != nil {
		return p.cksum
	}
	return 0
}

// Overhead is how many bytes encryption under e adds to a plaintext: the
// confounder and the truncated HMAC.
func (e EType) Overhead() int {
	if e.Supported() {
		return ConfounderSize + MACSize
	}
	return 0
}

// ChecksumType is a Kerberos checksum type number (RFC 3961 section 8).
type ChecksumType int32

// The checksum types this package implements (RFC 3962 section 7).
const (
	HMACSHA196AES128 ChecksumType = 15 // hmac-sha1-96-aes128
	HMACSHA196AES256 ChecksumType = 16 // hmac-sha1-96-aes256
)

// String returns the name RFC 3962 gives the checksum type, or its number.
func (c ChecksumType) String() string {
	switch c {
	case HMACSHA196AES128:
		return "hmac-sha1-96-aes128"
	case HMACSHA196AES256:
		return "hmac-sha1-96-aes256"
	}
	return fmt.Sprintf("cksumtype(%d)", int32(c))
}

// EType is the encryption type whose keys compute checksums of type c, 0
// if c is not one this package implements.
func (c ChecksumType) EType() EType {
	switch c {
	case HMACSHA196AES128:
		return AES128CTSHMACSHA196
	case HMACSHA196AES256:
		return AES256CTSHMACSHA196
	}
	return 0
}

// Sizes of the AES profile (RFC 3962 section 6).
const (
	// BlockSize is the AES block size, the confounder's length and the
	// smallest ciphertext before its MAC.
	BlockSize = 16
	// ConfounderSize is the length of the random prefix of every
	// plaintext.
	ConfounderSize = 16
	// MACSize is the length of HMAC-SHA1 truncated to 96 bits, the
	// integrity tag of encrypted data and the length of a checksum.
	MACSize = 12
)

// Usage is a key usage number: what a key is being used for, so that the
// same key yields unrelated derived keys for each purpose.
type Usage uint32

// Key usages of RFC 4120 section 7.5.1, RFC 4121 section 2 and MS-PAC
// section 2.8.
const (
	UsageASReqPAEncTimestamp   Usage = 1  // PA-ENC-TIMESTAMP, in the client's key
	UsageTicket                Usage = 2  // EncTicketPart, in the service's key
	UsageASRepEncPart          Usage = 3  // EncASRepPart, in the client's key
	UsageTGSReqAuthDataSession Usage = 4  // TGS-REQ enc-authorization-data, in the session key
	UsageTGSReqAuthDataSubkey  Usage = 5  // TGS-REQ enc-authorization-data, in the subkey
	UsageTGSReqPAAuthCksum     Usage = 6  // checksum of the TGS-REQ body in its authenticator
	UsageTGSReqPAAuthenticator Usage = 7  // the TGS-REQ's authenticator, in the TGT session key
	UsageTGSRepEncPartSession  Usage = 8  // EncTGSRepPart, in the TGT session key
	UsageTGSRepEncPartSubkey   Usage = 9  // EncTGSRepPart, in the authenticator's subkey
	UsageAPReqAuthCksum        Usage = 10 // an application checksum in an AP-REQ authenticator
	UsageAPReqAuthenticator    Usage = 11 // an AP-REQ's authenticator, in the ticket session key
	UsageAPRepEncPart          Usage = 12 // EncAPRepPart, in the ticket session key
	UsageKerbNonKerbCksumSalt  Usage = 17 // PAC signatures (MS-PAC 2.8)
	UsageGSSAcceptorSeal       Usage = 22 // RFC 4121 Wrap tokens sealed by the acceptor
	UsageGSSAcceptorSign       Usage = 23 // RFC 4121 MIC and unsealed Wrap tokens of the acceptor
	UsageGSSInitiatorSeal      Usage = 24 // RFC 4121 Wrap tokens sealed by the initiator
	UsageGSSInitiatorSign      Usage = 25 // RFC 4121 MIC and unsealed Wrap tokens of the initiator
)

// Errors. Every error of this package wraps one of them.
var (
	// ErrUnsupported reports an encryption or checksum type this package
	// does not implement.
	ErrUnsupported = errors.New("kcrypto: unsupported encryption or checksum type")
	// ErrKeySize reports key material of the wrong length for its type.
	ErrKeySize = errors.New("kcrypto: wrong key size")
	// ErrIntegrity reports ciphertext or a checksum that does not verify
	// under the key: a wrong key, a wrong usage, or data that was altered.
	ErrIntegrity = errors.New("kcrypto: integrity check failed")
	// ErrMalformed reports ciphertext too short to be one.
	ErrMalformed = errors.New("kcrypto: malformed ciphertext")
	// ErrParams reports string-to-key parameters that are malformed or ask
	// for more work than MaxIterations.
	ErrParams = errors.New("kcrypto: bad string-to-key parameters")
)
