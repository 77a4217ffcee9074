package flags

// Export is the fFlags argument of ExportSecurityContext
// (SECPKG_CONTEXT_EXPORT_*).
type Export uint32

// Export flags.
const (
	// ResetNew resets the new context's per-message state (sequence numbers,
	// cipher state) to its state right after the handshake.
	ResetNew Export = 0x1
	// DeleteOld deletes the old context: its handle answers every later call
	// with SEC_E_INVALID_HANDLE.
	DeleteOld Export = 0x2
	// ToKernel is documented by Microsoft as not supported.
	ToKernel Export = 0x4
)

var exportTable = newTable(exportNames)

// String returns the set flags by name, e.g. "DeleteOld|ResetNew".
func (f Export) String() string { return exportTable.format(uint32(f)) }

// Validate reports bits beyond ResetNew|DeleteOld|ToKernel.
func (f Export) Validate() error { return exportTable.validate("flags.Export", uint32(f)) }

// CredentialUse is the fCredentialUse argument of AcquireCredentialsHandle
// (SECPKG_CRED_*).
type CredentialUse uint32

// Credential uses.
const (
	Inbound  CredentialUse = 0x1 // SECPKG_CRED_INBOUND: the credential accepts contexts (server)
	Outbound CredentialUse = 0x2 // SECPKG_CRED_OUTBOUND: the credential initiates contexts (client)
	Both     CredentialUse = 0x3 // SECPKG_CRED_BOTH
)

// String returns "Inbound", "Outbound", "Both", or the value in hex.
func (u CredentialUse) String() string {
	if name, ok := credentialUseNames[u]; ok {
		return name
	}
	// The uses are values, not bits: Both is not printed as
	// "Inbound|Outbound". Anything else prints in hex as the flag types do.
	return table{}.format(uint32(u))
}

// Validate accepts exactly Inbound, Outbound and Both.
func (u CredentialUse) Validate() error {
	if _, ok := credentialUseNames[u]; ok {
		return nil
	}
	return &InvalidError{Type: "flags.CredentialUse", Value: uint32(u), Unknown: uint32(u) &^ uint32(Both)}
}
