package pac

import "fmt"

// GroupMembership is a group's RID in the domain and its attributes.
type GroupMembership struct {
	RID        uint32
	Attributes uint32
}

// SIDAndAttributes is a SID with its attributes.
type SIDAndAttributes struct {
	SID        *SID
	Attributes uint32
}

// Group attributes (MS-PAC 2.2.1).
const (
	SEGroupMandatory        = 0x00000001
	SEGroupEnabledByDefault = 0x00000002
	SEGroupEnabled          = 0x00000004
	SEGroupResource         = 0x20000000
	// GroupDefault is what a KDC gives an ordinary group.
	GroupDefault = SEGroupMandatory | SEGroupEnabledByDefault | SEGroupEnabled
)

// UserFlags bits (MS-PAC 2.5).
const (
	UserFlagExtraSIDs      = 0x00000020 // ExtraSIDs is filled in
	UserFlagResourceGroups = 0x00000200 // ResourceGroupIDs is filled in
)

// LogonInfo is KERB_VALIDATION_INFO (MS-PAC 2.5), the user's logon and
// authorization information.
type LogonInfo struct {
	LogonTime, LogoffTime, KickOffTime                     FileTime
	PasswordLastSet, PasswordCanChange, PasswordMustChange FileTime
	EffectiveName, FullName, LogonScript, ProfilePath      string
	HomeDirectory, HomeDirectoryDrive                      string
	LogonCount, BadPasswordCount                           uint16
	UserID, PrimaryGroupID                                 uint32
	GroupIDs                                               []GroupMembership
	UserFlags                                              uint32
	UserSessionKey                                         [16]byte
	LogonServer, LogonDomainName                           string
	LogonDomainID                                          *SID
	Reserved1                                              [2]uint32
	UserAccountControl, SubAuthStatus                      uint32
	LastSuccessfulILogon, LastFailedILogon                 FileTime
	FailedILogonCount, Reserved3                           uint32
	ExtraSIDs                                              []SIDAndAttributes
	ResourceGroupDomainSID                                 *SID
	ResourceGroupIDs                                       []GroupMembership
}

// UserSID is the user's SID: its RID in the logon domain.
func (li *LogonInfo) UserSID() *SID {
	if li.LogonDomainID == nil {
		return nil
	}
	return li.LogonDomainID.Child(li.UserID)
}

// GroupSIDs lists the SIDs of the user's groups: its domain groups, the
// extra SIDs, and the resource groups, as Windows builds a token from
// them.
func (li *LogonInfo) GroupSIDs() []*SID {
	var out []*SID
	if li.LogonDomainID != nil {
		for _, g := range li.GroupIDs {
			out = append(out, li.LogonDomainID.Child(g.RID))
		}
	}
	for _, e := range li.ExtraSIDs {
		if e.SID != nil {
			out = append(out, e.SID)
		}
	}
	if li.ResourceGroupDomainSID != nil {
		for _, g := range li.ResourceGroupIDs {
			out = append(out, li.ResourceGroupDomainSID.Child(g.RID))
		}
	}
	return out
}

// ndrHeaderSize is the common and the private header of a type
// serialization stream (MS-RPCE 2.2.6.1, 2.2.6.2).
const ndrHeaderSize = 16

// ParseLogonInfo decodes a KERB_VALIDATION_INFO buffer.
func ParseLogonInfo(b []byte) (*LogonInfo, error) {
	r := &ndrReader{b: b}
	hdr := r.bytes(8)
	if r.err == nil && (hdr[0] != 1 || hdr[1] != 0x10 || hdr[2] != 8 || hdr[3] != 0) {
		return nil, fmt.Errorf("%w: not a little-endian NDR type serialization version 1 (header % x)", ErrMalformed, hdr)
	}
	objLen := r.u32()
	r.u32() // filler
	if r.err == nil && int(objLen) > len(b)-ndrHeaderSize {
		return nil, fmt.Errorf("%w: object buffer length %d, %d bytes follow", ErrMalformed, objLen, len(b)-ndrHeaderSize)
	}
	if r.u32() == 0 && r.err == nil {
		return nil, fmt.Errorf("%w: null KERB_VALIDATION_INFO pointer", ErrMalformed)
	}
	li := &LogonInfo{}
	li.LogonTime = r.filetime()
	li.LogoffTime = r.filetime()
	li.KickOffTime = r.filetime()
	li.PasswordLastSet = r.filetime()
	li.PasswordCanChange = r.filetime()
	li.PasswordMustChange = r.filetime()
	var strs [6]unicodeString
	for i := range strs {
		strs[i] = r.unicodeString()
	}
	li.LogonCount = r.u16()
	li.BadPasswordCount = r.u16()
	li.UserID = r.u32()
	li.PrimaryGroupID = r.u32()
	groupCount := r.u32()
	groupPtr := r.u32()
	li.UserFlags = r.u32()
	copy(li.UserSessionKey[:], r.bytes(16))
	logonServer := r.unicodeString()
	logonDomain := r.unicodeString()
	domainIDPtr := r.u32()
	li.Reserved1[0] = r.u32()
	li.Reserved1[1] = r.u32()
	li.UserAccountControl = r.u32()
	li.SubAuthStatus = r.u32()
	li.LastSuccessfulILogon = r.filetime()
	li.LastFailedILogon = r.filetime()
	li.FailedILogonCount = r.u32()
	li.Reserved3 = r.u32()
	sidCount := r.u32()
	extraPtr := r.u32()
	resDomainPtr := r.u32()
	resCount := r.u32()
	resPtr := r.u32()

	// The referents, in the order of their pointers.
	names := []*string{&li.EffectiveName, &li.FullName, &li.LogonScript, &li.ProfilePath, &li.HomeDirectory, &li.HomeDirectoryDrive}
	labels := []string{"EffectiveName", "FullName", "LogonScript", "ProfilePath", "HomeDirectory", "HomeDirectoryDrive"}
	for i, s := range strs {
		*names[i] = r.deferredString(s, labels[i])
		r.align(4)
	}
	if groupPtr != 0 {
		li.GroupIDs = r.groups(groupCount, "GroupIds")
	} else if groupCount != 0 {
		r.fail("GroupCount %d with no array", groupCount)
	}
	li.LogonServer = r.deferredString(logonServer, "LogonServer")
	r.align(4)
	li.LogonDomainName = r.deferredString(logonDomain, "LogonDomainName")
	r.align(4)
	if domainIDPtr != 0 {
		li.LogonDomainID = r.sid("LogonDomainId")
	}
	if extraPtr != 0 {
		n := r.count(8)
		if r.err == nil && uint32(n) != sidCount {
			r.fail("ExtraSids: %d elements, SidCount %d", n, sidCount)
		}
		if r.err == nil && n > 0 { // an empty array stays nil, as Marshal writes it
			li.ExtraSIDs = make([]SIDAndAttributes, n)
			ptrs := make([]uint32, n)
			for i := range li.ExtraSIDs {
				ptrs[i] = r.u32()
				li.ExtraSIDs[i].Attributes = r.u32()
			}
			for i, p := range ptrs {
				if p != 0 {
					li.ExtraSIDs[i].SID = r.sid("ExtraSids")
				}
			}
		}
	} else if sidCount != 0 {
		r.fail("SidCount %d with no array", sidCount)
	}
	if resDomainPtr != 0 {
		li.ResourceGroupDomainSID = r.sid("ResourceGroupDomainSid")
	}
	if resPtr != 0 {
		li.ResourceGroupIDs = r.groups(resCount, "ResourceGroupIds")
	} else if resCount != 0 {
		r.fail("ResourceGroupCount %d with no array", resCount)
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.pos > ndrHeaderSize+int(objLen) {
		return nil, fmt.Errorf("%w: KERB_VALIDATION_INFO runs %d bytes past its object buffer", ErrMalformed, r.pos-ndrHeaderSize-int(objLen))
	}
	return li, nil
}

// Marshal encodes the structure as a PAC logon information buffer: the
// NDR type serialization headers, the referent of the top-level pointer
// (0x00020000), the structure, and its pointers' referents, padded to a
// multiple of 8 bytes.
func (li *LogonInfo) Marshal() []byte {
	w := &ndrWriter{b: make([]byte, 0, 512), referID: 0x00020000 - 4}
	w.b = append(w.b, 0x01, 0x10, 0x08, 0x00, 0xcc, 0xcc, 0xcc, 0xcc) // common header
	w.b = append(w.b, 0, 0, 0, 0, 0, 0, 0, 0)                         // private header, filled in below
	w.ptr(true)
	for _, t := range []FileTime{li.LogonTime, li.LogoffTime, li.KickOffTime, li.PasswordLastSet, li.PasswordCanChange, li.PasswordMustChange} {
		w.filetime(t)
	}
	for _, s := range []string{li.EffectiveName, li.FullName, li.LogonScript, li.ProfilePath, li.HomeDirectory, li.HomeDirectoryDrive} {
		w.unicodeString(s)
	}
	w.u16(li.LogonCount)
	w.u16(li.BadPasswordCount)
	w.u32(li.UserID)
	w.u32(li.PrimaryGroupID)
	w.u32(uint32(len(li.GroupIDs)))
	w.ptr(len(li.GroupIDs) > 0)
	w.u32(li.UserFlags)
	w.b = append(w.b, li.UserSessionKey[:]...)
	// Windows keeps room for a terminating NUL in these two (MS-PAC
	// section 3 shows MaximumLength two bytes above Length).
	for _, s := range []string{li.LogonServer, li.LogonDomainName} {
		n := uint16(2 * len(utf16le(s)))
		w.u16(n)
		w.u16(n + 2)
		w.ptr(true)
	}
	w.ptr(li.LogonDomainID != nil)
	w.u32(li.Reserved1[0])
	w.u32(li.Reserved1[1])
	w.u32(li.UserAccountControl)
	w.u32(li.SubAuthStatus)
	w.filetime(li.LastSuccessfulILogon)
	w.filetime(li.LastFailedILogon)
	w.u32(li.FailedILogonCount)
	w.u32(li.Reserved3)
	w.u32(uint32(len(li.ExtraSIDs)))
	w.ptr(len(li.ExtraSIDs) > 0)
	w.ptr(li.ResourceGroupDomainSID != nil)
	w.u32(uint32(len(li.ResourceGroupIDs)))
	w.ptr(len(li.ResourceGroupIDs) > 0)

	for _, s := range []string{li.EffectiveName, li.FullName, li.LogonScript, li.ProfilePath, li.HomeDirectory, li.HomeDirectoryDrive} {
		w.deferredString(s)
	}
	if len(li.GroupIDs) > 0 {
		w.groups(li.GroupIDs)
	}
	for _, s := range []string{li.LogonServer, li.LogonDomainName} {
		u := utf16le(s)
		w.u32(uint32(len(u) + 1))
		w.u32(0)
		w.u32(uint32(len(u)))
		for _, c := range u {
			w.b = append(w.b, byte(c), byte(c>>8))
		}
	}
	if li.LogonDomainID != nil {
		w.sid(li.LogonDomainID)
	}
	if len(li.ExtraSIDs) > 0 {
		w.u32(uint32(len(li.ExtraSIDs)))
		for _, e := range li.ExtraSIDs {
			w.ptr(e.SID != nil)
			w.u32(e.Attributes)
		}
		for _, e := range li.ExtraSIDs {
			if e.SID != nil {
				w.sid(e.SID)
			}
		}
	}
	if li.ResourceGroupDomainSID != nil {
		w.sid(li.ResourceGroupDomainSID)
	}
	if len(li.ResourceGroupIDs) > 0 {
		w.groups(li.ResourceGroupIDs)
	}
	w.align(8)
	objLen := uint32(len(w.b) - ndrHeaderSize)
	w.b[8], w.b[9], w.b[10], w.b[11] = byte(objLen), byte(objLen>>8), byte(objLen>>16), byte(objLen>>24)
	return w.b
}
