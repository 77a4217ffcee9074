package pac

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SID is a Windows security identifier (MS-DTYP 2.4.2).
type SID struct {
	Revision       uint8
	Authority      [6]byte // big-endian
	SubAuthorities []uint32
}

// ParseSID reads a SID in its string form, S-1-5-21-1-2-3.
func ParseSID(s string) (*SID, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" || len(parts) > 3+15 {
		return nil, fmt.Errorf("pac: %q is not a SID", s)
	}
	rev, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil {
		return nil, fmt.Errorf("pac: %q is not a SID: %w", s, err)
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		return nil, fmt.Errorf("pac: %q is not a SID: %w", s, err)
	}
	sid := &SID{Revision: uint8(rev)}
	var a [8]byte
	binary.BigEndian.PutUint64(a[:], auth)
	copy(sid.Authority[:], a[2:])
	for _, p := range parts[3:] {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("pac: %q is not a SID: %w", s, err)
		}
		sid.SubAuthorities = append(sid.SubAuthorities, uint32(v))
	}
	return sid, nil
}

// MustParseSID is ParseSID for constants; it panics on a malformed SID.
func MustParseSID(s string) *SID {
	sid, err := ParseSID(s)
	if err != nil {
		panic(err)
	}
	return sid
}

// String writes the SID as S-1-5-21-1-2-3.
func (s *SID) String() string {
	if s == nil {
		return "<nil>"
	}
	var a [8]byte
	copy(a[2:], s.Authority[:])
	// strconv rather than fmt: an acceptor formats every group SID of
	// every PAC it accepts.
	b := make([]byte, 0, 16+11*len(s.SubAuthorities))
	b = append(b, "S-"...)
	b = strconv.AppendUint(b, uint64(s.Revision), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, binary.BigEndian.Uint64(a[:]), 10)
	for _, v := range s.SubAuthorities {
		b = append(b, '-')
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return string(b)
}

// Child returns the SID of the account rid in the domain s.
func (s *SID) Child(rid uint32) *SID {
	c := &SID{Revision: s.Revision, Authority: s.Authority}
	c.SubAuthorities = append(append(c.SubAuthorities, s.SubAuthorities...), rid)
	return c
}

// Equal reports whether s and o are the same SID (or both nil).
func (s *SID) Equal(o *SID) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.String() == o.String()
}

// marshalBinary is the SID's self-relative binary form (MS-DTYP 2.4.2.2),
// as UPN_DNS_INFO carries it.
func (s *SID) marshalBinary() []byte {
	b := []byte{s.Revision, byte(len(s.SubAuthorities))}
	b = append(b, s.Authority[:]...)
	for _, v := range s.SubAuthorities {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func parseBinarySID(b []byte) (*SID, error) {
	if len(b) < 8 || len(b) != 8+4*int(b[1]) {
		return nil, fmt.Errorf("%w: a SID of %d bytes", ErrMalformed, len(b))
	}
	s := &SID{Revision: b[0], SubAuthorities: make([]uint32, b[1])}
	copy(s.Authority[:], b[2:8])
	for i := range s.SubAuthorities {
		s.SubAuthorities[i] = binary.LittleEndian.Uint32(b[8+4*i:])
	}
	return s, nil
}

// FileTime is a Windows FILETIME: 100-nanosecond intervals since 1601.
type FileTime uint64

// Special FILETIME values of KERB_VALIDATION_INFO (MS-PAC 2.5).
const (
	// Never is the "infinite" time of LogoffTime and KickOffTime.
	Never FileTime = 0x7fffffffffffffff
)

// epochDelta is the number of 100 ns intervals between 1601 and 1970.
const epochDelta = 116444736000000000

// NewFileTime converts t, truncated to 100 ns; times before 1601 give
// 0, and times past the year 30828 Never.
func NewFileTime(t time.Time) FileTime {
	if t.IsZero() {
		return 0
	}
	const maxSec = (int64(Never) - epochDelta) / 1e7
	sec := t.Unix()
	switch {
	case sec < -epochDelta/1e7:
		return 0
	case sec >= maxSec:
		return Never
	}
	return FileTime(sec*1e7 + int64(t.Nanosecond())/100 + epochDelta)
}

// Time converts the FILETIME to a time.Time (UTC). 0 and Never give the
// zero time.Time.
func (f FileTime) Time() time.Time {
	if f == 0 || f >= Never {
		return time.Time{}
	}
	v := int64(f) - epochDelta
	return time.Unix(v/1e7, v%1e7*100).UTC()
}
