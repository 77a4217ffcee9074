package fake

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/client"
	"github.com/gosspi/gosspi/internal/krb5/kdc"
	"github.com/gosspi/gosspi/internal/krb5/pac"
	"github.com/gosspi/gosspi/internal/ntlm"
)

// DomainConfig configures a Domain. Every field is optional.
type DomainConfig struct {
	// Name is the domain's NetBIOS name; default "CONTOSO".
	Name string
	// DNSName is its DNS name; default Name in lower case with ".test".
	// The Kerberos realm is DNSName in upper case.
	DNSName string
	// SID is the domain SID (S-1-5-21-a-b-c); default one derived from
	// the DNS name, so two domains differ.
	SID string
	// Clock is the KDC's clock; default time.Now. Machines made by
	// NewMachine without a clock of their own use it too.
	Clock func() time.Time
	// Rand is the source of the KDC's keys; default crypto/rand.
	Rand io.Reader
	// TicketLifetime is the longest ticket the KDC issues; default 10h.
	TicketLifetime time.Duration
	// KDCs, if set, sends the Kerberos requests of the domain's machines
	// to real KDCs over the network, realm -> "host:port", rather than to
	// the domain's in-memory KDC (which acceptors still take their keys
	// from).
	KDCs map[string]string
}

// Domain is an emulated Active Directory domain: one in-memory KDC and
// its directory, which the machines joined to it (NewMachine) share. A
// client process on one machine gets tickets from it for a server process
// on another; domain users log on with NTLM on every joined machine too.
// A Domain is safe for concurrent use.
type Domain struct {
	name, dnsName, realm string
	sid                  *pac.SID
	kdc                  *kdc.KDC
	exchange             client.ExchangeFunc
	clock                func() time.Time
	unreachable          atomic.Bool

	mu       sync.RWMutex
	users    map[string]*principal // by upper user name
	accounts map[string][]string   // upper account name -> its SPNs
	// secrets verify the password of a service account's explicit
	// credentials (computer accounts have random keys, and none).
	secrets  map[string][32]byte
	groups   map[string]uint32 // upper group name -> RID
	nextRID  uint32
	nextGRID uint32
}

// wellKnownGroups are the RIDs of the well-known domain groups (MS-DTYP
// 2.4.2.4) that AddUser maps names to.
var wellKnownGroups = map[string]uint32{
	"DOMAIN ADMINS":      512,
	"DOMAIN USERS":       513,
	"DOMAIN GUESTS":      514,
	"DOMAIN COMPUTERS":   515,
	"DOMAIN CONTROLLERS": 516,
	"SCHEMA ADMINS":      518,
	"ENTERPRISE ADMINS":  519,
}

// errUnreachable is the cause of SEC_E_NO_AUTHENTICATING_AUTHORITY while
// a domain's KDC is made unreachable.
var errUnreachable = errors.New("fake: the domain's KDC is unreachable")

// NewDomain makes a domain with an empty directory.
func NewDomain(cfg DomainConfig) (*Domain, error) {
	if cfg.Name == "" {
		cfg.Name = "CONTOSO"
	}
	if cfg.DNSName == "" {
		cfg.DNSName = strings.ToLower(cfg.Name) + ".test"
	}
	if strings.ContainsAny(cfg.Name, `\/@.`) || strings.ContainsAny(cfg.DNSName, `\/@ `) {
		return nil, fmt.Errorf("fake: domain %q (%q) has a character a domain name cannot have", cfg.Name, cfg.DNSName)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	var sid *pac.SID
	var err error
	if cfg.SID != "" {
		if sid, err = pac.ParseSID(cfg.SID); err != nil {
			return nil, fmt.Errorf("fake: domain SID: %w", err)
		}
	} else {
		h := sha256.Sum256([]byte("gosspi fake domain\x00" + strings.ToLower(cfg.DNSName)))
		sid = pac.MustParseSID(fmt.Sprintf("S-1-5-21-%d-%d-%d", binary.LittleEndian.Uint32(h[0:]), binary.LittleEndian.Uint32(h[4:]), binary.LittleEndian.Uint32(h[8:])))
	}
	d := &Domain{
		name: strings.ToUpper(cfg.Name), dnsName: strings.ToLower(cfg.DNSName), realm: strings.ToUpper(cfg.DNSName),
		sid: sid, clock: cfg.Clock,
		users: map[string]*principal{}, accounts: map[string][]string{}, secrets: map[string][32]byte{}, groups: map[string]uint32{},
		nextRID: 1104, nextGRID: 2000,
	}
	d.kdc, err = kdc.New(kdc.Config{
		Realm: d.realm, NetBIOSDomain: d.name, DomainSID: sid,
		Now: cfg.Clock, Rand: cfg.Rand, TicketLifetime: cfg.TicketLifetime,
	})
	if err != nil {
		return nil, fmt.Errorf("fake: %w", err)
	}
	inner := d.kdc.Exchange
	if cfg.KDCs != nil {
		inner = client.NetworkExchange(cfg.KDCs)
	}
	d.exchange = func(ctx context.Context, realm string, req []byte) ([]byte, error) {
		if d.unreachable.Load() {
			return nil, errUnreachable
		}
		return inner(ctx, realm, req)
	}
	return d, nil
}

// Name returns the domain's NetBIOS name (CONTOSO).
func (d *Domain) Name() string { return d.name }

// DNSName returns the domain's DNS name (contoso.test).
func (d *Domain) DNSName() string { return d.dnsName }

// Realm returns the domain's Kerberos realm (CONTOSO.TEST).
func (d *Domain) Realm() string { return d.realm }

// SID returns the domain SID, which its users' and groups' SIDs extend.
func (d *Domain) SID() string { return d.sid.String() }

// AddUser adds a domain user and returns its SID. Each group is a name or
// a SID ("S-1-..."). The well-known names get their RIDs (Domain Admins
// 512, Domain Users 513, Domain Guests 514, Domain Computers 515, Domain
// Controllers 516, Schema Admins 518, Enterprise Admins 519); other names
// get RIDs from 2000 up, in the order the domain first hears them, so a
// name means one group across users. Every user is in Domain Users, its
// primary group. The PACs of its tickets, and the access tokens of its
// logons on the domain's machines (Kerberos or NTLM), carry Everyone,
// Authenticated Users and these groups; Kerberos logons also carry
// S-1-18-1, as the KDC asserts the identity.
func (d *Domain) AddUser(user, password string, groups ...string) (string, error) {
	if user == "" || strings.ContainsAny(user, `\/@`) {
		return "", fmt.Errorf("fake: %q cannot be a user name", user)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.users[strings.ToUpper(user)]; dup {
		return "", fmt.Errorf("fake: domain user %s\\%s exists", d.name, user)
	}
	u := kdc.User{Name: user, Password: password, RID: d.nextRID}
	var extra []string
	for _, g := range groups {
		if strings.HasPrefix(strings.ToUpper(g), "S-1-") {
			s, err := pac.ParseSID(g)
			if err != nil {
				return "", fmt.Errorf("fake: group %q: %w", g, err)
			}
			u.ExtraSIDs = append(u.ExtraSIDs, s)
			extra = append(extra, s.String())
			continue
		}
		u.Groups = append(u.Groups, d.groupRID(g))
	}
	if err := d.kdc.AddUser(u); err != nil {
		return "", fmt.Errorf("fake: %w", err)
	}
	d.nextRID++
	// The token groups as the Kerberos acceptor reads them from the PAC:
	// Everyone and Authenticated Users, the primary group, the domain
	// groups, the extra SIDs.
	tg := []string{"S-1-1-0", "S-1-5-11", d.sid.Child(513).String()}
	for _, r := range u.Groups {
		if r != 513 {
			tg = append(tg, d.sid.Child(r).String())
		}
	}
	tg = append(tg, extra...)
	p := &principal{domain: d.name, user: user, ntHash: ntlm.NTHash(password), sid: d.sid.Child(u.RID).String(), groups: tg}
	d.users[strings.ToUpper(user)] = p
	return p.sid, nil
}

// groupRID returns the RID of a group name, assigning one to a new name;
// d.mu is held.
func (d *Domain) groupRID(name string) uint32 {
	k := strings.ToUpper(name)
	if r, ok := wellKnownGroups[k]; ok {
		return r
	}
	if r, ok := d.groups[k]; ok {
		return r
	}
	r := d.nextGRID
	d.nextGRID++
	d.groups[k] = r
	return r
}

// AddService adds a service account (such as svc-web) with its SPNs
// (HTTP/web01.contoso.test); an empty password gives it a random key, as
// a managed service account has. A process running as the account (AsUser
// with the domain's name), or holding server credentials acquired with its
// name and password, accepts Kerberos tickets to its SPNs.
func (d *Domain) AddService(account, password string, spns ...string) error {
	if account == "" || len(spns) == 0 {
		return fmt.Errorf("fake: a service account needs a name and an SPN")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	k := strings.ToUpper(account)
	if _, dup := d.accounts[k]; dup {
		return fmt.Errorf("fake: account %s\\%s exists", d.name, account)
	}
	if err := d.kdc.AddService(kdc.Service{SPNs: spns, Password: password}); err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	d.accounts[k] = append([]string(nil), spns...)
	if password != "" {
		d.secrets[k] = accountSecret(d.realm, account, password)
	}
	return nil
}

// AddSPN registers one more SPN on an account (setspn -S), e.g.
// HTTP/web01.contoso.test on the computer account WEB01$.
func (d *Domain) AddSPN(account, spn string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := strings.ToUpper(account)
	spns, ok := d.accounts[k]
	if !ok {
		return fmt.Errorf("fake: no service or computer account %s\\%s", d.name, account)
	}
	if err := d.kdc.AddSPN(spns[0], spn); err != nil {
		return fmt.Errorf("fake: %w", err)
	}
	d.accounts[k] = append(spns, spn)
	return nil
}

// spnOf returns the first SPN of an account, which names its keys.
func (d *Domain) spnOf(account string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	spns, ok := d.accounts[strings.ToUpper(account)]
	if !ok {
		return "", false
	}
	return spns[0], true
}

// NewMachine makes a machine joined to the domain: its Domain, DNSDomain
// and Role (RoleMember, unless cfg asks for RoleDomainController) are the
// domain's, its clock is the domain's unless cfg has one, and its
// computer account NAME$ gets a random key and the SPNs HOST/name and
// HOST/name.dnsdomain. It fails if the domain has a computer of that name.
func (d *Domain) NewMachine(cfg MachineConfig) (*Machine, error) {
	cfg, err := d.join(cfg)
	if err != nil {
		return nil, err
	}
	return d.attach(NewMachine(cfg)), nil
}

// join registers the computer account of a machine and returns its
// configuration as a member of the domain.
func (d *Domain) join(cfg MachineConfig) (MachineConfig, error) {
	if cfg.Name == "" {
		cfg.Name = "GOSSPI-HOST"
	}
	cfg.Domain, cfg.DNSDomain = d.name, d.dnsName
	if cfg.Role != RoleDomainController {
		cfg.Role = RoleMember
	}
	if cfg.Clock == nil {
		cfg.Clock = d.clock
	}
	host := strings.ToLower(cfg.Name)
	if err := d.AddService(cfg.Name+"$", "", "HOST/"+host, "HOST/"+host+"."+d.dnsName); err != nil {
		return MachineConfig{}, err
	}
	return cfg, nil
}

// attach makes m, made from a configuration join returned, the domain's.
func (d *Domain) attach(m *Machine) *Machine {
	m.dom = d
	m.krb = newMachineKerberos(m)
	return m
}

// SetReachable makes the domain's KDC reachable or not: while it is not,
// a Kerberos client that needs a ticket fails with
// SEC_E_NO_AUTHENTICATING_AUTHORITY (tickets already cached still serve).
func (d *Domain) SetReachable(ok bool) { d.unreachable.Store(!ok) }

// ListenLoopback serves the domain's KDC on 127.0.0.1, TCP and UDP on one
// port, for real Kerberos clients (an MIT krb5.conf "kdc = addr" line). It
// returns the address and a function that stops the server.
func (d *Domain) ListenLoopback() (addr string, stop func() error, err error) {
	s, err := d.kdc.ListenLoopback()
	if err != nil {
		return "", nil, fmt.Errorf("fake: %w", err)
	}
	return s.Addr(), s.Close, nil
}

// accountSecret is what the domain keeps to check a service account's
// password: a hash, never the password.
func accountSecret(realm, account, password string) [32]byte {
	return sha256.Sum256([]byte("gosspi fake account\x00" + realm + "\x00" + strings.ToUpper(account) + "\x00" + password))
}

// checkSecret reports whether password is the service account's.
func (d *Domain) checkSecret(account, password string) bool {
	d.mu.RLock()
	want, ok := d.secrets[strings.ToUpper(account)]
	d.mu.RUnlock()
	got := accountSecret(d.realm, account, password)
	return ok && subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// lookup finds a domain user for NTLM.
func (d *Domain) lookup(user string) (*principal, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.users[strings.ToUpper(user)]
	return p, ok
}

// isDomain reports whether name is the domain's NetBIOS or DNS name.
func (d *Domain) isDomain(name string) bool {
	return strings.EqualFold(name, d.name) || strings.EqualFold(name, d.dnsName)
}
