package fake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gosspi/gosspi/internal/hostid"
	"github.com/gosspi/gosspi/internal/ntlm"
	"github.com/gosspi/gosspi/serialize"
)

// ErrNoHostIdentity is matched (with errors.Is) by the error of
// HostMachine on a host without a readable machine identity.
var ErrNoHostIdentity = hostid.ErrNoIdentity

// ErrBadKeyFile is matched (with errors.Is) by the error of HostMachine
// when the machine's key file is unusable: the wrong size, all zeros, not a
// regular file, or replaced while it was read. Removing the file makes a
// new key (and makes blobs sealed with the old one unimportable).
var ErrBadKeyFile = hostid.ErrBadKeyFile

// ErrForeignMachine is matched (with errors.Is) by the error of an import
// whose blob was exported on another machine.
var ErrForeignMachine = serialize.ErrForeignMachine

// MachineConfig configures a Machine. Every field is optional.
type MachineConfig struct {
	// Name is the computer's NetBIOS name; default "GOSSPI-HOST".
	Name string
	// Domain is the default domain of users and the server's NetBIOS
	// domain; default the machine name.
	Domain string
	// Clock returns the current time; default time.Now. Context lifetimes
	// and SEC_E_CONTEXT_EXPIRED follow it (see ManualClock).
	Clock func() time.Time
	// Rand is the source of NTLM challenges and session keys; default
	// crypto/rand. Machine keys and blob nonces always use crypto/rand.
	Rand io.Reader
	// ContextLifetime is how long an established context lives; default 10h.
	ContextLifetime time.Duration
	// Windows is the Windows release the machine plays where it shows on
	// the wire: the VERSION field of its NTLM messages. Default
	// WindowsServer2022.
	Windows WindowsVersion
	// Role is the machine's place in a domain, which decides what its
	// NTLM CHALLENGE says of it. Default RoleStandalone when Domain is
	// empty or the machine's name, RoleMember otherwise.
	Role Role
	// DNSDomain is the DNS name of the domain of a member or domain
	// controller; default the Domain in lower case. A stand-alone
	// machine's DNS names are its computer name, as Windows reports them.
	DNSDomain string
}

// WindowsVersion is a Windows release as the NTLM VERSION structure
// (MS-NLMP 2.2.2.10) carries it.
type WindowsVersion struct {
	Major, Minor uint8
	Build        uint16
}

// Windows releases for MachineConfig.Windows.
var (
	Windows10         = WindowsVersion{10, 0, 19045}
	Windows11         = WindowsVersion{10, 0, 22631}
	WindowsServer2016 = WindowsVersion{10, 0, 14393}
	WindowsServer2019 = WindowsVersion{10, 0, 17763}
	WindowsServer2022 = WindowsVersion{10, 0, 20348}
)

// ntlmVersion is the 8-byte VERSION structure: the release, then
// NTLMSSP_REVISION_W2K3 (15), which every release since 2003 sends.
func (v WindowsVersion) ntlmVersion() []byte {
	return []byte{v.Major, v.Minor, byte(v.Build), byte(v.Build >> 8), 0, 0, 0, 15}
}

// Role is a machine's place in a Windows domain.
type Role uint8

const (
	// RoleDefault derives the role from MachineConfig.Domain.
	RoleDefault Role = iota
	// RoleStandalone is a machine in no domain: its NTLM target is the
	// server itself (NTLMSSP_TARGET_TYPE_SERVER), and its NetBIOS domain
	// is its own name.
	RoleStandalone
	// RoleMember is a domain member: its NTLM target is the domain.
	RoleMember
	// RoleDomainController is a domain controller: a member that also
	// names the forest in MsvAvDnsTreeName.
	RoleDomainController
)

// Machine is an emulated computer: an identity, a sealing key for exported
// contexts, a principal directory, and the record of blobs already
// imported. Processes on one Machine can hand contexts to each other.
// A Machine is safe for concurrent use.
type Machine struct {
	name, domain string
	clock        func() time.Time
	// realNow is the real time, never the emulated clock: blobs are
	// stamped with it, and the import ledger keeps records by it. Tests
	// that replay golden blobs pin it.
	realNow   func() time.Time
	hostBound bool
	nextToken atomic.Uint64 // token handle values, unique on the machine
	rand      io.Reader
	lifetime  time.Duration
	sealer    *serialize.Sealer
	ledger    ledger
	sidBase   string
	// windows, role and dnsDomain are what the machine plays on the
	// wire (MachineConfig); machineID is its MsvAvSingleHost MachineID.
	windows   WindowsVersion
	role      Role
	dnsDomain string
	machineID []byte

	// dom is the domain the machine is joined to (Domain.NewMachine), or
	// nil; krb is its Kerberos state then.
	dom *Domain
	krb *machineKerberos

	mu    sync.RWMutex
	users map[string]*principal // key: upper(domain)\upper(user)
	rid   uint32
}

// principal is one account of the directory.
type principal struct {
	domain, user string
	ntHash       []byte
	sid          string
	groups       []string

	// keyMu guards the NTLMv2 ResponseKey of the last spelling of the
	// names a client logged on with (NTOWFv2 hashes them as sent, the
	// domain in the case it was typed), so repeated logons derive it once.
	keyMu              sync.Mutex
	keyed              bool
	keyDomain, keyUser string
	ntlmKey            ntlm.ResponseKey
}

// responseKey returns the principal's NTLMv2 ResponseKey for the user
// and domain as a client spelled them.
func (p *principal) responseKey(domain, user string) ntlm.ResponseKey {
	p.keyMu.Lock()
	defer p.keyMu.Unlock()
	if !p.keyed || p.keyDomain != domain || p.keyUser != user {
		p.ntlmKey = ntlm.ResponseKeyFromHash(p.ntHash, user, domain)
		p.keyed, p.keyDomain, p.keyUser = true, domain, user
	}
	return p.ntlmKey
}

// ledger records the blobs already imported on a machine. exportedAt is
// the real time the blob was sealed: the record is kept for a fixed
// real-time window after it, and blobs older than that are refused, so no
// setting of the machine's clock can make a blob importable twice.
type ledger interface {
	Claim(id []byte, exportedAt time.Time) (bool, error)
}

// memLedger is an in-memory machine's ledger. Blobs from before export
// times existed (format versions 1 and 2) are claimed in a set that is
// never pruned; no build writes them any more, so it cannot grow without
// bound.
//
// The machine's blobs carry its export sequence as their nonce (nonces),
// which the ledger claims as numbers.
type memLedger struct {
	live   *hostid.MemLedger
	nonces exportNonces
	mu     sync.Mutex
	legacy map[[serialize.NonceSize]byte]struct{}
}

func newMemLedger(realNow func() time.Time) *memLedger {
	l := &memLedger{live: hostid.NewMemLedgerAt(realNow), legacy: make(map[[serialize.NonceSize]byte]struct{})}
	// From crypto/rand, never from MachineConfig.Rand: two machines made
	// with one fixed key (the golden tests') then still differ in it.
	if _, err := rand.Read(l.nonces.prefix[:]); err != nil {
		panic("fake: crypto/rand failed: " + err.Error())
	}
	return l
}

// exportNonces makes the nonces of an in-memory machine's blobs: a
// prefix drawn when the machine is made, then a counter. AES-GCM needs
// nonces that never repeat under one key; a counter guarantees it (the
// deterministic construction of NIST SP 800-38D) where random ones make
// it likely, and it lets the ledger keep its claims as bits
// (hostid.MemLedger.ClaimSequenceAt): a set of random nonces outgrows the
// caches, and then every import misses them.
type exportNonces struct {
	prefix [serialize.NonceSize - 8]byte
	last   atomic.Uint64
}

// Read writes the next nonce into p, which must be one nonce long.
func (s *exportNonces) Read(p []byte) (int, error) {
	if len(p) != serialize.NonceSize {
		return 0, fmt.Errorf("fake: a nonce is %d bytes, not %d", serialize.NonceSize, len(p))
	}
	copy(p, s.prefix[:])
	binary.BigEndian.PutUint64(p[len(s.prefix):], s.last.Add(1))
	return len(p), nil
}

// sequence returns the export sequence number a nonce of this machine
// carries.
func (s *exportNonces) sequence(nonce []byte) (uint64, bool) {
	if len(nonce) != serialize.NonceSize || string(nonce[:len(s.prefix)]) != string(s.prefix[:]) {
		return 0, false
	}
	return binary.BigEndian.Uint64(nonce[len(s.prefix):]), true
}

func (l *memLedger) Claim(id []byte, exportedAt time.Time) (bool, error) {
	if !exportedAt.IsZero() {
		return l.live.Claim(id, exportedAt)
	}
	var k [serialize.NonceSize]byte
	copy(k[:], id)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.legacy[k]; ok {
		return false, nil
	}
	l.legacy[k] = struct{}{}
	return true, nil
}

// NewMachine returns an in-memory machine with a random identity and
// sealing key.
func NewMachine(cfg MachineConfig) *Machine {
	m := newMachine(cfg)
	var id [16]byte
	var key [32]byte
	// The identity and key always come from crypto/rand, whose Read does
	// not fail on supported platforms, so that a deterministic cfg.Rand
	// can never make two machines share a key.
	if _, err := rand.Read(id[:]); err != nil {
		panic("fake: crypto/rand failed: " + err.Error())
	}
	if _, err := rand.Read(key[:]); err != nil {
		panic("fake: crypto/rand failed: " + err.Error())
	}
	defer clear(key[:])
	return m.withKey("fake-"+hex.EncodeToString(id[:]), key[:])
}

// withKey finishes an in-memory machine with a given identity and key
// (tests use fixed ones to make golden blobs).
func (m *Machine) withKey(id string, key []byte) *Machine {
	s, err := serialize.NewSealer(id, key)
	if err != nil {
		panic("fake: " + err.Error()) // unreachable: callers pass 32-byte keys
	}
	m.sealer = s
	m.ledger = newMemLedger(m.realNow)
	m.sidBase = sidBase([]byte(id))
	return m
}

// HostMachine returns a machine bound to the real host: its identity is
// the host's (/etc/machine-id on Linux, MachineGuid on Windows,
// IOPlatformUUID on macOS) and its sealing key lives in a 0600 file under
// the user's config directory (or GOSSPI_KEY_DIR). Two OS processes of the
// same user on this host can hand contexts over through it; no other host
// can import them. It fails with ErrNoHostIdentity where the host has no
// identity, rather than falling back to a shared one.
func HostMachine(cfg MachineConfig) (*Machine, error) {
	id, err := hostid.MachineID()
	if err != nil {
		return nil, err
	}
	dir, err := hostid.KeyDir()
	if err != nil {
		return nil, err
	}
	key, err := hostid.LoadOrCreateKey(dir, id)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	l, err := hostid.OpenLedger(dir)
	if err != nil {
		return nil, err
	}
	s, err := serialize.NewSealer("host-"+id, key)
	if err != nil {
		return nil, err
	}
	m := newMachine(cfg)
	m.sealer = s
	m.ledger = l
	m.hostBound = true
	m.sidBase = sidBase([]byte(id))
	m.machineID = machineID([]byte(id))
	return m, nil
}

func newMachine(cfg MachineConfig) *Machine {
	m := &Machine{
		name:     cfg.Name,
		domain:   cfg.Domain,
		clock:    cfg.Clock,
		realNow:  time.Now,
		rand:     cfg.Rand,
		lifetime: cfg.ContextLifetime,
		users:    make(map[string]*principal),
		rid:      1000,
	}
	if m.name == "" {
		m.name = "GOSSPI-HOST"
	}
	if m.domain == "" {
		m.domain = m.name
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.lifetime == 0 {
		m.lifetime = 10 * time.Hour
	}
	m.windows = cfg.Windows
	if m.windows == (WindowsVersion{}) {
		m.windows = WindowsServer2022
	}
	m.role = cfg.Role
	if m.role == RoleDefault {
		m.role = RoleMember
		if strings.EqualFold(m.domain, m.name) {
			m.role = RoleStandalone
		}
	}
	m.dnsDomain = cfg.DNSDomain
	if m.dnsDomain == "" {
		m.dnsDomain = strings.ToLower(m.domain)
	}
	m.machineID = machineID([]byte(m.name))
	return m
}

// machineID derives the 32-byte MachineID a machine sends in
// MsvAvSingleHost. Windows makes it at boot; a stable value derived
// from the machine keeps the fake's tokens reproducible.
func machineID(seed []byte) []byte {
	h := sha256.Sum256(append([]byte("gosspi fake MachineID\x00"), seed...))
	return h[:]
}

// sidBase derives the machine's S-1-5-21-a-b-c prefix from its identity.
func sidBase(id []byte) string {
	var b [12]byte
	copy(b[:], id)
	return fmt.Sprintf("S-1-5-21-%d-%d-%d", binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:]))
}

// Name returns the machine's NetBIOS name.
func (m *Machine) Name() string { return m.name }

// Domain returns the machine's default domain.
func (m *Machine) Domain() string { return m.domain }

// ID returns the machine identity written into exported blobs.
func (m *Machine) ID() string { return m.sealer.MachineID() }

func userKey(domain, user string) string {
	return string(appendUserKey(nil, domain, user))
}

// appendUserKey appends userKey(domain, user): both upper-cased rune by
// rune, as strings.ToUpper does, so a lookup can build the key in a stack
// buffer.
func appendUserKey(dst []byte, domain, user string) []byte {
	for _, r := range domain {
		dst = utf8.AppendRune(dst, unicode.ToUpper(r))
	}
	dst = append(dst, '\\')
	for _, r := range user {
		dst = utf8.AppendRune(dst, unicode.ToUpper(r))
	}
	return dst
}

// AddUser adds an account to the principal directory and returns its SID.
// An empty domain means the machine's default domain. Groups are names
// or SIDs carried in the user's access token.
func (m *Machine) AddUser(domain, user, password string, groups ...string) string {
	if domain == "" {
		domain = m.domain
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rid++
	p := &principal{
		domain: domain, user: user,
		ntHash: ntlm.NTHash(password),
		sid:    fmt.Sprintf("%s-%d", m.sidBase, m.rid),
		groups: append([]string{"S-1-1-0", "S-1-5-11"}, groups...), // Everyone, Authenticated Users
	}
	m.users[userKey(domain, user)] = p
	return p.sid
}

// RemoveUser deletes an account; later logons with it are denied.
func (m *Machine) RemoveUser(domain, user string) {
	if domain == "" {
		domain = m.domain
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.users, userKey(domain, user))
}

// lookup finds an account; an empty domain means the default domain.
func (m *Machine) lookup(domain, user string) (*principal, bool) {
	if domain == "" {
		domain = m.domain
	}
	m.mu.RLock()
	var buf [128]byte
	p, ok := m.users[string(appendUserKey(buf[:0], domain, user))]
	m.mu.RUnlock()
	if !ok && m.dom != nil && m.dom.isDomain(domain) {
		// A member validates domain accounts through its domain
		// controller.
		return m.dom.lookup(user)
	}
	return p, ok
}

// ManualClock is a clock for tests that moves only when told.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock that reads start until advanced.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's time; pass it as MachineConfig.Clock.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
