//go:build windows

package winsspi

import "golang.org/x/sys/windows"

// The secur32.dll entry points this package calls. Each returns its
// SECURITY_STATUS as a uint32; mapping it to an *backend.Error is the
// caller's job (see statusError).
//
//sys	enumerateSecurityPackages(count *uint32, info **secPkgInfo) (status uint32) = secur32.EnumerateSecurityPackagesW
//sys	querySecurityPackageInfo(name *uint16, info **secPkgInfo) (status uint32) = secur32.QuerySecurityPackageInfoW
//sys	acquireCredentialsHandle(principal *uint16, pkg *uint16, use uint32, logonID *windows.LUID, authData *secWinNTAuthIdentity, getKeyFn uintptr, getKeyArg uintptr, cred *secHandle, expiry *int64) (status uint32) = secur32.AcquireCredentialsHandleW
//sys	freeCredentialsHandle(cred *secHandle) (status uint32) = secur32.FreeCredentialsHandle
//sys	initializeSecurityContext(cred *secHandle, ctx *secHandle, target *uint16, contextReq uint32, reserved1 uint32, dataRep uint32, input *secBufferDesc, reserved2 uint32, newCtx *secHandle, output *secBufferDesc, contextAttr *uint32, expiry *int64) (status uint32) = secur32.InitializeSecurityContextW
//sys	acceptSecurityContext(cred *secHandle, ctx *secHandle, input *secBufferDesc, contextReq uint32, dataRep uint32, newCtx *secHandle, output *secBufferDesc, contextAttr *uint32, expiry *int64) (status uint32) = secur32.AcceptSecurityContext
//sys	completeAuthToken(ctx *secHandle, token *secBufferDesc) (status uint32) = secur32.CompleteAuthToken
//sys	deleteSecurityContext(ctx *secHandle) (status uint32) = secur32.DeleteSecurityContext
//sys	queryContextAttributes(ctx *secHandle, attr uint32, buf unsafe.Pointer) (status uint32) = secur32.QueryContextAttributesW
//sys	makeSignature(ctx *secHandle, qop uint32, msg *secBufferDesc, seq uint32) (status uint32) = secur32.MakeSignature
//sys	verifySignature(ctx *secHandle, msg *secBufferDesc, seq uint32, qop *uint32) (status uint32) = secur32.VerifySignature
//sys	encryptMessage(ctx *secHandle, qop uint32, msg *secBufferDesc, seq uint32) (status uint32) = secur32.EncryptMessage
//sys	decryptMessage(ctx *secHandle, msg *secBufferDesc, seq uint32, qop *uint32) (status uint32) = secur32.DecryptMessage
//sys	querySecurityContextToken(ctx *secHandle, token *windows.Handle) (status uint32) = secur32.QuerySecurityContextToken
//sys	impersonateSecurityContext(ctx *secHandle) (status uint32) = secur32.ImpersonateSecurityContext
//sys	revertSecurityContext(ctx *secHandle) (status uint32) = secur32.RevertSecurityContext
//sys	exportSecurityContext(ctx *secHandle, flags uint32, packed *secBuffer, token *windows.Handle) (status uint32) = secur32.ExportSecurityContext
//sys	importSecurityContext(pkg *uint16, packed *secBuffer, token windows.Handle, ctx *secHandle) (status uint32) = secur32.ImportSecurityContextW
//sys	freeContextBuffer(buf unsafe.Pointer) (status uint32) = secur32.FreeContextBuffer

// secHandle is SecHandle (CredHandle, CtxtHandle): two pointer-sized words.
// It has the layout of backend.Handle, so the two convert into each other.
type secHandle struct {
	Lower, Upper uintptr
}

// secBuffer is SecBuffer.
type secBuffer struct {
	cbBuffer   uint32
	bufferType uint32
	pvBuffer   *byte
}

// secBufferDesc is SecBufferDesc.
type secBufferDesc struct {
	ulVersion uint32
	cBuffers  uint32
	pBuffers  *secBuffer
}

// secPkgInfo is SecPkgInfoW.
type secPkgInfo struct {
	fCapabilities uint32
	wVersion      uint16
	wRPCID        uint16
	cbMaxToken    uint32
	name          *uint16
	comment       *uint16
}

// secWinNTAuthIdentity is SEC_WINNT_AUTH_IDENTITY_W. Lengths count UTF-16
// code units without the terminating NUL.
type secWinNTAuthIdentity struct {
	user           *uint16
	userLength     uint32
	domain         *uint16
	domainLength   uint32
	password       *uint16
	passwordLength uint32
	flags          uint32
}

// The SecPkgContext_* structures QueryContextAttributesW fills in.
type (
	secPkgContextSizes struct {
		cbMaxToken, cbMaxSignature, cbBlockSize, cbSecurityTrailer uint32
	}
	secPkgContextNames struct {
		userName *uint16
	}
	secPkgContextLifespan struct {
		start, expiry int64
	}
	secPkgContextAuthority struct {
		authorityName *uint16
	}
	secPkgContextSessionKey struct {
		length uint32
		key    *byte
	}
	secPkgContextPackageInfo struct {
		info *secPkgInfo
	}
	secPkgContextNegotiationInfo struct {
		info  *secPkgInfo
		state uint32
	}
	secPkgContextNativeNames struct {
		clientName, serverName *uint16
	}
	secPkgContextFlags struct {
		flags uint32
	}
	secPkgContextAccessToken struct {
		token windows.Handle
	}
)

// Constants of sspi.h this package passes to secur32.
const (
	secbufferVersion            = 0    // SECBUFFER_VERSION
	securityNativeDrep          = 0x10 // SECURITY_NATIVE_DREP
	secWinNTAuthIdentityUnicode = 0x2  // SEC_WINNT_AUTH_IDENTITY_UNICODE
	secbufferToken              = 2    // SECBUFFER_TOKEN
)
