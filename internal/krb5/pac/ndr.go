package pac

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// ndrReader reads the little-endian NDR of a type serialization stream.
// Alignment is relative to the start of the stream, which is where the
// common header starts. The first error stops all reading.
type ndrReader struct {
	b   []byte
	pos int
	err error
}

func (r *ndrReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

func (r *ndrReader) align(n int) {
	if r.err != nil {
		return
	}
	if p := (r.pos + n - 1) / n * n; p <= len(r.b) {
		r.pos = p
	} else {
		r.fail("truncated at %d", r.pos)
	}
}

func (r *ndrReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.pos < n {
		r.fail("truncated at %d, %d bytes wanted", r.pos, n)
		return nil
	}
	v := r.b[r.pos : r.pos+n]
	r.pos += n
	return v
}

func (r *ndrReader) u8() uint8 {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *ndrReader) u16() uint16 {
	r.align(2)
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *ndrReader) u32() uint32 {
	r.align(4)
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// filetime reads a FILETIME: two 32-bit halves, low first, aligned to 4
// (it is a structure of two DWORDs, not a hyper).
func (r *ndrReader) filetime() FileTime {
	lo := r.u32()
	hi := r.u32()
	return FileTime(uint64(hi)<<32 | uint64(lo))
}

// count reads a conformance or variance count of elements of size bytes
// and checks that so many could follow, so that a forged count cannot
// make the reader allocate more than the input holds.
func (r *ndrReader) count(size int) int {
	n := r.u32()
	if r.err == nil && uint64(n)*uint64(size) > uint64(len(r.b)-r.pos) {
		r.fail("count %d at %d exceeds the data", n, r.pos)
		return 0
	}
	return int(n)
}

// unicodeString is an RPC_UNICODE_STRING's fixed part: lengths in bytes
// and the pointer to its characters.
type unicodeString struct {
	length, maxLength uint16
	ptr               uint32
}

func (r *ndrReader) unicodeString() unicodeString {
	return unicodeString{length: r.u16(), maxLength: r.u16(), ptr: r.u32()}
}

// deferredString reads the characters of s: a conformant varying array
// of WCHAR (maximum count, offset, actual count, characters).
func (r *ndrReader) deferredString(s unicodeString, name string) string {
	if s.ptr == 0 {
		if s.length != 0 {
			r.fail("%s has %d bytes and no buffer", name, s.length)
		}
		return ""
	}
	max := r.count(0)
	off := r.u32()
	n := r.count(2)
	if r.err != nil {
		return ""
	}
	if off != 0 || n > max || 2*n != int(s.length) || 2*max != int(s.maxLength) || s.length > s.maxLength {
		r.fail("%s: lengths %d/%d do not match the array's %d/%d at offset %d", name, s.length, s.maxLength, n, max, off)
		return ""
	}
	raw := r.bytes(2 * n)
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(raw[2*i:])
	}
	return string(utf16.Decode(u))
}

// sid reads an RPC_SID: the conformance count of its sub-authorities,
// then revision, count, authority and the sub-authorities.
func (r *ndrReader) sid(name string) *SID {
	n := r.count(4)
	rev := r.u8()
	cnt := r.u8()
	auth := r.bytes(6)
	if r.err != nil {
		return nil
	}
	if int(cnt) != n {
		r.fail("%s: %d sub-authorities, conformance count %d", name, cnt, n)
		return nil
	}
	s := &SID{Revision: rev, SubAuthorities: make([]uint32, n)}
	copy(s.Authority[:], auth)
	for i := range s.SubAuthorities {
		s.SubAuthorities[i] = r.u32()
	}
	return s
}

func (r *ndrReader) groups(want uint32, name string) []GroupMembership {
	n := r.count(8)
	if r.err == nil && uint32(n) != want {
		r.fail("%s: %d elements, the count says %d", name, n, want)
	}
	// An empty array is nil, as Marshal writes it: a null pointer.
	if r.err != nil || n == 0 {
		return nil
	}
	g := make([]GroupMembership, n)
	for i := range g {
		g[i] = GroupMembership{RID: r.u32(), Attributes: r.u32()}
	}
	return g
}

// ndrWriter writes the little-endian NDR of a type serialization stream,
// numbering the referents of the pointers it writes.
type ndrWriter struct {
	b       []byte
	referID uint32
}

func (w *ndrWriter) align(n int) {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *ndrWriter) u8(v uint8) { w.b = append(w.b, v) }

func (w *ndrWriter) u16(v uint16) {
	w.align(2)
	w.b = binary.LittleEndian.AppendUint16(w.b, v)
}

func (w *ndrWriter) u32(v uint32) {
	w.align(4)
	w.b = binary.LittleEndian.AppendUint32(w.b, v)
}

func (w *ndrWriter) filetime(t FileTime) {
	w.u32(uint32(t))
	w.u32(uint32(t >> 32))
}

// ptr writes a pointer: the next referent ID, or 0 for a null one.
func (w *ndrWriter) ptr(present bool) {
	if !present {
		w.u32(0)
		return
	}
	w.referID += 4
	w.u32(w.referID)
}

func utf16le(s string) []uint16 { return utf16.Encode([]rune(s)) }

// unicodeString writes an RPC_UNICODE_STRING's fixed part. Like Windows,
// it gives every string a buffer, so an empty one is a zero-length array.
func (w *ndrWriter) unicodeString(s string) {
	n := uint16(2 * len(utf16le(s)))
	w.u16(n)
	w.u16(n)
	w.ptr(true)
}

func (w *ndrWriter) deferredString(s string) {
	u := utf16le(s)
	w.u32(uint32(len(u)))
	w.u32(0)
	w.u32(uint32(len(u)))
	for _, c := range u {
		w.b = binary.LittleEndian.AppendUint16(w.b, c)
	}
}

func (w *ndrWriter) sid(s *SID) {
	w.u32(uint32(len(s.SubAuthorities)))
	w.u8(s.Revision)
	w.u8(uint8(len(s.SubAuthorities)))
	w.b = append(w.b, s.Authority[:]...)
	for _, a := range s.SubAuthorities {
		w.u32(a)
	}
}

func (w *ndrWriter) groups(g []GroupMembership) {
	w.u32(uint32(len(g)))
	for _, m := range g {
		w.u32(m.RID)
		w.u32(m.Attributes)
	}
}
