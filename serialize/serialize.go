// Package serialize is the fake backend's packed-context format: the blob that
// ExportSecurityContext hands out and ImportSecurityContext takes back.
//
// A blob is versioned, sealed with the exporting machine's key (AES-256-GCM)
// and bound to that machine's identity. Its header is readable without the
// key (ParseHeader) so that an importer can tell "not a packed context",
// "a newer format", "another machine" and "tampered with" apart before and
// after decryption.
//
// # Blob layout (all integers little-endian)
//
//	offset  size  field
//	0       8     magic "GOSSPIPK"
//	8       2     format version (uint16): 1 or 2
//	10      1     p = length of the package name, 1..64
//	11      p     package name
//	.       1     m = length of the machine identity, 1..64
//	.       m     machine identity
//	.       12    nonce: unique per blob under the key (random, or a
//	              sealer's counter); also the blob's unique ID
//	.       4     body length (uint32): ciphertext plus 16-byte GCM tag
//	.       4     CRC-32C (Castagnoli) of every header byte before it
//	.       body  AES-256-GCM(machine key, nonce, encoded State,
//	              additional data = the whole header, CRC included)
//
// The blob ends exactly where the body length says; shorter is ErrTruncated,
// longer is ErrTampered. The CRC is not a security measure (the AEAD
// authenticates the header); it lets a corrupted header be reported as
// ErrTampered instead of being read as another machine's or as a truncated
// blob. Magic and version are checked before anything else, so a later format
// may change everything after the version field.
//
// # Encoded State (the plaintext inside the body)
//
//	offset  size  field
//	0       1     bits: 0 Server, 1 Established, 2 Reset, 3 has expiry; others 0
//	1       4     Flags (uint32)
//	5       8     Expiry, seconds since the Unix epoch (int64; 0 without expiry)
//	13      4     Expiry, nanoseconds within the second (uint32, < 1e9)
//	17      2×6   lengths (uint16) of ClientName, ServerName, Authority,
//	              User, Domain, SID
//	29      2     g = number of Groups (uint16)
//	31      2×g   length (uint16) of each group
//	.       sum   the bytes of those strings, concatenated in that order
//	.       1     PackageVersion (format version 2 and later; 1..255)
//	.       8     ExportedAt, nanoseconds since the Unix epoch (int64 > 0;
//	              format version 3 and later)
//	.       4     length of PackageState (uint32)
//	.       n     PackageState
//
// The package name is not repeated in the body: Open takes it from the
// authenticated header. Strings come first and PackageState last so that Open
// can decode all strings with one allocation and hand PackageState out
// without copying it.
//
// # Versions
//
// A packed context has two versions. The format version above is the
// envelope's and belongs to this package. PackageVersion is the layout of
// PackageState and belongs to the security package, which numbers its
// layouts from 1 and may read old ones as long as it likes.
//
// Format version 2 differs from version 1 only by the PackageVersion byte.
// Version 1 had none: a version 1 blob decodes with PackageVersion 0, and its
// package has to tell its layouts apart by other means (the fake's NTLM state
// did so by its length). Seal writes the oldest format that holds the State:
// version 1 for PackageVersion 0, so such blobs stay byte for byte as they
// were, and version 2 otherwise.
//
// Format version 3 adds ExportedAt: the real time (never an emulated
// machine's clock) at which the blob was sealed. The importer's "import
// only once" record keeps a blob's nonce for a fixed real-time window after
// ExportedAt and refuses blobs older than that, so no clock setting can
// make a blob importable twice. Seal writes version 3 whenever ExportedAt
// is set.
package serialize

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"time"
)

// Format versions.
const (
	// Version1 is the first packed-context format, described in the package doc.
	Version1 = 1
	// Version2 adds the PackageVersion byte.
	Version2 = 2
	// Version3 adds ExportedAt.
	Version3 = 3
	// CurrentVersion is the newest format Seal writes and Open reads.
	CurrentVersion = Version3
)

// Limits.
const (
	// MaxBlobSize is the largest blob Seal writes and Open accepts.
	MaxBlobSize = 64 << 10
	// MaxNameLen bounds the package name and the machine identity in the header.
	MaxNameLen = 64
	// MaxStringLen bounds each string of a State.
	MaxStringLen = 4096
	// MaxGroups bounds the number of groups of a State.
	MaxGroups = 1024
	// NonceSize is the size of the nonce, which is also the blob's unique ID.
	NonceSize = 12
	// KeySize is the size of a machine key (AES-256).
	KeySize = 32
)

// Magic starts every packed context.
const Magic = "GOSSPIPK"

// Errors Open and ParseHeader return, always wrapped with a detail;
// test with errors.Is.
var (
	// ErrTruncated: the blob is empty or shorter than its header says.
	ErrTruncated = errors.New("serialize: packed context truncated")
	// ErrNotPacked: the blob does not start with the magic; it is not a
	// gosspi packed context.
	ErrNotPacked = errors.New("serialize: not a gosspi packed context")
	// ErrVersion: the blob's format version is newer than (or unknown to)
	// this build.
	ErrVersion = errors.New("serialize: unsupported packed context version")
	// ErrForeignMachine: the blob was sealed on another machine.
	ErrForeignMachine = errors.New("serialize: packed context from another machine")
	// ErrTampered: the header is corrupt, the blob has trailing bytes, the
	// AEAD refused it (altered, or sealed with another key), or the
	// decrypted state does not decode.
	ErrTampered = errors.New("serialize: packed context tampered with")
	// ErrTooLarge: the blob (or the blob a State would make) is over MaxBlobSize.
	ErrTooLarge = errors.New("serialize: packed context too large")
)

const (
	tagSize     = 16
	fixedHeader = len(Magic) + 2 + 1 + 1 + NonceSize + 4 + 4 // without the two names
	maxHeader   = fixedHeader + 2*MaxNameLen
	versionOff  = len(Magic)
	pkgLenOff   = versionOff + 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the unencrypted, authenticated part of a blob.
type Header struct {
	Version   uint16 // format version
	Package   string // security package name, such as "NTLM"
	MachineID string // identity of the machine that sealed the blob
	// Nonce is unique per blob under the machine key (random, or a
	// counter of the sealer's) and doubles as its unique ID, for
	// "import only once".
	Nonce [NonceSize]byte
}

// rawHeader is a parsed header that still points into the blob, so that Open
// can check it without allocating.
type rawHeader struct {
	version uint16
	pkg     []byte
	machine []byte
	nonce   []byte
	size    int // header length, the GCM additional data
	body    []byte
}

// ParseHeader reads and checks a blob's header without the key: size, magic,
// version, structure and checksum, and that the body is as long as the header
// says. It does not tell whether the blob was tampered with after sealing;
// only Open can.
func ParseHeader(blob []byte) (Header, error) {
	h, err := parseHeader(blob)
	if err != nil {
		return Header{}, err
	}
	out := Header{Version: h.version, Package: string(h.pkg), MachineID: string(h.machine)}
	copy(out.Nonce[:], h.nonce)
	return out, nil
}

func parseHeader(blob []byte) (rawHeader, error) {
	var h rawHeader
	switch {
	case len(blob) == 0:
		return h, fmt.Errorf("%w: empty blob", ErrTruncated)
	case len(blob) > MaxBlobSize:
		return h, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(blob), MaxBlobSize)
	}
	if len(blob) < len(Magic) {
		// A prefix of the magic is a cut-off blob; anything else is foreign.
		if string(blob) == Magic[:len(blob)] {
			return h, fmt.Errorf("%w: %d bytes, shorter than the magic", ErrTruncated, len(blob))
		}
		return h, fmt.Errorf("%w: wrong magic", ErrNotPacked)
	}
	if string(blob[:len(Magic)]) != Magic {
		return h, fmt.Errorf("%w: wrong magic", ErrNotPacked)
	}
	if len(blob) < pkgLenOff {
		return h, fmt.Errorf("%w: %d bytes, the version field is cut off", ErrTruncated, len(blob))
	}
	h.version = binary.LittleEndian.Uint16(blob[versionOff:])
	if h.version < Version1 || h.version > CurrentVersion {
		return h, fmt.Errorf("%w: version %d, this build reads up to %d", ErrVersion, h.version, CurrentVersion)
	}

	off := pkgLenOff
	var err error
	if h.pkg, off, err = headerName(blob, off, "package name"); err != nil {
		return h, err
	}
	if h.machine, off, err = headerName(blob, off, "machine identity"); err != nil {
		return h, err
	}
	if len(blob) < off+NonceSize+8 {
		return h, fmt.Errorf("%w: header needs %d bytes, blob has %d", ErrTruncated, off+NonceSize+8, len(blob))
	}
	h.nonce = blob[off : off+NonceSize : off+NonceSize]
	off += NonceSize
	bodyLen := binary.LittleEndian.Uint32(blob[off:])
	off += 4
	sum := binary.LittleEndian.Uint32(blob[off:])
	if got := crc32.Checksum(blob[:off], castagnoli); got != sum {
		return h, fmt.Errorf("%w: header checksum %#08x, want %#08x", ErrTampered, got, sum)
	}
	off += 4
	h.size = off

	rest := len(blob) - off
	switch {
	case bodyLen < tagSize || bodyLen > MaxBlobSize:
		return h, fmt.Errorf("%w: body length %d out of range", ErrTampered, bodyLen)
	case uint64(rest) < uint64(bodyLen):
		return h, fmt.Errorf("%w: header says %d body bytes, blob has %d", ErrTruncated, bodyLen, rest)
	case uint64(rest) > uint64(bodyLen):
		return h, fmt.Errorf("%w: %d bytes after the end of the body", ErrTampered, uint64(rest)-uint64(bodyLen))
	}
	h.body = blob[off:]
	return h, nil
}

// headerName reads a uint8-length-prefixed name at off.
func headerName(blob []byte, off int, what string) ([]byte, int, error) {
	if len(blob) <= off {
		return nil, 0, fmt.Errorf("%w: %d bytes, the %s length is cut off", ErrTruncated, len(blob), what)
	}
	n := int(blob[off])
	off++
	if n == 0 || n > MaxNameLen {
		return nil, 0, fmt.Errorf("%w: %s length %d out of range 1..%d", ErrTampered, what, n, MaxNameLen)
	}
	if len(blob) < off+n {
		return nil, 0, fmt.Errorf("%w: %d bytes, the %s is cut off", ErrTruncated, len(blob), what)
	}
	return blob[off : off+n : off+n], off + n, nil
}

// Sealer seals and opens the packed contexts of one machine. It holds the
// machine's AEAD, set up once, and is safe for concurrent use.
type Sealer struct {
	machineID string
	aead      cipher.AEAD
}

// NewSealer returns a Sealer for the machine with the given identity
// (1..MaxNameLen bytes) and 32-byte key. The key is not retained.
func NewSealer(machineID string, key []byte) (*Sealer, error) {
	if len(machineID) == 0 || len(machineID) > MaxNameLen {
		return nil, fmt.Errorf("serialize: machine identity length %d out of range 1..%d", len(machineID), MaxNameLen)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("serialize: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("serialize: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("serialize: %w", err)
	}
	return &Sealer{machineID: machineID, aead: aead}, nil
}

// MachineID returns the identity of the Sealer's machine.
func (s *Sealer) MachineID() string { return s.machineID }

// Seal encodes st and seals it into a new blob. The nonce is read from rand;
// nil means crypto/rand. rand must never give a nonce twice under one key:
// a counter never does (an in-memory machine's export sequence); a fixed
// reader makes reproducible blobs, for tests only.
// The plaintext is encrypted in place in the returned buffer, so no copy of
// it is left behind.
func (s *Sealer) Seal(st *State, rand io.Reader) ([]byte, error) {
	return s.AppendSeal(nil, st, rand)
}

// AppendSeal is Seal appending the blob to dst, for a caller that reuses
// a buffer for the blobs it makes. It returns the extended slice, or nil
// and the error as Seal does; dst's bytes up to its length are left as
// they were either way.
func (s *Sealer) AppendSeal(dst []byte, st *State, rand io.Reader) ([]byte, error) {
	if st == nil {
		return nil, errors.New("serialize: nil State")
	}
	if len(st.Package) == 0 || len(st.Package) > MaxNameLen {
		return nil, fmt.Errorf("serialize: package name length %d out of range 1..%d", len(st.Package), MaxNameLen)
	}
	version := uint16(Version1)
	switch {
	case !st.ExportedAt.IsZero():
		if st.PackageVersion == 0 || st.ExportedAt.UnixNano() <= 0 {
			return nil, errors.New("serialize: ExportedAt needs a PackageVersion and a time after 1970")
		}
		version = Version3
	case st.PackageVersion != 0:
		version = Version2
	}
	plainLen, err := st.encodedLen(version)
	if err != nil {
		return nil, err
	}
	hdrLen := fixedHeader + len(st.Package) + len(s.machineID)
	total := hdrLen + plainLen + tagSize
	if total > MaxBlobSize {
		return nil, fmt.Errorf("%w: the state needs a %d-byte blob, the limit is %d", ErrTooLarge, total, MaxBlobSize)
	}
	if rand == nil {
		rand = cryptoRand
	}

	start := len(dst)
	if cap(dst)-start < total {
		// Not slices.Grow: under the race detector its make is a second
		// allocation.
		grown := make([]byte, start, start+total)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+total]
	out := dst[start:]
	copy(out, Magic)
	binary.LittleEndian.PutUint16(out[versionOff:], version)
	off := pkgLenOff
	out[off] = byte(len(st.Package))
	off += 1 + copy(out[off+1:], st.Package)
	out[off] = byte(len(s.machineID))
	off += 1 + copy(out[off+1:], s.machineID)
	nonce := out[off : off+NonceSize]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("serialize: reading the nonce: %w", err)
	}
	off += NonceSize
	binary.LittleEndian.PutUint32(out[off:], uint32(plainLen+tagSize))
	off += 4
	binary.LittleEndian.PutUint32(out[off:], crc32.Checksum(out[:off], castagnoli))
	off += 4

	plain := out[off : off+plainLen]
	st.encode(plain, version)
	s.aead.Seal(plain[:0], nonce, plain, out[:off])
	return dst, nil
}

// cryptoRand is crypto/rand's Reader, named so that Seal's parameter can
// shadow the package.
var cryptoRand = rand.Reader

// Open checks and decrypts a blob sealed on this machine: size (ErrTruncated,
// ErrTooLarge), magic (ErrNotPacked), version (ErrVersion), header
// (ErrTampered), machine identity (ErrForeignMachine), then the AEAD and the
// encoded state (ErrTampered). It does not modify blob, and the returned
// State shares no memory with it.
func (s *Sealer) Open(blob []byte) (*State, Header, error) {
	st := &State{}
	hdr, err := s.OpenInto(st, blob)
	if err != nil {
		return nil, Header{}, err
	}
	return st, hdr, nil
}

// OpenInto is Open decoding into *st, which it overwrites, so a caller
// that keeps only parts of the state need not allocate a State. On error
// *st is left zero.
func (s *Sealer) OpenInto(st *State, blob []byte) (Header, error) {
	return s.OpenIntoBuffer(st, blob, nil)
}

// OpenIntoBuffer is OpenInto decrypting into buf (from its start, up to
// its capacity) when it is large enough, and into a new allocation
// otherwise. st.PackageState then aliases buf, so buf must not be reused
// before st is done with: a caller that keeps buf for the next import
// (freshly allocated memory is cold in cache, and writing a kilobyte of
// it costs an import about as much as decrypting it) wipes st first.
// Whatever the outcome, buf holds no plaintext but PackageState
// afterwards.
func (s *Sealer) OpenIntoBuffer(st *State, blob, buf []byte) (Header, error) {
	*st = State{}
	h, err := parseHeader(blob)
	if err != nil {
		return Header{}, err
	}
	if string(h.machine) != s.machineID {
		return Header{}, fmt.Errorf("%w: sealed on %q, this is %q", ErrForeignMachine, h.machine, s.machineID)
	}
	// One buffer: GCM decrypts straight into it.
	if cap(buf) < len(h.body)-tagSize {
		buf = make([]byte, 0, len(h.body)-tagSize)
	}
	plain, err := s.aead.Open(buf[:0], h.nonce, h.body, blob[:h.size])
	if err != nil {
		return Header{}, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	if err := st.decode(plain, h.version, h.pkg); err != nil {
		clear(plain)
		*st = State{}
		return Header{}, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	hdr := Header{Version: h.version, Package: st.Package, MachineID: s.machineID}
	copy(hdr.Nonce[:], h.nonce)
	return hdr, nil
}

// State is what a packed context carries: the context's names, flags,
// lifetime, the authenticated client and the package's own state.
type State struct {
	// Package is the security package name; it travels in the header.
	Package     string
	Server      bool // an accepted (server) context, not an initiated one
	Established bool // the handshake is complete
	ClientName  string
	ServerName  string
	Authority   string
	// Flags are the negotiated context flags (ISC_RET_* or ASC_RET_*).
	Flags uint32
	// Expiry is when the context expires; the zero time round-trips as zero.
	// A decoded Expiry is in UTC.
	Expiry time.Time

	// The authenticated client, so an importing server context can hand out
	// the same access token.
	User   string
	Domain string
	SID    string
	// Groups are the client's group SIDs. An empty list decodes as nil.
	Groups []string

	// PackageState is opaque, package-specific state (keys, sequence
	// numbers, cipher positions). Empty decodes as nil. Zero it with Wipe.
	PackageState []byte
	// PackageVersion is the layout of PackageState, numbered by the
	// package from 1; 0 means unversioned, as in every format version 1
	// blob (see "Versions" in the package doc).
	PackageVersion uint8
	// Reset is true when the context was exported with RESET_NEW.
	Reset bool
	// ExportedAt is the real time the blob was sealed (format version 3);
	// zero in older blobs. A decoded ExportedAt is in UTC.
	ExportedAt time.Time
}

// Wipe zeros PackageState, which holds key material, and drops it.
func (st *State) Wipe() {
	if st == nil {
		return
	}
	clear(st.PackageState)
	st.PackageState = nil
}

const (
	bitServer = 1 << iota
	bitEstablished
	bitReset
	bitExpiry
	knownBits = bitServer | bitEstablished | bitReset | bitExpiry

	numStrings = 6 // ClientName, ServerName, Authority, User, Domain, SID
	stateFixed = 1 + 4 + 8 + 4 + 2*numStrings + 2
)

func (st *State) strings() [numStrings]string {
	return [numStrings]string{st.ClientName, st.ServerName, st.Authority, st.User, st.Domain, st.SID}
}

var fieldNames = [numStrings]string{"ClientName", "ServerName", "Authority", "User", "Domain", "SID"}

// encodedLen checks the State's bounds and returns the length of its
// encoding in the given format version.
func (st *State) encodedLen(version uint16) (int, error) {
	n := stateFixed + 4
	if version >= Version2 {
		n++
	}
	if version >= Version3 {
		n += 8
	}
	for i, s := range st.strings() {
		if len(s) > MaxStringLen {
			return 0, fmt.Errorf("serialize: %s is %d bytes, the limit is %d", fieldNames[i], len(s), MaxStringLen)
		}
		n += len(s)
	}
	if len(st.Groups) > MaxGroups {
		return 0, fmt.Errorf("serialize: %d groups, the limit is %d", len(st.Groups), MaxGroups)
	}
	for i, g := range st.Groups {
		if len(g) > MaxStringLen {
			return 0, fmt.Errorf("serialize: group %d is %d bytes, the limit is %d", i, len(g), MaxStringLen)
		}
		n += 2 + len(g)
	}
	if len(st.PackageState) > MaxBlobSize {
		return 0, fmt.Errorf("%w: PackageState is %d bytes", ErrTooLarge, len(st.PackageState))
	}
	n += len(st.PackageState)
	return n, nil
}

// encode writes the State into b, which is exactly encodedLen(version) bytes.
func (st *State) encode(b []byte, version uint16) {
	var bits byte
	if st.Server {
		bits |= bitServer
	}
	if st.Established {
		bits |= bitEstablished
	}
	if st.Reset {
		bits |= bitReset
	}
	var sec int64
	var nsec uint32
	if !st.Expiry.IsZero() {
		bits |= bitExpiry
		sec, nsec = st.Expiry.Unix(), uint32(st.Expiry.Nanosecond())
	}
	b[0] = bits
	binary.LittleEndian.PutUint32(b[1:], st.Flags)
	binary.LittleEndian.PutUint64(b[5:], uint64(sec))
	binary.LittleEndian.PutUint32(b[13:], nsec)
	off := 17
	strs := st.strings()
	for _, s := range strs {
		binary.LittleEndian.PutUint16(b[off:], uint16(len(s)))
		off += 2
	}
	binary.LittleEndian.PutUint16(b[off:], uint16(len(st.Groups)))
	off += 2
	for _, g := range st.Groups {
		binary.LittleEndian.PutUint16(b[off:], uint16(len(g)))
		off += 2
	}
	for _, s := range strs {
		off += copy(b[off:], s)
	}
	for _, g := range st.Groups {
		off += copy(b[off:], g)
	}
	if version >= Version2 {
		b[off] = st.PackageVersion
		off++
	}
	if version >= Version3 {
		binary.LittleEndian.PutUint64(b[off:], uint64(st.ExportedAt.UnixNano()))
		off += 8
	}
	binary.LittleEndian.PutUint32(b[off:], uint32(len(st.PackageState)))
	off += 4
	copy(b[off:], st.PackageState)
}

// decode fills st from b, the encoding in the given format version, and
// sets Package to pkg. PackageState aliases b; the rest of b is zeroed, so b
// holds nothing but PackageState afterwards.
func (st *State) decode(b []byte, version uint16, pkg []byte) error {
	if len(b) < stateFixed {
		return fmt.Errorf("state is %d bytes, shorter than its fixed part", len(b))
	}
	bits := b[0]
	if bits&^knownBits != 0 {
		return fmt.Errorf("unknown state bits %#02x", bits&^knownBits)
	}
	st.Server = bits&bitServer != 0
	st.Established = bits&bitEstablished != 0
	st.Reset = bits&bitReset != 0
	st.Flags = binary.LittleEndian.Uint32(b[1:])
	sec := int64(binary.LittleEndian.Uint64(b[5:]))
	nsec := binary.LittleEndian.Uint32(b[13:])
	if bits&bitExpiry != 0 {
		if nsec >= 1e9 {
			return fmt.Errorf("expiry nanoseconds %d out of range", nsec)
		}
		st.Expiry = time.Unix(sec, int64(nsec)).UTC()
	} else if sec != 0 || nsec != 0 {
		return errors.New("expiry set without its flag")
	}

	off := 17
	var lens [numStrings]int
	total := 0
	for i := range lens {
		lens[i] = int(binary.LittleEndian.Uint16(b[off:]))
		if lens[i] > MaxStringLen {
			return fmt.Errorf("%s length %d over the limit", fieldNames[i], lens[i])
		}
		total += lens[i]
		off += 2
	}
	ngroups := int(binary.LittleEndian.Uint16(b[off:]))
	off += 2
	if ngroups > MaxGroups {
		return fmt.Errorf("%d groups, over the limit", ngroups)
	}
	if len(b)-off < 2*ngroups {
		return fmt.Errorf("group lengths cut off")
	}
	glens := b[off : off+2*ngroups]
	off += 2 * ngroups
	for i := 0; i < ngroups; i++ {
		n := int(binary.LittleEndian.Uint16(glens[2*i:]))
		if n > MaxStringLen {
			return fmt.Errorf("group %d length %d over the limit", i, n)
		}
		total += n
	}
	tail := 4 // the PackageState length
	if version >= Version2 {
		tail++ // and PackageVersion
	}
	if version >= Version3 {
		tail += 8 // and ExportedAt
	}
	if len(b)-off < total+tail {
		return fmt.Errorf("strings cut off")
	}

	// All strings, the package name first, share one allocation; each
	// field is a substring of it.
	var sb strings.Builder
	sb.Grow(len(pkg) + total)
	sb.Write(pkg)
	sb.Write(b[off : off+total])
	all := sb.String()
	off += total
	pos := 0
	next := func(n int) string {
		s := all[pos : pos+n]
		pos += n
		return s
	}
	st.Package = next(len(pkg))
	st.ClientName = next(lens[0])
	st.ServerName = next(lens[1])
	st.Authority = next(lens[2])
	st.User = next(lens[3])
	st.Domain = next(lens[4])
	st.SID = next(lens[5])
	if ngroups > 0 {
		st.Groups = make([]string, ngroups)
		for i := range st.Groups {
			st.Groups[i] = next(int(binary.LittleEndian.Uint16(glens[2*i:])))
		}
	}

	if version >= Version2 {
		if b[off] == 0 {
			return errors.New("PackageVersion 0 in a format version 2 state")
		}
		st.PackageVersion = b[off]
		off++
	}
	if version >= Version3 {
		ns := int64(binary.LittleEndian.Uint64(b[off:]))
		if ns <= 0 {
			return fmt.Errorf("ExportedAt %d is not after 1970", ns)
		}
		st.ExportedAt = time.Unix(0, ns).UTC()
		off += 8
	}
	psLen := binary.LittleEndian.Uint32(b[off:])
	off += 4
	if uint64(psLen) != uint64(len(b)-off) {
		return fmt.Errorf("PackageState length %d, but %d bytes remain", psLen, len(b)-off)
	}
	if psLen > 0 {
		st.PackageState = b[off:len(b):len(b)]
	}
	clear(b[:off])
	return nil
}
