package ap

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// DefaultMaxSkew is the clock skew Kerberos tolerates by default (RFC
// 4120 section 1.6 suggests 5 minutes; Windows and MIT use it).
const DefaultMaxSkew = 5 * time.Minute

// KeyFunc returns the long-term key a ticket for service sname in realm
// is encrypted in, of encryption type etype and version kvno (0 if the
// ticket names none). It fails with an error wrapping
// msg.KRBAPErrNotUs if the service is not one of the caller's,
// msg.KRBAPErrBadKeyVer if the version is unknown, or msg.KRBAPErrNoKey
// if there is no key of that type.
type KeyFunc func(realm string, sname msg.PrincipalName, etype kcrypto.EType, kvno uint32) (*kcrypto.Key, error)

// ReplayCache remembers authenticators, so that one that is presented
// twice is refused (RFC 4120 section 3.2.3).
type ReplayCache interface {
	// Seen records key until expiry and reports whether it had been
	// recorded before.
	Seen(key string, expiry time.Time) bool
}

// VerifyConfig says how to check an AP-REQ.
type VerifyConfig struct {
	Key KeyFunc
	// Usage is the key usage of the authenticator: UsageAPReqAuthenticator
	// for applications, UsageTGSReqPAAuthenticator in a TGS-REQ.
	Usage kcrypto.Usage
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds the difference between the authenticator's time and
	// the clock; 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// Replay, if set, refuses an authenticator it has seen.
	Replay ReplayCache
}

// Request is an AP-REQ that Verify decrypted and checked.
type Request struct {
	APReq         *msg.APReq
	Ticket        *msg.EncTicketPart
	Authenticator *msg.Authenticator
	// SessionKey is the ticket's session key.
	SessionKey *kcrypto.Key
	// ServiceKey is the long-term key that decrypted the ticket.
	ServiceKey *kcrypto.Key
}

// Verify decrypts and checks an AP-REQ (RFC 4120 section 3.2.3): the
// ticket under the service's key, the authenticator under the ticket's
// session key, that they name the same client, the authenticator's time,
// the replay cache, and the ticket's validity at the clock's time. It
// does not look at the authenticator's checksum, whose meaning depends on
// the application.
func Verify(cfg VerifyConfig, apreq []byte) (*Request, error) {
	now, skew := clock(cfg.Now), cfg.MaxSkew
	if skew == 0 {
		skew = DefaultMaxSkew
	}
	req, err := msg.ParseAPReq(apreq)
	if err != nil {
		return nil, fmt.Errorf("ap: %w", err)
	}
	if req.Options&msg.APUseSessionKey != 0 {
		return nil, fmt.Errorf("ap: user-to-user tickets are not supported: %w", msg.KRBAPErrMethod)
	}
	et := kcrypto.EType(req.Ticket.EncPart.EType)
	key, err := cfg.Key(req.Ticket.Realm, req.Ticket.SName, et, req.Ticket.EncPart.KVNO)
	if err != nil {
		return nil, fmt.Errorf("ap: no key for the ticket to %v@%s (%v, kvno %d): %w", req.Ticket.SName, req.Ticket.Realm, et, req.Ticket.EncPart.KVNO, err)
	}
	plain, err := key.Decrypt(kcrypto.UsageTicket, req.Ticket.EncPart.Cipher)
	if err != nil {
		return nil, fmt.Errorf("ap: the ticket does not decrypt: %w: %w", err, msg.KRBAPErrBadIntegrity)
	}
	tkt, err := msg.ParseEncTicketPart(plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("ap: %w: %w", err, msg.KRBAPErrBadIntegrity)
	}
	skey, err := kcrypto.NewKey(kcrypto.EType(tkt.Key.KeyType), tkt.Key.KeyValue)
	clear(tkt.Key.KeyValue)
	if err != nil {
		return nil, fmt.Errorf("ap: the ticket's session key: %w: %w", err, msg.KDCErrETypeNoSupp)
	}
	if kcrypto.EType(req.Authenticator.EType) != skey.EType() {
		return nil, fmt.Errorf("ap: authenticator in %v, session key of %v: %w", kcrypto.EType(req.Authenticator.EType), skey.EType(), msg.KRBAPErrBadIntegrity)
	}
	plain, err = skey.Decrypt(cfg.Usage, req.Authenticator.Cipher)
	if err != nil {
		return nil, fmt.Errorf("ap: the authenticator does not decrypt: %w: %w", err, msg.KRBAPErrBadIntegrity)
	}
	auth, err := msg.ParseAuthenticator(plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("ap: %w: %w", err, msg.KRBAPErrBadIntegrity)
	}
	if auth.CRealm != tkt.CRealm || !auth.CName.Equal(tkt.CName) {
		return nil, fmt.Errorf("ap: the authenticator is from %v@%s, the ticket for %v@%s: %w", auth.CName, auth.CRealm, tkt.CName, tkt.CRealm, msg.KRBAPErrBadMatch)
	}
	t := now()
	ctime := auth.CTime.Add(time.Duration(auth.Cusec) * time.Microsecond)
	if d := t.Sub(ctime); d > skew || d < -skew {
		return nil, fmt.Errorf("ap: the authenticator's time %v is %v from the clock's %v: %w", ctime.UTC(), d, t.UTC(), msg.KRBAPErrSkew)
	}
	if cfg.Replay != nil {
		sum := sha256.Sum256(req.Authenticator.Cipher)
		k := strings.Join([]string{hex.EncodeToString(sum[:]), req.Ticket.SName.String(), req.Ticket.Realm}, "|")
		if cfg.Replay.Seen(k, ctime.Add(skew)) {
			return nil, fmt.Errorf("ap: the authenticator was presented before: %w", msg.KRBAPErrRepeat)
		}
	}
	start := tkt.StartTime
	if start.IsZero() {
		start = tkt.AuthTime
	}
	if start.Sub(t) > skew || tkt.Flags&msg.TktInvalid != 0 {
		return nil, fmt.Errorf("ap: the ticket is valid from %v: %w", start.UTC(), msg.KRBAPErrTktNYV)
	}
	if t.Sub(tkt.EndTime) > skew {
		return nil, fmt.Errorf("ap: the ticket expired at %v: %w", tkt.EndTime.UTC(), msg.KRBAPErrTktExpired)
	}
	return &Request{APReq: req, Ticket: tkt, Authenticator: auth, SessionKey: skey, ServiceKey: key}, nil
}

func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// MemoryReplayCache is a ReplayCache in memory, for one process. Entries
// are dropped once they expire, oldest first, so a check costs a map
// lookup and a heap operation however many entries there are. It is safe
// for concurrent use.
type MemoryReplayCache struct {
	// Now is the clock that expires entries; nil means time.Now.
	Now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time
	byExpiry
}

// byExpiry is a min-heap of entries by expiry.
type byExpiry []replayEntry

type replayEntry struct {
	expiry time.Time
	key    string
}

func (h byExpiry) Len() int           { return len(h) }
func (h byExpiry) Less(i, j int) bool { return h[i].expiry.Before(h[j].expiry) }
func (h byExpiry) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *byExpiry) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *byExpiry) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// Seen implements ReplayCache.
func (c *MemoryReplayCache) Seen(key string, expiry time.Time) bool {
	now := clock(c.Now)()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]time.Time)
	}
	for len(c.byExpiry) > 0 && now.After(c.byExpiry[0].expiry) {
		e := heap.Pop(&c.byExpiry).(replayEntry)
		// A key seen again after it expired has a newer entry; only its
		// own entry removes it.
		if exp, ok := c.seen[e.key]; ok && exp.Equal(e.expiry) {
			delete(c.seen, e.key)
		}
	}
	if exp, ok := c.seen[key]; ok && !now.After(exp) {
		return true
	}
	c.seen[key] = expiry
	heap.Push(&c.byExpiry, replayEntry{expiry: expiry, key: key})
	return false
}

// ErrorCodeOf returns the Kerberos error code an error wraps, and
// KRB_ERR_GENERIC if it wraps none.
func ErrorCodeOf(err error) msg.ErrorCode {
	var code msg.ErrorCode
	if errors.As(err, &code) {
		return code
	}
	return msg.KRBErrGeneric
}
