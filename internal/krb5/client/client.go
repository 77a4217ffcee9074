package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// Credential is a ticket and what the client knows of it.
type Credential struct {
	CName  msg.PrincipalName
	CRealm string
	SName  msg.PrincipalName
	SRealm string
	Ticket msg.Ticket
	// SessionKey is the ticket's session key.
	SessionKey *kcrypto.Key
	Flags      msg.TicketFlags
	AuthTime   time.Time
	StartTime  time.Time
	EndTime    time.Time
	RenewTill  time.Time
}

// Valid reports whether the ticket can be used at t.
func (c *Credential) Valid(t time.Time) bool {
	start := c.StartTime
	if start.IsZero() {
		start = c.AuthTime
	}
	return !t.Before(start) && t.Before(c.EndTime)
}

// KeyFunc returns the client's long-term key of an encryption type, made
// with the salt and string-to-key parameters the KDC names.
type KeyFunc func(e kcrypto.EType, salt string, params []byte) (*kcrypto.Key, error)

// PasswordKeys returns a KeyFunc that derives keys from a password, and
// keeps each one it derives: string-to-key costs milliseconds (4096
// PBKDF2 iterations), so a client derives its key once, not per request.
func PasswordKeys(password string) KeyFunc {
	type id struct {
		e            kcrypto.EType
		salt, params string
	}
	var mu sync.Mutex
	keys := map[id]*kcrypto.Key{}
	return func(e kcrypto.EType, salt string, params []byte) (*kcrypto.Key, error) {
		k := id{e, salt, string(params)}
		mu.Lock()
		defer mu.Unlock()
		if key, ok := keys[k]; ok {
			return key, nil
		}
		key, err := kcrypto.StringToKey(e, password, salt, params)
		if err != nil {
			return nil, err
		}
		keys[k] = key
		return key, nil
	}
}

// ExchangeFunc sends a request to a KDC of realm and returns its reply,
// a KDC-REP or a KRB-ERROR.
type ExchangeFunc func(ctx context.Context, realm string, req []byte) ([]byte, error)

// Config configures a Client.
type Config struct {
	// Realm is the client's realm; Name its name in it.
	Realm string
	Name  msg.PrincipalName
	// Key gives the client's long-term keys (see PasswordKeys).
	Key KeyFunc
	// Exchange reaches the KDC.
	Exchange ExchangeFunc
	// ETypes are the encryption types to ask for, best first; nil means
	// aes256 then aes128, as Windows asks.
	ETypes []kcrypto.EType
	// Lifetime is the ticket lifetime to ask for; 0 means 10 hours, the
	// default of Windows domains. The KDC may grant less.
	Lifetime time.Duration
	// Options are the KDC options of every request; 0 means forwardable,
	// renewable and canonicalize, as Windows asks.
	Options msg.KDCOptions
	// NoPAC asks the KDC not to put a PAC in the tickets
	// (PA-PAC-REQUEST false). By default the client asks for one.
	NoPAC bool
	// Now and Rand are the clock and the source of nonces and subkeys;
	// nil means time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Client gets tickets for one principal. It is safe for concurrent use.
type Client struct {
	cfg Config
	mu  sync.Mutex
	// info is the KDC's last PA-ETYPE-INFO2 entry for this client, to
	// pre-authenticate at once next time.
	info *msg.ETypeInfo2Entry
}

// New returns a client.
func New(cfg Config) *Client {
	if cfg.ETypes == nil {
		cfg.ETypes = []kcrypto.EType{kcrypto.AES256CTSHMACSHA196, kcrypto.AES128CTSHMACSHA196}
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = 10 * time.Hour
	}
	if cfg.Options == 0 {
		cfg.Options = msg.OptForwardable | msg.OptRenewable | msg.OptCanonicalize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Client{cfg: cfg}
}

// TGSName is the name of the ticket-granting service of realm.
func TGSName(realm string) msg.PrincipalName {
	return msg.NewPrincipal(msg.NTSrvInst, "krbtgt", realm)
}

// ErrModified reports a KDC reply that does not answer the request: the
// wrong nonce, name or key. It wraps KRB_AP_ERR_MODIFIED.
var ErrModified = fmt.Errorf("client: the KDC's reply does not match the request: %w", msg.KRBAPErrModified)

func (c *Client) nonce() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(c.cfg.Rand, b[:]); err != nil {
		return 0, fmt.Errorf("client: reading a nonce: %w", err)
	}
	// Positive, as some KDCs mishandle nonces of 2**31 and above.
	return binary.BigEndian.Uint32(b[:]) & 0x7fffffff, nil
}

func (c *Client) etypes() []int32 {
	out := make([]int32, len(c.cfg.ETypes))
	for i, e := range c.cfg.ETypes {
		out[i] = int32(e)
	}
	return out
}

func (c *Client) pacRequest() msg.PAData {
	b, _ := (&msg.PACRequest{IncludePAC: !c.cfg.NoPAC}).Marshal() // cannot fail
	return msg.PAData{Type: msg.PAPACRequest, Value: b}
}

// GetTGT runs the AS exchange for a ticket-granting ticket.
func (c *Client) GetTGT(ctx context.Context) (*Credential, error) {
	return c.GetInitial(ctx, TGSName(c.cfg.Realm))
}

// GetInitial runs the AS exchange for a ticket to service (normally the
// TGS, as GetTGT does).
func (c *Client) GetInitial(ctx context.Context, service msg.PrincipalName) (*Credential, error) {
	c.mu.Lock()
	info := c.info
	c.mu.Unlock()
	fromMemory := info != nil
	for attempt := 0; attempt < 3; attempt++ {
		cred, kerr, err := c.as(ctx, service, info)
		switch {
		case err == nil:
			return cred, nil
		case kerr == nil:
			return nil, err
		case kerr.ErrorCode == msg.KDCErrPreauthRequired:
			// The KDC says how to pre-authenticate. If it says so again
			// after the client did just that, it refuses the method.
			next, perr := c.pickETypeInfo(kerr.EData)
			if perr != nil {
				return nil, errors.Join(kerr, perr)
			}
			if info != nil && sameInfo(info, next) {
				return nil, kerr
			}
			info, fromMemory = next, false
		case kerr.ErrorCode == msg.KDCErrPreauthFailed && fromMemory:
			// The remembered salt may be stale: ask afresh.
			info, fromMemory = nil, false
			c.mu.Lock()
			c.info = nil
			c.mu.Unlock()
		default:
			return nil, kerr
		}
	}
	return nil, fmt.Errorf("client: the KDC keeps asking for pre-authentication: %w", msg.KDCErrPreauthFailed)
}

// as sends one AS-REQ, pre-authenticated with info if it is not nil. A
// KRB-ERROR reply is returned both as itself and as the error.
func (c *Client) as(ctx context.Context, service msg.PrincipalName, info *msg.ETypeInfo2Entry) (*Credential, *msg.KRBError, error) {
	now := c.cfg.Now()
	nonce, err := c.nonce()
	if err != nil {
		return nil, nil, err
	}
	cname := c.cfg.Name
	req := msg.KDCReq{
		MsgType: msg.MsgASReq,
		PAData:  []msg.PAData{c.pacRequest()},
		Body: msg.KDCReqBody{
			Options: c.cfg.Options,
			CName:   &cname,
			Realm:   c.cfg.Realm,
			SName:   &service,
			Till:    now.Add(c.cfg.Lifetime),
			Nonce:   nonce,
			ETypes:  c.etypes(),
		},
	}
	if c.cfg.Options&msg.OptRenewable != 0 {
		req.Body.RTime = now.Add(7 * 24 * time.Hour)
	}
	var key *kcrypto.Key
	if info != nil {
		if key, err = c.key(info); err != nil {
			return nil, nil, err
		}
		usec := int32(now.Nanosecond() / 1000)
		ts, err := (&msg.PAEncTSEnc{Timestamp: now, Usec: &usec}).Marshal()
		if err != nil {
			return nil, nil, fmt.Errorf("client: %w", err)
		}
		ct, err := key.Encrypt(kcrypto.UsageASReqPAEncTimestamp, c.cfg.Rand, ts)
		if err != nil {
			return nil, nil, fmt.Errorf("client: %w", err)
		}
		ed, err := (&msg.EncryptedData{EType: int32(key.EType()), Cipher: ct}).Marshal()
		if err != nil {
			return nil, nil, fmt.Errorf("client: %w", err)
		}
		req.PAData = append([]msg.PAData{{Type: msg.PAEncTimestamp, Value: ed}}, req.PAData...)
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	rb, err := c.cfg.Exchange(ctx, c.cfg.Realm, b)
	if err != nil {
		return nil, nil, fmt.Errorf("client: AS exchange with %s: %w", c.cfg.Realm, err)
	}
	if t, _ := msg.MessageType(rb); t == msg.MsgKRBError {
		kerr, err := msg.ParseKRBError(rb)
		if err != nil {
			return nil, nil, fmt.Errorf("client: %w", err)
		}
		return nil, kerr, kerr
	}
	rep, err := msg.ParseKDCRep(rb)
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	if rep.MsgType != msg.MsgASRep {
		return nil, nil, fmt.Errorf("client: a TGS-REP answers an AS-REQ: %w", ErrModified)
	}
	// Without pre-authentication the key comes from the reply's
	// PA-ETYPE-INFO2, or from the default salt.
	if key == nil || int32(key.EType()) != rep.EncPart.EType {
		entry := msg.ETypeInfo2Entry{EType: rep.EncPart.EType}
		if v, ok := msg.FindPAData(rep.PAData, msg.PAETypeInfo2); ok {
			if infos, err := msg.ParseETypeInfo2(v); err == nil && infos[0].EType == rep.EncPart.EType {
				entry = infos[0]
			}
		}
		if key, err = c.key(&entry); err != nil {
			return nil, nil, err
		}
		info = &entry
	}
	plain, err := key.Decrypt(kcrypto.UsageASRepEncPart, rep.EncPart.Cipher)
	if err != nil {
		return nil, nil, fmt.Errorf("client: the AS-REP does not decrypt with the password's key: %w: %w", err, msg.KRBAPErrBadIntegrity)
	}
	cred, err := credential(rep, plain, nonce, service, c.cfg.Name, c.cfg.Realm)
	clear(plain)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	c.info = info
	c.mu.Unlock()
	return cred, nil, nil
}

func sameInfo(a, b *msg.ETypeInfo2Entry) bool {
	return a.EType == b.EType && (a.Salt == nil) == (b.Salt == nil) && (a.Salt == nil || *a.Salt == *b.Salt) &&
		string(a.S2KParams) == string(b.S2KParams)
}

// key returns the client's key for a PA-ETYPE-INFO2 entry.
func (c *Client) key(info *msg.ETypeInfo2Entry) (*kcrypto.Key, error) {
	salt := kcrypto.DefaultSalt(c.cfg.Realm, c.cfg.Name.NameString...)
	if info.Salt != nil {
		salt = *info.Salt
	}
	k, err := c.cfg.Key(kcrypto.EType(info.EType), salt, info.S2KParams)
	if err != nil {
		return nil, fmt.Errorf("client: the client's %v key: %w", kcrypto.EType(info.EType), err)
	}
	return k, nil
}

// pickETypeInfo chooses, from the METHOD-DATA of a PREAUTH_REQUIRED
// error, the first PA-ETYPE-INFO2 entry of a type this client asked for.
func (c *Client) pickETypeInfo(edata []byte) (*msg.ETypeInfo2Entry, error) {
	md, err := msg.ParseMethodData(edata)
	if err != nil {
		return nil, fmt.Errorf("client: the KDC's pre-authentication methods: %w", err)
	}
	v, ok := msg.FindPAData(md, msg.PAETypeInfo2)
	if !ok {
		return nil, fmt.Errorf("client: the KDC sent no PA-ETYPE-INFO2: %w", msg.KDCErrPADataTypeNoSupp)
	}
	infos, err := msg.ParseETypeInfo2(v)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	for _, in := range infos {
		for _, e := range c.cfg.ETypes {
			if kcrypto.EType(in.EType) == e {
				entry := in
				return &entry, nil
			}
		}
	}
	return nil, fmt.Errorf("client: the KDC offers no encryption type this client has: %w", msg.KDCErrETypeNoSupp)
}

// credential checks a decrypted reply against the request (from client
// cname@crealm for service) and returns the credential it gives.
func credential(rep *msg.KDCRep, plain []byte, nonce uint32, service, cname msg.PrincipalName, crealm string) (*Credential, error) {
	part, err := msg.ParseEncKDCRepPart(plain)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer clear(part.Key.KeyValue)
	if part.Nonce != nonce {
		return nil, fmt.Errorf("client: nonce %d, sent %d: %w", part.Nonce, nonce, ErrModified)
	}
	// With canonicalize the KDC may spell names otherwise, but never
	// name another service or client.
	// An enterprise name (alice@contoso.test) is one the KDC resolves to
	// the account's name (RFC 6806 section 5), which the reply carries.
	sameClient := rep.CName.EqualFold(cname) || cname.NameType == msg.NTEnterprise
	if !part.SName.EqualFold(service) || !strings.EqualFold(rep.CRealm, crealm) || !sameClient {
		return nil, fmt.Errorf("client: a ticket for %v to %v, asked for %v to %v: %w", rep.CName, part.SName, cname, service, ErrModified)
	}
	if !rep.Ticket.SName.EqualFold(part.SName) || !strings.EqualFold(rep.Ticket.Realm, part.SRealm) {
		return nil, fmt.Errorf("client: the ticket names %v, the reply %v: %w", rep.Ticket.SName, part.SName, ErrModified)
	}
	key, err := kcrypto.NewKey(kcrypto.EType(part.Key.KeyType), part.Key.KeyValue)
	if err != nil {
		return nil, fmt.Errorf("client: the session key: %w: %w", err, msg.KDCErrETypeNoSupp)
	}
	return &Credential{
		CName: rep.CName, CRealm: rep.CRealm,
		SName: part.SName, SRealm: part.SRealm,
		Ticket:     rep.Ticket,
		SessionKey: key,
		Flags:      part.Flags,
		AuthTime:   part.AuthTime, StartTime: part.StartTime, EndTime: part.EndTime, RenewTill: part.RenewTill,
	}, nil
}

// GetServiceTicket runs the TGS exchange for a ticket to service in the
// TGT's realm. The authenticator carries a subkey, so the KDC encrypts
// its reply in that (key usage 9), as MIT and Windows clients do.
func (c *Client) GetServiceTicket(ctx context.Context, tgt *Credential, service msg.PrincipalName) (*Credential, error) {
	now := c.cfg.Now()
	nonce, err := c.nonce()
	if err != nil {
		return nil, err
	}
	body := msg.KDCReqBody{
		Options: c.cfg.Options &^ msg.OptRenewable,
		Realm:   tgt.SRealm,
		SName:   &service,
		Till:    tgt.EndTime,
		Nonce:   nonce,
		ETypes:  c.etypes(),
	}
	bodyDER, err := body.Marshal()
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	sum, err := tgt.SessionKey.Checksum(kcrypto.UsageTGSReqPAAuthCksum, bodyDER)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	sub, err := kcrypto.RandomKey(tgt.SessionKey.EType(), c.cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer sub.Zero()
	auth := msg.Authenticator{
		CRealm: tgt.CRealm,
		CName:  tgt.CName,
		Cksum:  &msg.Checksum{CksumType: int32(tgt.SessionKey.EType().ChecksumType()), Checksum: sum},
		Cusec:  int32(now.Nanosecond() / 1000),
		CTime:  now.Truncate(time.Second),
		Subkey: &msg.EncryptionKey{KeyType: int32(sub.EType()), KeyValue: sub.Bytes()},
	}
	plain, err := auth.Marshal()
	clear(auth.Subkey.KeyValue)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	ct, err := tgt.SessionKey.Encrypt(kcrypto.UsageTGSReqPAAuthenticator, c.cfg.Rand, plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	apreq, err := (&msg.APReq{Ticket: tgt.Ticket, Authenticator: msg.EncryptedData{EType: int32(tgt.SessionKey.EType()), Cipher: ct}}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	req := msg.KDCReq{
		MsgType: msg.MsgTGSReq,
		PAData:  []msg.PAData{{Type: msg.PATGSReq, Value: apreq}, c.pacRequest()},
		Body:    body,
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	rb, err := c.cfg.Exchange(ctx, tgt.SRealm, b)
	if err != nil {
		return nil, fmt.Errorf("client: TGS exchange with %s: %w", tgt.SRealm, err)
	}
	if t, _ := msg.MessageType(rb); t == msg.MsgKRBError {
		kerr, err := msg.ParseKRBError(rb)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		return nil, kerr
	}
	rep, err := msg.ParseKDCRep(rb)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if rep.MsgType != msg.MsgTGSRep {
		return nil, fmt.Errorf("client: an AS-REP answers a TGS-REQ: %w", ErrModified)
	}
	plain, err = sub.Decrypt(kcrypto.UsageTGSRepEncPartSubkey, rep.EncPart.Cipher)
	if err != nil {
		// Some KDCs ignore the subkey and use the session key.
		var err2 error
		if plain, err2 = tgt.SessionKey.Decrypt(kcrypto.UsageTGSRepEncPartSession, rep.EncPart.Cipher); err2 != nil {
			return nil, fmt.Errorf("client: the TGS-REP does not decrypt: %w: %w", errors.Join(err, err2), msg.KRBAPErrBadIntegrity)
		}
	}
	defer clear(plain)
	return credential(rep, plain, nonce, service, tgt.CName, tgt.CRealm)
}
