package ntlm

import "errors"

// Sentinel errors. Every error from this package wraps exactly one of them
// (with a detail message) so the backend can map it to an SSPI status code.
var (
	// ErrMalformed reports a token that cannot be parsed or violates the
	// protocol; the backend maps it to SEC_E_INVALID_TOKEN.
	ErrMalformed = errors.New("ntlm: malformed message")
	// ErrLogonDenied reports an authentication failure: unknown user, wrong
	// password, a bad or missing MIC, or clock skew; the backend maps it to
	// SEC_E_LOGON_DENIED.
	ErrLogonDenied = errors.New("ntlm: logon denied")
	// ErrMessageAltered reports a signature that does not match the message;
	// the backend maps it to SEC_E_MESSAGE_ALTERED.
	ErrMessageAltered = errors.New("ntlm: message altered")
	// ErrOutOfSequence reports a signature whose sequence number is not the
	// expected one (a replayed, dropped or reordered message); the backend
	// maps it to SEC_E_OUT_OF_SEQUENCE.
	ErrOutOfSequence = errors.New("ntlm: message out of sequence")
	// ErrState reports a method called in the wrong handshake state (for
	// example Authenticate before Negotiate, or twice). It is a programming
	// error of the caller, not a property of a peer's token.
	ErrState = errors.New("ntlm: call out of order")
	// ErrUnsupported reports a negotiated feature this implementation does
	// not provide (session security without extended session security).
	ErrUnsupported = errors.New("ntlm: unsupported")
)

// MaxTokenSize is the largest handshake message accepted by the parsers.
// Windows advertises cbMaxToken 2888 for NTLM; 64 KiB leaves ample room for
// large target info while bounding the work an attacker can cause.
const MaxTokenSize = 64 * 1024

// Negotiate flags (MS-NLMP 2.2.2.5). The names drop the NTLMSSP_ prefix.
const (
	NegotiateUnicode                 uint32 = 0x00000001 // NTLMSSP_NEGOTIATE_UNICODE
	NegotiateOEM                     uint32 = 0x00000002 // NTLM_NEGOTIATE_OEM
	RequestTarget                    uint32 = 0x00000004 // NTLMSSP_REQUEST_TARGET
	NegotiateSign                    uint32 = 0x00000010 // NTLMSSP_NEGOTIATE_SIGN
	NegotiateSeal                    uint32 = 0x00000020 // NTLMSSP_NEGOTIATE_SEAL
	NegotiateDatagram                uint32 = 0x00000040 // NTLMSSP_NEGOTIATE_DATAGRAM
	NegotiateLMKey                   uint32 = 0x00000080 // NTLMSSP_NEGOTIATE_LM_KEY
	NegotiateNTLM                    uint32 = 0x00000200 // NTLMSSP_NEGOTIATE_NTLM
	NegotiateAnonymous               uint32 = 0x00000800 // anonymous (J bit)
	NegotiateOEMDomainSupplied       uint32 = 0x00001000 // NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED
	NegotiateOEMWorkstationSupplied  uint32 = 0x00002000 // NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED
	NegotiateAlwaysSign              uint32 = 0x00008000 // NTLMSSP_NEGOTIATE_ALWAYS_SIGN
	TargetTypeDomain                 uint32 = 0x00010000 // NTLMSSP_TARGET_TYPE_DOMAIN
	TargetTypeServer                 uint32 = 0x00020000 // NTLMSSP_TARGET_TYPE_SERVER
	NegotiateExtendedSessionSecurity uint32 = 0x00080000 // NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
	NegotiateIdentify                uint32 = 0x00100000 // NTLMSSP_NEGOTIATE_IDENTIFY
	RequestNonNTSessionKey           uint32 = 0x00400000 // NTLMSSP_REQUEST_NON_NT_SESSION_KEY
	NegotiateTargetInfo              uint32 = 0x00800000 // NTLMSSP_NEGOTIATE_TARGET_INFO
	NegotiateVersion                 uint32 = 0x02000000 // NTLMSSP_NEGOTIATE_VERSION
	Negotiate128                     uint32 = 0x20000000 // NTLMSSP_NEGOTIATE_128
	NegotiateKeyExch                 uint32 = 0x40000000 // NTLMSSP_NEGOTIATE_KEY_EXCH
	Negotiate56                      uint32 = 0x80000000 // NTLMSSP_NEGOTIATE_56
)

// DefaultClientFlags is what a Client requests when ClientConfig.Flags is 0:
// 0xe20882b7, what a current Windows client sends when integrity and
// confidentiality are asked for. Windows offers OEM and LM_KEY beside
// Unicode and extended session security, and leaves TARGET_INFO to the
// server.
const DefaultClientFlags = NegotiateUnicode | NegotiateOEM | RequestTarget | NegotiateSign | NegotiateSeal |
	NegotiateLMKey | NegotiateNTLM | NegotiateAlwaysSign | NegotiateExtendedSessionSecurity |
	NegotiateVersion | Negotiate128 | NegotiateKeyExch | Negotiate56

// AV_PAIR identifiers (MS-NLMP 2.2.2.1).
const (
	AvEOL             uint16 = 0x0000 // MsvAvEOL: end of the list
	AvNbComputerName  uint16 = 0x0001 // MsvAvNbComputerName
	AvNbDomainName    uint16 = 0x0002 // MsvAvNbDomainName
	AvDNSComputerName uint16 = 0x0003 // MsvAvDnsComputerName
	AvDNSDomainName   uint16 = 0x0004 // MsvAvDnsDomainName
	AvDNSTreeName     uint16 = 0x0005 // MsvAvDnsTreeName
	AvFlags           uint16 = 0x0006 // MsvAvFlags: 32-bit MsvAvFlag* bits
	AvTimestamp       uint16 = 0x0007 // MsvAvTimestamp: FILETIME of the server
	AvSingleHost      uint16 = 0x0008 // MsvAvSingleHost
	AvTargetName      uint16 = 0x0009 // MsvAvTargetName: SPN of the target, UTF-16LE
	AvChannelBindings uint16 = 0x000A // MsvAvChannelBindings: MD5 of gss_channel_bindings_struct
)

// Bits of the MsvAvFlags AV pair value.
const (
	AvFlagAccountConstrained uint32 = 0x00000001 // the client's account authentication is constrained
	AvFlagMICPresent         uint32 = 0x00000002 // the AUTHENTICATE_MESSAGE carries a MIC
	AvFlagUntrustedSPN       uint32 = 0x00000004 // the target SPN came from an untrusted source
)

// Message types (MS-NLMP 2.2.1).
const (
	typeNegotiate    uint32 = 1
	typeChallenge    uint32 = 2
	typeAuthenticate uint32 = 3
)

var signature = [8]byte{'N', 'T', 'L', 'M', 'S', 'S', 'P', 0}

// defaultVersion is the VERSION structure (MS-NLMP 2.2.2.10) the emulation
// reports: Windows 10.0 build 19041, NTLMSSP_REVISION_W2K3 (15). It is for
// debugging only and never influences the protocol.
var defaultVersion = []byte{10, 0, 0x61, 0x4a, 0, 0, 0, 15}
