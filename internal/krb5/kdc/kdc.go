package kdc

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/ap"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
	"github.com/gosspi/gosspi/internal/krb5/pac"
)

// Config configures a KDC.
type Config struct {
	// Realm is the realm, in upper case by convention (CONTOSO.TEST).
	Realm string
	// NetBIOSDomain is the domain's NetBIOS name for the PAC; "" means
	// the realm's first label.
	NetBIOSDomain string
	// DCName is the KDC's NetBIOS name, the PAC's LogonServer; "" means
	// DC01.
	DCName string
	// DomainSID is the domain's SID, which users' and groups' RIDs are
	// relative to; nil means S-1-5-21-1004336348-1177238915-682003330.
	DomainSID *pac.SID
	// ETypes are the encryption types of the principals' keys, best
	// first; nil means aes256 then aes128.
	ETypes []kcrypto.EType
	// Now is the KDC's clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of session keys and confounders; nil means
	// crypto/rand. The KDC serializes its reads.
	Rand io.Reader
	// MaxSkew is the clock skew allowed in pre-authentication and
	// authenticators; 0 means 5 minutes.
	MaxSkew time.Duration
	// TicketLifetime is the longest ticket lifetime; 0 means 10 hours.
	// MaxRenew is the longest renewable lifetime; 0 means 7 days.
	TicketLifetime, MaxRenew time.Duration
}

// KDC is an in-memory KDC. It is safe for concurrent use.
type KDC struct {
	cfg    Config
	now    func() time.Time
	rand   io.Reader
	krbtgt *principal

	mu    sync.RWMutex
	names map[string]*principal // by lower-case name
	rid   uint32
}

// principal is a user or a service with its long-term keys.
type principal struct {
	name    msg.PrincipalName
	keys    map[kcrypto.EType]*kcrypto.Key
	etypes  []kcrypto.EType // of keys, best first
	kvno    uint32
	salt    string
	service bool
	user    *User
}

// New returns a KDC with its krbtgt account and no other principal.
func New(cfg Config) (*KDC, error) {
	if cfg.Realm == "" {
		return nil, fmt.Errorf("kdc: a KDC needs a realm")
	}
	if cfg.NetBIOSDomain == "" {
		cfg.NetBIOSDomain = strings.ToUpper(strings.SplitN(cfg.Realm, ".", 2)[0])
	}
	if cfg.DCName == "" {
		cfg.DCName = "DC01"
	}
	if cfg.DomainSID == nil {
		cfg.DomainSID = pac.MustParseSID("S-1-5-21-1004336348-1177238915-682003330")
	}
	if cfg.ETypes == nil {
		cfg.ETypes = []kcrypto.EType{kcrypto.AES256CTSHMACSHA196, kcrypto.AES128CTSHMACSHA196}
	}
	for _, e := range cfg.ETypes {
		if !e.Supported() {
			return nil, fmt.Errorf("kdc: encryption type %v: %w", e, kcrypto.ErrUnsupported)
		}
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = ap.DefaultMaxSkew
	}
	if cfg.TicketLifetime == 0 {
		cfg.TicketLifetime = 10 * time.Hour
	}
	if cfg.MaxRenew == 0 {
		cfg.MaxRenew = 7 * 24 * time.Hour
	}
	k := &KDC{cfg: cfg, now: cfg.Now, names: map[string]*principal{}, rid: 1103}
	if k.now == nil {
		k.now = time.Now
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	k.rand = &lockedReader{r: r}
	tgs := msg.NewPrincipal(msg.NTSrvInst, "krbtgt", cfg.Realm)
	keys, err := k.randomKeys()
	if err != nil {
		return nil, err
	}
	// Windows' krbtgt starts at key version 2.
	k.krbtgt = &principal{name: tgs, keys: keys, etypes: cfg.ETypes, kvno: 2, service: true}
	k.names[nameKey(tgs)] = k.krbtgt
	return k, nil
}

// Realm is the KDC's realm.
func (k *KDC) Realm() string { return k.cfg.Realm }

// DomainSID is the SID of the KDC's domain.
func (k *KDC) DomainSID() *pac.SID { return k.cfg.DomainSID }

func (k *KDC) randomKeys() (map[kcrypto.EType]*kcrypto.Key, error) {
	keys := map[kcrypto.EType]*kcrypto.Key{}
	for _, e := range k.cfg.ETypes {
		key, err := kcrypto.RandomKey(e, k.rand)
		if err != nil {
			return nil, fmt.Errorf("kdc: %w", err)
		}
		keys[e] = key
	}
	return keys, nil
}

func (k *KDC) passwordKeys(password, salt string) (map[kcrypto.EType]*kcrypto.Key, error) {
	keys := map[kcrypto.EType]*kcrypto.Key{}
	for _, e := range k.cfg.ETypes {
		key, err := kcrypto.StringToKey(e, password, salt, nil)
		if err != nil {
			return nil, fmt.Errorf("kdc: %w", err)
		}
		keys[e] = key
	}
	return keys, nil
}

// nameKey is the directory key of a name: its components, lower case.
func nameKey(p msg.PrincipalName) string { return strings.ToLower(p.String()) }

// User is a user account.
type User struct {
	// Name is the account name (alice), the principal's one component.
	Name     string
	Password string
	// FullName goes into the PAC.
	FullName string
	// RID is the user's relative ID; 0 assigns the next free one, from
	// 1104 as in a new Windows domain.
	RID uint32
	// PrimaryGroup is the RID of the primary group; 0 means 513, Domain
	// Users.
	PrimaryGroup uint32
	// Groups are the RIDs of further domain groups.
	Groups []uint32
	// ExtraSIDs are SIDs outside the domain, such as well-known groups.
	ExtraSIDs []*pac.SID
	// NoPreauth lets the user get tickets without pre-authentication
	// (DONT_REQUIRE_PREAUTH).
	NoPreauth bool
}

// AddUser adds a user account, deriving its keys from its password with
// the default salt (realm and name, as Windows salts user accounts).
func (k *KDC) AddUser(u User) error {
	if u.Name == "" || strings.Contains(u.Name, "/") {
		return fmt.Errorf("kdc: %q cannot be a user name", u.Name)
	}
	name := msg.NewPrincipal(msg.NTPrincipal, u.Name)
	salt := kcrypto.DefaultSalt(k.cfg.Realm, u.Name)
	keys, err := k.passwordKeys(u.Password, salt)
	if err != nil {
		return err
	}
	u.Password = ""
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, dup := k.names[nameKey(name)]; dup {
		return fmt.Errorf("kdc: %v exists", name)
	}
	if u.RID == 0 {
		k.rid++
		u.RID = k.rid
	}
	if u.PrimaryGroup == 0 {
		u.PrimaryGroup = 513
	}
	k.names[nameKey(name)] = &principal{name: name, keys: keys, etypes: k.cfg.ETypes, kvno: 1, salt: salt, user: &u}
	return nil
}

// Service is a service account.
type Service struct {
	// SPNs are its service principal names, class/host
	// (HTTP/web01.contoso.test); the first one also names the account in
	// the salt.
	SPNs []string
	// Password derives the keys; "" gives random keys, as a computer
	// account's password is.
	Password string
}

// AddService adds a service account under each of its SPNs.
func (k *KDC) AddService(s Service) error {
	if len(s.SPNs) == 0 {
		return fmt.Errorf("kdc: a service needs an SPN")
	}
	var names []msg.PrincipalName
	for _, spn := range s.SPNs {
		p := msg.ParsePrincipal(msg.NTSrvHst, spn)
		if len(p.NameString) < 2 || p.NameString[0] == "" || p.NameString[1] == "" {
			return fmt.Errorf("kdc: %q is not an SPN (class/host)", spn)
		}
		names = append(names, p)
	}
	salt := kcrypto.DefaultSalt(k.cfg.Realm, names[0].NameString...)
	var keys map[kcrypto.EType]*kcrypto.Key
	var err error
	if s.Password == "" {
		keys, err = k.randomKeys()
	} else {
		keys, err = k.passwordKeys(s.Password, salt)
	}
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range names {
		if _, dup := k.names[nameKey(n)]; dup {
			return fmt.Errorf("kdc: %v exists", n)
		}
	}
	p := &principal{name: names[0], keys: keys, etypes: k.cfg.ETypes, kvno: 2, salt: salt, service: true}
	for _, n := range names {
		k.names[nameKey(n)] = p
	}
	return nil
}

// AddSPN registers spn as one more name of the service account that
// existing names, as setspn -S adds an SPN to an account: tickets to it
// are encrypted in that account's keys.
func (k *KDC) AddSPN(existing, spn string) error {
	n := msg.ParsePrincipal(msg.NTSrvHst, spn)
	if len(n.NameString) < 2 || n.NameString[0] == "" || n.NameString[1] == "" {
		return fmt.Errorf("kdc: %q is not an SPN (class/host)", spn)
	}
	p := k.lookup(msg.ParsePrincipal(msg.NTSrvHst, existing))
	if p == nil || !p.service {
		return fmt.Errorf("kdc: no service %q: %w", existing, msg.KDCErrSPrincipalUnknown)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, dup := k.names[nameKey(n)]; dup {
		return fmt.Errorf("kdc: %v exists", n)
	}
	k.names[nameKey(n)] = p
	return nil
}

// lookup finds a principal of the realm. Enterprise names
// (alice@contoso.test) are looked up by their account part.
func (k *KDC) lookup(p msg.PrincipalName) *principal {
	if p.NameType == msg.NTEnterprise && len(p.NameString) == 1 {
		if i := strings.LastIndexByte(p.NameString[0], '@'); i > 0 {
			p = msg.NewPrincipal(msg.NTPrincipal, p.NameString[0][:i])
		}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.names[nameKey(p)]
}

// ServiceKeys returns an ap.KeyFunc with the long-term keys of the
// service named by spn, as a keytab would hold them, for an acceptor.
func (k *KDC) ServiceKeys(spn string) (ap.KeyFunc, error) {
	p := k.lookup(msg.ParsePrincipal(msg.NTSrvHst, spn))
	if p == nil || !p.service {
		return nil, fmt.Errorf("kdc: no service %q: %w", spn, msg.KDCErrSPrincipalUnknown)
	}
	return func(realm string, sname msg.PrincipalName, e kcrypto.EType, kvno uint32) (*kcrypto.Key, error) {
		if !strings.EqualFold(realm, k.cfg.Realm) || k.lookup(sname) != p {
			return nil, fmt.Errorf("a ticket to %v@%s: %w", sname, realm, msg.KRBAPErrNotUs)
		}
		if kvno != 0 && kvno != p.kvno {
			return nil, fmt.Errorf("key version %d, the service has %d: %w", kvno, p.kvno, msg.KRBAPErrBadKeyVer)
		}
		key, ok := p.keys[e]
		if !ok {
			return nil, fmt.Errorf("no %v key: %w", e, msg.KRBAPErrNoKey)
		}
		return key, nil
	}, nil
}

// Exchange answers a request in memory; it is a client.ExchangeFunc.
func (k *KDC) Exchange(ctx context.Context, realm string, req []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !strings.EqualFold(realm, k.cfg.Realm) {
		return nil, fmt.Errorf("kdc: no KDC for realm %q", realm)
	}
	return k.Handle(req), nil
}

// Handle answers one request: an AS-REP or TGS-REP, or a KRB-ERROR.
func (k *KDC) Handle(req []byte) []byte {
	now := k.now()
	t, err := msg.MessageType(req)
	var rep []byte
	switch {
	case err != nil:
		rep, err = nil, kdcError(msg.KRBErrGeneric, "not a Kerberos message", nil)
	case t == msg.MsgASReq:
		rep, err = k.handleAS(req, now)
	case t == msg.MsgTGSReq:
		rep, err = k.handleTGS(req, now)
	default:
		rep, err = nil, kdcError(msg.KRBAPErrMsgType, fmt.Sprintf("message type %d is no KDC request", t), nil)
	}
	if err == nil {
		return rep
	}
	return k.errorReply(err, now)
}

// kerror is a refusal on its way to becoming a KRB-ERROR.
type kerror struct {
	code  msg.ErrorCode
	text  string
	edata []byte
	cname *msg.PrincipalName
	sname *msg.PrincipalName
}

func (e *kerror) Error() string { return e.code.String() + ": " + e.text }
func (e *kerror) Unwrap() error { return e.code }

func kdcError(code msg.ErrorCode, text string, edata []byte) *kerror {
	return &kerror{code: code, text: text, edata: edata}
}

func (k *KDC) errorReply(err error, now time.Time) []byte {
	e, ok := err.(*kerror)
	if !ok {
		e = &kerror{code: ap.ErrorCodeOf(err), text: err.Error()}
	}
	kerr := msg.KRBError{
		STime: now.Truncate(time.Second), SUsec: int32(now.Nanosecond() / 1000),
		ErrorCode: e.code, Realm: k.cfg.Realm, SName: k.krbtgt.name,
		EText: e.text, EData: e.edata, CName: e.cname,
	}
	if e.sname != nil {
		kerr.SName = *e.sname
	}
	if e.cname != nil {
		kerr.CRealm = k.cfg.Realm
	}
	b, merr := kerr.Marshal()
	if merr != nil {
		// Only an impossible time could fail; answer without the text.
		kerr.EText, kerr.EData = "", nil
		b, _ = kerr.Marshal()
	}
	return b
}

// pickEType returns the first of want that have has, as the client's
// order of preference says.
func pickEType(want []int32, have []kcrypto.EType) (kcrypto.EType, bool) {
	for _, w := range want {
		for _, h := range have {
			if kcrypto.EType(w) == h {
				return h, true
			}
		}
	}
	return 0, false
}

// lockedReader serializes reads of a shared random source.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return io.ReadFull(l.r, p)
}
