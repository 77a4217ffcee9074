// The ISC_* and ASC_* values below are those of sspi.h.

package flags

// ClientReq is the fContextReq of InitializeSecurityContext (ISC_REQ_*).
type ClientReq uint32

// ISC_REQ_* values.
const (
	ClientReqDelegate             ClientReq = 0x1        // ISC_REQ_DELEGATE
	ClientReqMutualAuth           ClientReq = 0x2        // ISC_REQ_MUTUAL_AUTH
	ClientReqReplayDetect         ClientReq = 0x4        // ISC_REQ_REPLAY_DETECT
	ClientReqSequenceDetect       ClientReq = 0x8        // ISC_REQ_SEQUENCE_DETECT
	ClientReqConfidentiality      ClientReq = 0x10       // ISC_REQ_CONFIDENTIALITY
	ClientReqUseSessionKey        ClientReq = 0x20       // ISC_REQ_USE_SESSION_KEY
	ClientReqPromptForCreds       ClientReq = 0x40       // ISC_REQ_PROMPT_FOR_CREDS
	ClientReqUseSuppliedCreds     ClientReq = 0x80       // ISC_REQ_USE_SUPPLIED_CREDS
	ClientReqAllocateMemory       ClientReq = 0x100      // ISC_REQ_ALLOCATE_MEMORY
	ClientReqUseDCEStyle          ClientReq = 0x200      // ISC_REQ_USE_DCE_STYLE
	ClientReqDatagram             ClientReq = 0x400      // ISC_REQ_DATAGRAM
	ClientReqConnection           ClientReq = 0x800      // ISC_REQ_CONNECTION
	ClientReqCallLevel            ClientReq = 0x1000     // ISC_REQ_CALL_LEVEL
	ClientReqFragmentSupplied     ClientReq = 0x2000     // ISC_REQ_FRAGMENT_SUPPLIED
	ClientReqExtendedError        ClientReq = 0x4000     // ISC_REQ_EXTENDED_ERROR
	ClientReqStream               ClientReq = 0x8000     // ISC_REQ_STREAM
	ClientReqIntegrity            ClientReq = 0x10000    // ISC_REQ_INTEGRITY
	ClientReqIdentify             ClientReq = 0x20000    // ISC_REQ_IDENTIFY
	ClientReqNullSession          ClientReq = 0x40000    // ISC_REQ_NULL_SESSION
	ClientReqManualCredValidation ClientReq = 0x80000    // ISC_REQ_MANUAL_CRED_VALIDATION
	ClientReqReserved1            ClientReq = 0x100000   // ISC_REQ_RESERVED1
	ClientReqFragmentToFit        ClientReq = 0x200000   // ISC_REQ_FRAGMENT_TO_FIT
	ClientReqForwardCredentials   ClientReq = 0x400000   // ISC_REQ_FORWARD_CREDENTIALS
	ClientReqNoIntegrity          ClientReq = 0x800000   // ISC_REQ_NO_INTEGRITY
	ClientReqUseHTTPStyle         ClientReq = 0x1000000  // ISC_REQ_USE_HTTP_STYLE
	ClientReqUnverifiedTargetName ClientReq = 0x20000000 // ISC_REQ_UNVERIFIED_TARGET_NAME
	ClientReqConfidentialityOnly  ClientReq = 0x40000000 // ISC_REQ_CONFIDENTIALITY_ONLY
)

var clientReqTable = newTable(clientReqNames)

// String returns the set flags by name, e.g. "Confidentiality|Integrity", unknown bits in hex.
func (f ClientReq) String() string { return clientReqTable.format(uint32(f)) }

// Validate reports bits that ISC_REQ_* does not define.
func (f ClientReq) Validate() error { return clientReqTable.validate("flags.ClientReq", uint32(f)) }

// ClientRet is the pfContextAttr InitializeSecurityContext returns (ISC_RET_*).
type ClientRet uint32

// ISC_RET_* values.
const (
	ClientRetDelegate             ClientRet = 0x1        // ISC_RET_DELEGATE
	ClientRetMutualAuth           ClientRet = 0x2        // ISC_RET_MUTUAL_AUTH
	ClientRetReplayDetect         ClientRet = 0x4        // ISC_RET_REPLAY_DETECT
	ClientRetSequenceDetect       ClientRet = 0x8        // ISC_RET_SEQUENCE_DETECT
	ClientRetConfidentiality      ClientRet = 0x10       // ISC_RET_CONFIDENTIALITY
	ClientRetUseSessionKey        ClientRet = 0x20       // ISC_RET_USE_SESSION_KEY
	ClientRetUsedCollectedCreds   ClientRet = 0x40       // ISC_RET_USED_COLLECTED_CREDS
	ClientRetUsedSuppliedCreds    ClientRet = 0x80       // ISC_RET_USED_SUPPLIED_CREDS
	ClientRetAllocatedMemory      ClientRet = 0x100      // ISC_RET_ALLOCATED_MEMORY
	ClientRetUsedDCEStyle         ClientRet = 0x200      // ISC_RET_USED_DCE_STYLE
	ClientRetDatagram             ClientRet = 0x400      // ISC_RET_DATAGRAM
	ClientRetConnection           ClientRet = 0x800      // ISC_RET_CONNECTION
	ClientRetIntermediateReturn   ClientRet = 0x1000     // ISC_RET_INTERMEDIATE_RETURN
	ClientRetCallLevel            ClientRet = 0x2000     // ISC_RET_CALL_LEVEL
	ClientRetExtendedError        ClientRet = 0x4000     // ISC_RET_EXTENDED_ERROR
	ClientRetStream               ClientRet = 0x8000     // ISC_RET_STREAM
	ClientRetIntegrity            ClientRet = 0x10000    // ISC_RET_INTEGRITY
	ClientRetIdentify             ClientRet = 0x20000    // ISC_RET_IDENTIFY
	ClientRetNullSession          ClientRet = 0x40000    // ISC_RET_NULL_SESSION
	ClientRetManualCredValidation ClientRet = 0x80000    // ISC_RET_MANUAL_CRED_VALIDATION
	ClientRetReserved1            ClientRet = 0x100000   // ISC_RET_RESERVED1
	ClientRetFragmentOnly         ClientRet = 0x200000   // ISC_RET_FRAGMENT_ONLY
	ClientRetForwardCredentials   ClientRet = 0x400000   // ISC_RET_FORWARD_CREDENTIALS
	ClientRetUsedHTTPStyle        ClientRet = 0x1000000  // ISC_RET_USED_HTTP_STYLE
	ClientRetNoAdditionalToken    ClientRet = 0x2000000  // ISC_RET_NO_ADDITIONAL_TOKEN
	ClientRetReauthentication     ClientRet = 0x8000000  // ISC_RET_REAUTHENTICATION
	ClientRetConfidentialityOnly  ClientRet = 0x40000000 // ISC_RET_CONFIDENTIALITY_ONLY
)

var clientRetTable = newTable(clientRetNames)

// String returns the set flags by name, e.g. "Confidentiality|Integrity", unknown bits in hex.
func (f ClientRet) String() string { return clientRetTable.format(uint32(f)) }

// Validate reports bits that ISC_RET_* does not define.
func (f ClientRet) Validate() error { return clientRetTable.validate("flags.ClientRet", uint32(f)) }

// ServerReq is the fContextReq of AcceptSecurityContext (ASC_REQ_*).
type ServerReq uint32

// ASC_REQ_* values.
const (
	ServerReqDelegate             ServerReq = 0x1        // ASC_REQ_DELEGATE
	ServerReqMutualAuth           ServerReq = 0x2        // ASC_REQ_MUTUAL_AUTH
	ServerReqReplayDetect         ServerReq = 0x4        // ASC_REQ_REPLAY_DETECT
	ServerReqSequenceDetect       ServerReq = 0x8        // ASC_REQ_SEQUENCE_DETECT
	ServerReqConfidentiality      ServerReq = 0x10       // ASC_REQ_CONFIDENTIALITY
	ServerReqUseSessionKey        ServerReq = 0x20       // ASC_REQ_USE_SESSION_KEY
	ServerReqSessionTicket        ServerReq = 0x40       // ASC_REQ_SESSION_TICKET
	ServerReqAllocateMemory       ServerReq = 0x100      // ASC_REQ_ALLOCATE_MEMORY
	ServerReqUseDCEStyle          ServerReq = 0x200      // ASC_REQ_USE_DCE_STYLE
	ServerReqDatagram             ServerReq = 0x400      // ASC_REQ_DATAGRAM
	ServerReqConnection           ServerReq = 0x800      // ASC_REQ_CONNECTION
	ServerReqCallLevel            ServerReq = 0x1000     // ASC_REQ_CALL_LEVEL
	ServerReqFragmentSupplied     ServerReq = 0x2000     // ASC_REQ_FRAGMENT_SUPPLIED
	ServerReqExtendedError        ServerReq = 0x8000     // ASC_REQ_EXTENDED_ERROR
	ServerReqStream               ServerReq = 0x10000    // ASC_REQ_STREAM
	ServerReqIntegrity            ServerReq = 0x20000    // ASC_REQ_INTEGRITY
	ServerReqLicensing            ServerReq = 0x40000    // ASC_REQ_LICENSING
	ServerReqIdentify             ServerReq = 0x80000    // ASC_REQ_IDENTIFY
	ServerReqAllowNullSession     ServerReq = 0x100000   // ASC_REQ_ALLOW_NULL_SESSION
	ServerReqAllowNonUserLogons   ServerReq = 0x200000   // ASC_REQ_ALLOW_NON_USER_LOGONS
	ServerReqAllowContextReplay   ServerReq = 0x400000   // ASC_REQ_ALLOW_CONTEXT_REPLAY
	ServerReqFragmentToFit        ServerReq = 0x800000   // ASC_REQ_FRAGMENT_TO_FIT
	ServerReqNoToken              ServerReq = 0x1000000  // ASC_REQ_NO_TOKEN
	ServerReqProxyBindings        ServerReq = 0x4000000  // ASC_REQ_PROXY_BINDINGS
	ServerReqAllowMissingBindings ServerReq = 0x10000000 // ASC_REQ_ALLOW_MISSING_BINDINGS
)

var serverReqTable = newTable(serverReqNames)

// String returns the set flags by name, e.g. "Confidentiality|Integrity", unknown bits in hex.
func (f ServerReq) String() string { return serverReqTable.format(uint32(f)) }

// Validate reports bits that ASC_REQ_* does not define.
func (f ServerReq) Validate() error { return serverReqTable.validate("flags.ServerReq", uint32(f)) }

// ServerRet is the pfContextAttr AcceptSecurityContext returns (ASC_RET_*).
type ServerRet uint32

// ASC_RET_* values.
const (
	ServerRetDelegate           ServerRet = 0x1       // ASC_RET_DELEGATE
	ServerRetMutualAuth         ServerRet = 0x2       // ASC_RET_MUTUAL_AUTH
	ServerRetReplayDetect       ServerRet = 0x4       // ASC_RET_REPLAY_DETECT
	ServerRetSequenceDetect     ServerRet = 0x8       // ASC_RET_SEQUENCE_DETECT
	ServerRetConfidentiality    ServerRet = 0x10      // ASC_RET_CONFIDENTIALITY
	ServerRetUseSessionKey      ServerRet = 0x20      // ASC_RET_USE_SESSION_KEY
	ServerRetSessionTicket      ServerRet = 0x40      // ASC_RET_SESSION_TICKET
	ServerRetAllocatedMemory    ServerRet = 0x100     // ASC_RET_ALLOCATED_MEMORY
	ServerRetUsedDCEStyle       ServerRet = 0x200     // ASC_RET_USED_DCE_STYLE
	ServerRetDatagram           ServerRet = 0x400     // ASC_RET_DATAGRAM
	ServerRetConnection         ServerRet = 0x800     // ASC_RET_CONNECTION
	ServerRetCallLevel          ServerRet = 0x2000    // ASC_RET_CALL_LEVEL
	ServerRetThirdLegFailed     ServerRet = 0x4000    // ASC_RET_THIRD_LEG_FAILED
	ServerRetExtendedError      ServerRet = 0x8000    // ASC_RET_EXTENDED_ERROR
	ServerRetStream             ServerRet = 0x10000   // ASC_RET_STREAM
	ServerRetIntegrity          ServerRet = 0x20000   // ASC_RET_INTEGRITY
	ServerRetLicensing          ServerRet = 0x40000   // ASC_RET_LICENSING
	ServerRetIdentify           ServerRet = 0x80000   // ASC_RET_IDENTIFY
	ServerRetNullSession        ServerRet = 0x100000  // ASC_RET_NULL_SESSION
	ServerRetAllowNonUserLogons ServerRet = 0x200000  // ASC_RET_ALLOW_NON_USER_LOGONS
	ServerRetAllowContextReplay ServerRet = 0x400000  // ASC_RET_ALLOW_CONTEXT_REPLAY
	ServerRetFragmentOnly       ServerRet = 0x800000  // ASC_RET_FRAGMENT_ONLY
	ServerRetNoToken            ServerRet = 0x1000000 // ASC_RET_NO_TOKEN
	ServerRetNoAdditionalToken  ServerRet = 0x2000000 // ASC_RET_NO_ADDITIONAL_TOKEN
)

var serverRetTable = newTable(serverRetNames)

// String returns the set flags by name, e.g. "Confidentiality|Integrity", unknown bits in hex.
func (f ServerRet) String() string { return serverRetTable.format(uint32(f)) }

// Validate reports bits that ASC_RET_* does not define.
func (f ServerRet) Validate() error { return serverRetTable.validate("flags.ServerRet", uint32(f)) }
