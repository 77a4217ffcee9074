package backend

import (
	"time"

	"github.com/gosspi/gosspi/flags"
)

// Backend is the interface every backend implements: the calls without
// which there is no SSPI. What a backend may lack is in the optional
// interfaces below (Signer, Sealer, Completer, TokenQuerier,
// Impersonator, Exporter); the Store detects them with a type assertion
// and answers SEC_E_UNSUPPORTED_FUNCTION itself where one is missing.
//
// Each method is one SSPI call and keeps its semantics, so the Windows
// backend stays a thin translation and the conformance suite in
// backend/backendtest means the same thing on every backend.
//
// Every failure is an *Error carrying the call's Op and Status. Buffers a
// backend returns are Go memory the caller owns: backends copy out and
// free what the security package allocated.
//
// A Backend must be safe for concurrent use, on different handles and on
// one handle alike: the Store serializes calls on one context, but a
// program can go below it (Context.Raw), and the conformance suite calls
// one handle from many goroutines at once.
type Backend interface {
	// EnumerateSecurityPackages lists the installed security packages.
	EnumerateSecurityPackages() ([]PackageInfo, error)
	// QuerySecurityPackageInfo describes one package by name; the Name it
	// returns is the package's canonical spelling.
	QuerySecurityPackageInfo(name string) (PackageInfo, error)

	// AcquireCredentialsHandle returns a credential for pkg. A nil identity
	// means the caller's own (default) credentials.
	AcquireCredentialsHandle(principal, pkg string, use flags.CredentialUse, identity *AuthIdentity) (Handle, time.Time, error)
	// FreeCredentialsHandle releases a credential.
	FreeCredentialsHandle(cred Handle) error

	// InitializeSecurityContext runs one client step of a handshake.
	InitializeSecurityContext(req *InitializeRequest) (InitializeResult, error)
	// AcceptSecurityContext runs one server step of a handshake.
	AcceptSecurityContext(req *AcceptRequest) (AcceptResult, error)
	// DeleteSecurityContext deletes a context; its handle is invalid afterwards.
	DeleteSecurityContext(ctx Handle) error

	// QueryContextAttributes returns one attribute; the concrete type of
	// the value is documented on each Attribute constant.
	QueryContextAttributes(ctx Handle, attr Attribute) (any, error)
}

// Signer is implemented by backends that sign messages.
type Signer interface {
	// MakeSignature signs the DATA buffers of msg into its TOKEN buffer,
	// whose Data must be at least Sizes.MaxSignature long; the backend
	// shortens it to the signature's length.
	MakeSignature(ctx Handle, qop uint32, msg []Buffer, seq uint32) error
	// VerifySignature checks the TOKEN buffer against the DATA buffers.
	VerifySignature(ctx Handle, msg []Buffer, seq uint32) (qop uint32, err error)
}

// Sealer is implemented by backends that encrypt messages.
type Sealer interface {
	// EncryptMessage encrypts the DATA buffers in place and writes the
	// trailer into the TOKEN buffer (at least Sizes.SecurityTrailer long).
	EncryptMessage(ctx Handle, qop uint32, msg []Buffer, seq uint32) error
	// DecryptMessage checks the TOKEN buffer and decrypts the DATA buffers
	// in place.
	DecryptMessage(ctx Handle, msg []Buffer, seq uint32) (qop uint32, err error)
}

// Completer is implemented by backends whose handshake steps can return
// StatusCompleteNeeded or StatusCompleteAndContinue.
type Completer interface {
	// CompleteAuthToken finishes the token of such a step.
	CompleteAuthToken(ctx Handle, token []Buffer) error
}

// TokenQuerier is implemented by backends that hand out access tokens.
type TokenQuerier interface {
	// QuerySecurityContextToken returns a new access token for the client
	// of a server context; the caller must close it with CloseToken.
	QuerySecurityContextToken(ctx Handle) (TokenHandle, error)
	// TokenInformation describes an access token (GetTokenInformation).
	TokenInformation(token TokenHandle) (TokenInfo, error)
	// CloseToken closes an access token handle (CloseHandle).
	CloseToken(token TokenHandle) error
}

// Impersonator is implemented by backends that let a server thread act as
// its client.
type Impersonator interface {
	// ImpersonateSecurityContext makes the calling OS thread act as the
	// client of a server context.
	ImpersonateSecurityContext(ctx Handle) error
	// RevertSecurityContext ends an impersonation.
	RevertSecurityContext(ctx Handle) error
}

// Exporter is implemented by backends that move contexts between
// processes.
type Exporter interface {
	// ExportSecurityContext packs a context so that another process on the
	// same machine can import it. With wantToken set, a server context also
	// returns its client's access token, which the caller must close.
	ExportSecurityContext(ctx Handle, f flags.Export, wantToken bool) (packed []byte, token TokenHandle, err error)
	// ImportSecurityContext unpacks a context exported by a process on this
	// machine. token may be zero.
	ImportSecurityContext(pkg string, packed []byte, token TokenHandle) (Handle, error)
}

// Full is a backend with every optional interface, as the fake and the
// Windows backend are.
type Full interface {
	Backend
	Signer
	Sealer
	Completer
	TokenQuerier
	Impersonator
	Exporter
}

// Handle is an SSPI CredHandle or CtxHandle: two pointer-sized words whose
// meaning belongs to the backend. The zero Handle is never valid.
type Handle struct {
	Lower, Upper uintptr
}

// IsZero reports whether h is the zero (never valid) handle.
func (h Handle) IsZero() bool { return h == Handle{} }

// TokenHandle is a Windows access token HANDLE. Zero is no token.
type TokenHandle uintptr

// AuthIdentity is an explicit user, domain and password
// (SEC_WINNT_AUTH_IDENTITY_W).
type AuthIdentity struct {
	User, Domain, Password string
}

// PackageInfo describes a security package (SecPkgInfoW).
type PackageInfo struct {
	Name         string
	Comment      string
	Capabilities uint32 // SECPKG_FLAG_*
	Version      uint16
	RPCID        uint16 // wRPCID: NTLM 10, Negotiate 9, Kerberos 16
	MaxToken     uint32 // cbMaxToken
}

// BufferType is a SecBuffer's BufferType (SECBUFFER_*).
type BufferType uint32

// Buffer types.
const (
	BufferEmpty           BufferType = 0          // SECBUFFER_EMPTY
	BufferData            BufferType = 1          // SECBUFFER_DATA
	BufferToken           BufferType = 2          // SECBUFFER_TOKEN
	BufferPadding         BufferType = 9          // SECBUFFER_PADDING
	BufferStream          BufferType = 10         // SECBUFFER_STREAM
	BufferChannelBindings BufferType = 14         // SECBUFFER_CHANNEL_BINDINGS
	BufferReadOnly        BufferType = 0x80000000 // SECBUFFER_READONLY, or-ed into another type
)

// Kind returns the type without the READONLY attribute bits.
func (t BufferType) Kind() BufferType { return t &^ 0xF0000000 }

// Buffer is one SecBuffer. A backend may shorten Data (as Windows updates
// cbBuffer) but writes only within its length.
type Buffer struct {
	Type BufferType
	Data []byte
}

// InitializeRequest holds the arguments of InitializeSecurityContext.
type InitializeRequest struct {
	Credential Handle
	Context    Handle // zero on the first call
	Target     string // the service principal name, e.g. "HTTP/host.example.com"
	Flags      flags.ClientReq
	Input      []Buffer // the server's token and channel bindings; nil on the first call
}

// InitializeResult is what InitializeSecurityContext returns.
type InitializeResult struct {
	Context Handle          // the new context on the first call, else the same
	Status  Status          // StatusOK, StatusContinueNeeded, StatusCompleteNeeded or StatusCompleteAndContinue
	Output  []byte          // the token to send to the server; may be empty
	Flags   flags.ClientRet // the attributes of the context
	Expiry  time.Time
}

// AcceptRequest holds the arguments of AcceptSecurityContext.
type AcceptRequest struct {
	Credential Handle
	Context    Handle // zero on the first call
	Flags      flags.ServerReq
	Input      []Buffer // the client's token and channel bindings
}

// AcceptResult is what AcceptSecurityContext returns.
type AcceptResult struct {
	Context Handle
	Status  Status
	Output  []byte
	Flags   flags.ServerRet
	Expiry  time.Time
}

// Attribute selects what QueryContextAttributes returns (SECPKG_ATTR_*).
type Attribute uint32

// Context attributes and the type QueryContextAttributes returns for each.
const (
	AttrSizes           Attribute = 0  // Sizes
	AttrNames           Attribute = 1  // Names
	AttrLifespan        Attribute = 2  // Lifespan
	AttrAuthority       Attribute = 6  // Authority
	AttrSessionKey      Attribute = 9  // SessionKey
	AttrPackageInfo     Attribute = 10 // PackageInfo
	AttrNegotiationInfo Attribute = 12 // NegotiationInfo
	AttrNativeNames     Attribute = 13 // NativeNames
	AttrFlags           Attribute = 14 // Flags
	AttrAccessToken     Attribute = 18 // TokenHandle, owned by the context: do not close it
)

// String returns the attribute's SECPKG_ATTR_ name.
func (a Attribute) String() string {
	switch a {
	case AttrSizes:
		return "SECPKG_ATTR_SIZES"
	case AttrNames:
		return "SECPKG_ATTR_NAMES"
	case AttrLifespan:
		return "SECPKG_ATTR_LIFESPAN"
	case AttrAuthority:
		return "SECPKG_ATTR_AUTHORITY"
	case AttrSessionKey:
		return "SECPKG_ATTR_SESSION_KEY"
	case AttrPackageInfo:
		return "SECPKG_ATTR_PACKAGE_INFO"
	case AttrNegotiationInfo:
		return "SECPKG_ATTR_NEGOTIATION_INFO"
	case AttrNativeNames:
		return "SECPKG_ATTR_NATIVE_NAMES"
	case AttrFlags:
		return "SECPKG_ATTR_FLAGS"
	case AttrAccessToken:
		return "SECPKG_ATTR_ACCESS_TOKEN"
	}
	return "SECPKG_ATTR(" + itoa(uint32(a)) + ")"
}

func itoa(v uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// Sizes is SecPkgContext_Sizes.
type Sizes struct {
	MaxToken        uint32
	MaxSignature    uint32
	BlockSize       uint32
	SecurityTrailer uint32
}

// Names is SecPkgContext_Names: on a server, the client as DOMAIN\user.
type Names struct {
	UserName string
}

// NativeNames is SecPkgContext_NativeNames.
type NativeNames struct {
	ClientName, ServerName string
}

// Lifespan is SecPkgContext_Lifespan.
type Lifespan struct {
	Start, Expiry time.Time
}

// Authority is SecPkgContext_Authority.
type Authority struct {
	Name string
}

// SessionKey is SecPkgContext_SessionKey.
type SessionKey struct {
	Key []byte
}

// NegotiationInfo is SecPkgContext_NegotiationInfo.
type NegotiationInfo struct {
	Package PackageInfo
	State   uint32 // SECPKG_NEGOTIATION_*
}

// Flags is SecPkgContext_Flags: the context's ISC_RET_* or ASC_RET_* bits.
type Flags struct {
	Flags uint32
}

// TokenInfo describes an access token: the user and the groups it carries.
type TokenInfo struct {
	User   string   // DOMAIN\user
	SID    string   // the user's SID, e.g. S-1-5-21-...
	Groups []string // group SIDs
}
