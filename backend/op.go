package backend

import "strconv"

// Op names an SSPI call. Every backend puts the same Op in the errors of
// the same call, so a test can check which call failed, and fault
// injection (the fake's FailNth) takes an Op so that a misspelt name does
// not compile.
type Op uint8

// Each Op prints as its identifier without "Op"; the names are generated
// from the constants below so that the two cannot drift apart.
//go:generate go run github.com/gosspi/gosspi/internal/cmd/namegen -type Op -output zop_names.go

// The SSPI calls, named as the Windows API names them (without the A/W
// suffix).
const (
	OpEnumerateSecurityPackages  Op = iota + 1 // EnumerateSecurityPackages
	OpQuerySecurityPackageInfo                 // QuerySecurityPackageInfo
	OpAcquireCredentialsHandle                 // AcquireCredentialsHandle
	OpFreeCredentialsHandle                    // FreeCredentialsHandle
	OpInitializeSecurityContext                // InitializeSecurityContext
	OpAcceptSecurityContext                    // AcceptSecurityContext
	OpCompleteAuthToken                        // CompleteAuthToken
	OpDeleteSecurityContext                    // DeleteSecurityContext
	OpQueryContextAttributes                   // QueryContextAttributes
	OpMakeSignature                            // MakeSignature
	OpVerifySignature                          // VerifySignature
	OpEncryptMessage                           // EncryptMessage
	OpDecryptMessage                           // DecryptMessage
	OpQuerySecurityContextToken                // QuerySecurityContextToken
	OpImpersonateSecurityContext               // ImpersonateSecurityContext
	OpRevertSecurityContext                    // RevertSecurityContext
	OpExportSecurityContext                    // ExportSecurityContext
	OpImportSecurityContext                    // ImportSecurityContext
	OpGetTokenInformation                      // GetTokenInformation, for Backend.TokenInformation
	OpCloseHandle                              // CloseHandle, for Backend.CloseToken
	OpInitSecurityInterface                    // InitSecurityInterface: loading the security library
	opEnd
)

// Valid reports whether op is one of the named calls.
func (op Op) Valid() bool { return op > 0 && op < opEnd }

// String returns the call's Windows name, e.g. "ExportSecurityContext", or
// "Op(N)" for a value that names no call.
func (op Op) String() string {
	if name, ok := opNames[op]; ok {
		return name
	}
	return "Op(" + strconv.Itoa(int(op)) + ")"
}

// Ops returns every named call, in declaration order.
func Ops() []Op {
	out := make([]Op, 0, opEnd-1)
	for op := Op(1); op < opEnd; op++ {
		out = append(out, op)
	}
	return out
}
