package msg

import "fmt"

// PVNO is the protocol version number of every message (RFC 4120).
const PVNO = 5

// Message types (RFC 4120 section 7.5.7), also the APPLICATION tags of
// the messages.
const (
	MsgASReq    = 10
	MsgASRep    = 11
	MsgTGSReq   = 12
	MsgTGSRep   = 13
	MsgAPReq    = 14
	MsgAPRep    = 15
	MsgKRBError = 30
)

// APPLICATION tags of the other structures (RFC 4120 section 5).
const (
	tagTicket        = 1
	tagAuthenticator = 2
	tagEncTicketPart = 3
	tagEncASRepPart  = 25
	tagEncTGSRepPart = 26
	tagEncAPRepPart  = 27
)

// Principal name types (RFC 4120 section 6.2, MS-KILE).
const (
	NTUnknown    = 0  // NT-UNKNOWN
	NTPrincipal  = 1  // NT-PRINCIPAL: a user
	NTSrvInst    = 2  // NT-SRV-INST: a service, such as krbtgt/REALM
	NTSrvHst     = 3  // NT-SRV-HST: a service with a host name, such as HTTP/web01
	NTEnterprise = 10 // NT-ENTERPRISE: a UPN as a single component
)

// Pre-authentication data types (RFC 4120 section 7.5.2, RFC 6113,
// MS-KILE).
const (
	PATGSReq         = 1   // PA-TGS-REQ: the AP-REQ of a TGS-REQ
	PAEncTimestamp   = 2   // PA-ENC-TIMESTAMP
	PAPWSalt         = 3   // PA-PW-SALT
	PAETypeInfo      = 11  // PA-ETYPE-INFO
	PAETypeInfo2     = 19  // PA-ETYPE-INFO2
	PAPACRequest     = 128 // PA-PAC-REQUEST (MS-KILE 2.2.3)
	PAFXFast         = 136 // PA-FX-FAST (RFC 6113)
	PAEncChallenge   = 138 // PA-ENCRYPTED-CHALLENGE (RFC 6113)
	PAReqEncPARep    = 149 // PA-REQ-ENC-PA-REP (RFC 6806)
	PAPACOptions     = 167 // PA-PAC-OPTIONS (MS-KILE 2.2.10)
	PASupportedTypes = 165 // PA-SUPPORTED-ENCTYPES (MS-KILE 2.2.8)
)

// Authorization data types (RFC 4120 section 7.5.4, MS-PAC).
const (
	ADIfRelevant = 1   // AD-IF-RELEVANT: AuthorizationData the recipient may ignore
	ADWin2kPAC   = 128 // AD-WIN2K-PAC: the MS-PAC
)

// Address types (RFC 4120 section 7.5.3).
const (
	AddrIPv4    = 2
	AddrIPv6    = 24
	AddrNetBIOS = 20
)

// TicketFlags are the flags of a ticket (RFC 4120 section 5.3), bit 0 of
// the KerberosFlags being the most significant bit.
type TicketFlags uint32

// Ticket flags.
const (
	TktForwardable  TicketFlags = 1 << (31 - 1)
	TktForwarded    TicketFlags = 1 << (31 - 2)
	TktProxiable    TicketFlags = 1 << (31 - 3)
	TktProxy        TicketFlags = 1 << (31 - 4)
	TktMayPostdate  TicketFlags = 1 << (31 - 5)
	TktPostdated    TicketFlags = 1 << (31 - 6)
	TktInvalid      TicketFlags = 1 << (31 - 7)
	TktRenewable    TicketFlags = 1 << (31 - 8)
	TktInitial      TicketFlags = 1 << (31 - 9)
	TktPreAuthent   TicketFlags = 1 << (31 - 10)
	TktHWAuthent    TicketFlags = 1 << (31 - 11)
	TktTransitedOK  TicketFlags = 1 << (31 - 12)
	TktOKAsDelegate TicketFlags = 1 << (31 - 13)
	TktEncPARep     TicketFlags = 1 << (31 - 15) // RFC 6806; Windows calls it name-canonicalize
	TktAnonymous    TicketFlags = 1 << (31 - 16)
)

// KDCOptions are the options of a KDC request (RFC 4120 section 5.4.1).
type KDCOptions uint32

// KDC options.
const (
	OptForwardable   KDCOptions = 1 << (31 - 1)
	OptForwarded     KDCOptions = 1 << (31 - 2)
	OptProxiable     KDCOptions = 1 << (31 - 3)
	OptProxy         KDCOptions = 1 << (31 - 4)
	OptAllowPostdate KDCOptions = 1 << (31 - 5)
	OptPostdated     KDCOptions = 1 << (31 - 6)
	OptRenewable     KDCOptions = 1 << (31 - 8)
	OptCanonicalize  KDCOptions = 1 << (31 - 15)
	OptRenewableOK   KDCOptions = 1 << (31 - 27)
	OptEncTktInSKey  KDCOptions = 1 << (31 - 28)
	OptRenew         KDCOptions = 1 << (31 - 30)
	OptValidate      KDCOptions = 1 // bit 31, the last
)

// APOptions are the options of an AP-REQ (RFC 4120 section 5.5.1).
type APOptions uint32

// AP options.
const (
	APUseSessionKey  APOptions = 1 << (31 - 1)
	APMutualRequired APOptions = 1 << (31 - 2)
)

// ErrorCode is a Kerberos error code (RFC 4120 section 7.5.9). It is an
// error itself, so that code handling a failure can wrap one with %w and
// a mechanism can find it with errors.As and map it to an SSPI status.
type ErrorCode int32

// Error codes.
const (
	KDCErrNone               ErrorCode = 0
	KDCErrNameExp            ErrorCode = 1
	KDCErrServiceExp         ErrorCode = 2
	KDCErrBadPVNO            ErrorCode = 3
	KDCErrCPrincipalUnknown  ErrorCode = 6
	KDCErrSPrincipalUnknown  ErrorCode = 7
	KDCErrPrincipalNotUnique ErrorCode = 8
	KDCErrNullKey            ErrorCode = 9
	KDCErrCannotPostdate     ErrorCode = 10
	KDCErrNeverValid         ErrorCode = 11
	KDCErrPolicy             ErrorCode = 12
	KDCErrBadOption          ErrorCode = 13
	KDCErrETypeNoSupp        ErrorCode = 14
	KDCErrSumTypeNoSupp      ErrorCode = 15
	KDCErrPADataTypeNoSupp   ErrorCode = 16
	KDCErrClientRevoked      ErrorCode = 18
	KDCErrServiceRevoked     ErrorCode = 19
	KDCErrTGTRevoked         ErrorCode = 20
	KDCErrKeyExpired         ErrorCode = 23
	KDCErrPreauthFailed      ErrorCode = 24
	KDCErrPreauthRequired    ErrorCode = 25
	KDCErrServerNoMatch      ErrorCode = 26
	KDCErrMustUseUser2User   ErrorCode = 27
	KRBAPErrBadIntegrity     ErrorCode = 31
	KRBAPErrTktExpired       ErrorCode = 32
	KRBAPErrTktNYV           ErrorCode = 33
	KRBAPErrRepeat           ErrorCode = 34
	KRBAPErrNotUs            ErrorCode = 35
	KRBAPErrBadMatch         ErrorCode = 36
	KRBAPErrSkew             ErrorCode = 37
	KRBAPErrBadAddr          ErrorCode = 38
	KRBAPErrBadVersion       ErrorCode = 39
	KRBAPErrMsgType          ErrorCode = 40
	KRBAPErrModified         ErrorCode = 41
	KRBAPErrBadOrder         ErrorCode = 42
	KRBAPErrBadKeyVer        ErrorCode = 44
	KRBAPErrNoKey            ErrorCode = 45
	KRBAPErrMutFail          ErrorCode = 46
	KRBAPErrBadDirection     ErrorCode = 47
	KRBAPErrMethod           ErrorCode = 48
	KRBAPErrBadSeq           ErrorCode = 49
	KRBAPErrInappCksum       ErrorCode = 50
	KRBErrResponseTooBig     ErrorCode = 52
	KRBErrGeneric            ErrorCode = 60
	KRBErrFieldTooLong       ErrorCode = 61
	KDCErrWrongRealm         ErrorCode = 68
)

var errorNames = map[ErrorCode]string{
	KDCErrNone: "KDC_ERR_NONE", KDCErrNameExp: "KDC_ERR_NAME_EXP", KDCErrServiceExp: "KDC_ERR_SERVICE_EXP",
	KDCErrBadPVNO: "KDC_ERR_BAD_PVNO", KDCErrCPrincipalUnknown: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
	KDCErrSPrincipalUnknown: "KDC_ERR_S_PRINCIPAL_UNKNOWN", KDCErrPrincipalNotUnique: "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
	KDCErrNullKey: "KDC_ERR_NULL_KEY", KDCErrCannotPostdate: "KDC_ERR_CANNOT_POSTDATE",
	KDCErrNeverValid: "KDC_ERR_NEVER_VALID", KDCErrPolicy: "KDC_ERR_POLICY", KDCErrBadOption: "KDC_ERR_BADOPTION",
	KDCErrETypeNoSupp: "KDC_ERR_ETYPE_NOSUPP", KDCErrSumTypeNoSupp: "KDC_ERR_SUMTYPE_NOSUPP",
	KDCErrPADataTypeNoSupp: "KDC_ERR_PADATA_TYPE_NOSUPP", KDCErrClientRevoked: "KDC_ERR_CLIENT_REVOKED",
	KDCErrServiceRevoked: "KDC_ERR_SERVICE_REVOKED", KDCErrTGTRevoked: "KDC_ERR_TGT_REVOKED",
	KDCErrKeyExpired: "KDC_ERR_KEY_EXPIRED", KDCErrPreauthFailed: "KDC_ERR_PREAUTH_FAILED",
	KDCErrPreauthRequired: "KDC_ERR_PREAUTH_REQUIRED", KDCErrServerNoMatch: "KDC_ERR_SERVER_NOMATCH",
	KDCErrMustUseUser2User: "KDC_ERR_MUST_USE_USER2USER", KRBAPErrBadIntegrity: "KRB_AP_ERR_BAD_INTEGRITY",
	KRBAPErrTktExpired: "KRB_AP_ERR_TKT_EXPIRED", KRBAPErrTktNYV: "KRB_AP_ERR_TKT_NYV",
	KRBAPErrRepeat: "KRB_AP_ERR_REPEAT", KRBAPErrNotUs: "KRB_AP_ERR_NOT_US", KRBAPErrBadMatch: "KRB_AP_ERR_BADMATCH",
	KRBAPErrSkew: "KRB_AP_ERR_SKEW", KRBAPErrBadAddr: "KRB_AP_ERR_BADADDR", KRBAPErrBadVersion: "KRB_AP_ERR_BADVERSION",
	KRBAPErrMsgType: "KRB_AP_ERR_MSG_TYPE", KRBAPErrModified: "KRB_AP_ERR_MODIFIED", KRBAPErrBadOrder: "KRB_AP_ERR_BADORDER",
	KRBAPErrBadKeyVer: "KRB_AP_ERR_BADKEYVER", KRBAPErrNoKey: "KRB_AP_ERR_NOKEY", KRBAPErrMutFail: "KRB_AP_ERR_MUT_FAIL",
	KRBAPErrBadDirection: "KRB_AP_ERR_BADDIRECTION", KRBAPErrMethod: "KRB_AP_ERR_METHOD", KRBAPErrBadSeq: "KRB_AP_ERR_BADSEQ",
	KRBAPErrInappCksum: "KRB_AP_ERR_INAPP_CKSUM", KRBErrResponseTooBig: "KRB_ERR_RESPONSE_TOO_BIG",
	KRBErrGeneric: "KRB_ERR_GENERIC", KRBErrFieldTooLong: "KRB_ERR_FIELD_TOOLONG", KDCErrWrongRealm: "KDC_ERR_WRONG_REALM",
}

// String returns the code's name from RFC 4120, or its number.
func (c ErrorCode) String() string {
	if n, ok := errorNames[c]; ok {
		return n
	}
	return fmt.Sprintf("KRB_ERR(%d)", int32(c))
}

// Error makes a code an error; it is the code's name.
func (c ErrorCode) Error() string { return c.String() }
