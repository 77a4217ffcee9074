package kdc

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/ap"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
	"github.com/gosspi/gosspi/internal/krb5/pac"
)

// handleAS answers an AS-REQ (RFC 4120 section 3.1.2).
func (k *KDC) handleAS(b []byte, now time.Time) ([]byte, error) {
	req, err := msg.ParseKDCReq(b)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	body := &req.Body
	if body.CName == nil || body.SName == nil {
		return nil, kdcError(msg.KDCErrBadOption, "an AS-REQ names a client and a service", nil)
	}
	if !strings.EqualFold(body.Realm, k.cfg.Realm) {
		return nil, kdcError(msg.KDCErrWrongRealm, fmt.Sprintf("this is the KDC of %s, not %s", k.cfg.Realm, body.Realm), nil)
	}
	client := k.lookup(*body.CName)
	if client == nil || client.user == nil {
		e := kdcError(msg.KDCErrCPrincipalUnknown, fmt.Sprintf("no user %v", body.CName), nil)
		e.cname = body.CName
		return nil, e
	}
	server := k.lookup(*body.SName)
	if server == nil || !server.service {
		e := kdcError(msg.KDCErrSPrincipalUnknown, fmt.Sprintf("no service %v", body.SName), nil)
		e.sname = body.SName
		return nil, e
	}
	replyEType, ok := pickEType(body.ETypes, client.etypes)
	if !ok {
		return nil, kdcError(msg.KDCErrETypeNoSupp, "the client has no key of a type it asked for", nil)
	}
	sessEType, ok := pickEType(body.ETypes, server.etypes)
	if !ok {
		return nil, kdcError(msg.KDCErrETypeNoSupp, "the service has no key of a type the client asked for", nil)
	}

	// Pre-authentication: the timestamp must decrypt under one of the
	// client's keys and be within the skew of the KDC's clock.
	preauth := false
	if v, ok := msg.FindPAData(req.PAData, msg.PAEncTimestamp); ok {
		ed, err := msg.ParseEncryptedData(v)
		if err != nil {
			return nil, k.preauthFailed(client, body, "PA-ENC-TIMESTAMP does not decode")
		}
		key, ok := client.keys[kcrypto.EType(ed.EType)]
		if !ok {
			return nil, k.preauthFailed(client, body, fmt.Sprintf("no %v key", kcrypto.EType(ed.EType)))
		}
		plain, err := key.Decrypt(kcrypto.UsageASReqPAEncTimestamp, ed.Cipher)
		if err != nil {
			return nil, k.preauthFailed(client, body, "wrong password")
		}
		ts, err := msg.ParsePAEncTSEnc(plain)
		if err != nil {
			return nil, k.preauthFailed(client, body, "the timestamp does not decode")
		}
		t := ts.Timestamp
		if ts.Usec != nil {
			t = t.Add(time.Duration(*ts.Usec) * time.Microsecond)
		}
		if d := now.Sub(t); d > k.cfg.MaxSkew || d < -k.cfg.MaxSkew {
			return nil, kdcError(msg.KRBAPErrSkew, fmt.Sprintf("the client's clock is %v off", d.Round(time.Second)), nil)
		}
		preauth = true
		replyEType = key.EType()
	} else if !client.user.NoPreauth {
		md, err := k.methodData(client, body.ETypes)
		if err != nil {
			return nil, err
		}
		e := kdcError(msg.KDCErrPreauthRequired, "pre-authentication required", md)
		e.cname = body.CName
		return nil, e
	}

	flags := msg.TktInitial
	if preauth {
		flags |= msg.TktPreAuthent
	}
	t, err := k.times(now, body, now.Add(k.cfg.TicketLifetime), now.Add(k.cfg.MaxRenew), &flags)
	if err != nil {
		return nil, err
	}
	if body.Options&msg.OptForwardable != 0 {
		flags |= msg.TktForwardable
	}
	cname := *body.CName
	if body.Options&msg.OptCanonicalize != 0 {
		cname = client.name
	}
	wantPAC := true
	if v, ok := msg.FindPAData(req.PAData, msg.PAPACRequest); ok {
		if r, err := msg.ParsePACRequest(v); err == nil {
			wantPAC = r.IncludePAC
		}
	}
	issued, err := k.issue(issue{
		client: client, cname: cname, server: server, sname: *body.SName,
		flags: flags, times: t, sessEType: sessEType, pac: wantPAC,
	})
	if err != nil {
		return nil, err
	}
	defer issued.sessionKey.Zero()
	part := k.replyPart(issued, body.Nonce, t)
	plain, err := part.MarshalAS()
	clear(part.Key.KeyValue)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	replyKey := client.keys[replyEType]
	ct, err := replyKey.Encrypt(kcrypto.UsageASRepEncPart, k.rand, plain)
	clear(plain)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	info, err := msg.ETypeInfo2{k.etypeInfo(client, replyEType)}.Marshal()
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	rep := msg.KDCRep{
		MsgType: msg.MsgASRep,
		PAData:  []msg.PAData{{Type: msg.PAETypeInfo2, Value: info}},
		CRealm:  k.cfg.Realm,
		CName:   cname,
		Ticket:  issued.ticket,
		EncPart: msg.EncryptedData{EType: int32(replyEType), KVNO: client.kvno, Cipher: ct},
	}
	out, err := rep.Marshal()
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	return out, nil
}

func (k *KDC) etypeInfo(p *principal, e kcrypto.EType) msg.ETypeInfo2Entry {
	salt := p.salt
	return msg.ETypeInfo2Entry{EType: int32(e), Salt: &salt}
}

// methodData is the METHOD-DATA of KDC_ERR_PREAUTH_REQUIRED: first
// PA-ETYPE-INFO2 with the salt of each of the client's keys that it asked
// for, in its order, then PA-ENC-TIMESTAMP, the method to use.
func (k *KDC) methodData(client *principal, want []int32) ([]byte, error) {
	var info msg.ETypeInfo2
	for _, w := range want {
		if _, ok := client.keys[kcrypto.EType(w)]; ok {
			info = append(info, k.etypeInfo(client, kcrypto.EType(w)))
		}
	}
	v, err := info.Marshal()
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	md, err := msg.MethodData{{Type: msg.PAETypeInfo2, Value: v}, {Type: msg.PAEncTimestamp, Value: []byte{}}}.Marshal()
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	return md, nil
}

// preauthFailed is KDC_ERR_PREAUTH_FAILED, with the METHOD-DATA the
// client needs to try again, as MIT's KDC sends it.
func (k *KDC) preauthFailed(client *principal, body *msg.KDCReqBody, why string) error {
	md, err := k.methodData(client, body.ETypes)
	if err != nil {
		return err
	}
	e := kdcError(msg.KDCErrPreauthFailed, why, md)
	e.cname = body.CName
	return e
}

// ticketTimes are the times of a ticket being issued.
type ticketTimes struct {
	auth, start, end, renewTill time.Time
}

// times works out the times of a new ticket from the request (RFC 4120
// section 3.1.3): it ends at the requested till (none or the "infinite"
// 1970 means the longest), but not after maxEnd; it is renewable until
// rtime if asked for, but not after maxRenew, and with renewable-ok when
// the till was cut short.
func (k *KDC) times(now time.Time, body *msg.KDCReqBody, maxEnd, maxRenew time.Time, flags *msg.TicketFlags) (ticketTimes, error) {
	t := ticketTimes{auth: now.Truncate(time.Second), start: now.Truncate(time.Second)}
	till := body.Till
	if till.IsZero() || till.Unix() == 0 || till.After(maxEnd) {
		till = maxEnd
	}
	t.end = till.Truncate(time.Second)
	if !t.end.After(t.start) {
		return t, kdcError(msg.KDCErrNeverValid, fmt.Sprintf("the ticket would end at %v", t.end), nil)
	}
	rtime := body.RTime
	if body.Options&msg.OptRenewableOK != 0 && body.Till.After(t.end) && rtime.IsZero() {
		rtime = body.Till
	}
	if body.Options&(msg.OptRenewable|msg.OptRenewableOK) != 0 && !rtime.IsZero() {
		if rtime.Unix() == 0 || rtime.After(maxRenew) {
			rtime = maxRenew
		}
		if rtime.After(t.end) {
			t.renewTill = rtime.Truncate(time.Second)
			*flags |= msg.TktRenewable
		}
	}
	return t, nil
}

// issue is a ticket to make.
type issue struct {
	client    *principal
	cname     msg.PrincipalName
	server    *principal
	sname     msg.PrincipalName
	flags     msg.TicketFlags
	times     ticketTimes
	sessEType kcrypto.EType
	pac       bool
	// tgtPAC is the PAC of the TGT a TGS-REQ came with, to copy.
	tgtPAC *pac.PAC
}

type issued struct {
	ticket     msg.Ticket
	sessionKey *kcrypto.Key
	sname      msg.PrincipalName
	flags      msg.TicketFlags
}

// issue makes a ticket: a fresh session key, the PAC, the EncTicketPart
// encrypted in the service's best key.
func (k *KDC) issue(is issue) (*issued, error) {
	sess, err := kcrypto.RandomKey(is.sessEType, k.rand)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	tktEType := is.server.etypes[0]
	svcKey := is.server.keys[tktEType]
	etp := msg.EncTicketPart{
		Flags:     is.flags,
		Key:       msg.EncryptionKey{KeyType: int32(sess.EType()), KeyValue: sess.Bytes()},
		CRealm:    k.cfg.Realm,
		CName:     is.cname,
		Transited: msg.TransitedEncoding{TrType: 1, Contents: []byte{}},
		AuthTime:  is.times.auth,
		StartTime: is.times.start,
		EndTime:   is.times.end,
		RenewTill: is.times.renewTill,
	}
	if is.pac {
		raw, err := k.makePAC(is, svcKey)
		if err != nil {
			return nil, err
		}
		if raw != nil {
			inner, err := msg.AuthorizationData{{ADType: msg.ADWin2kPAC, ADData: raw}}.Marshal()
			if err != nil {
				return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
			}
			etp.AuthData = msg.AuthorizationData{{ADType: msg.ADIfRelevant, ADData: inner}}
		}
	}
	plain, err := etp.Marshal()
	clear(etp.Key.KeyValue)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	ct, err := svcKey.Encrypt(kcrypto.UsageTicket, k.rand, plain)
	clear(plain)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	sname := is.server.name
	if !is.server.name.EqualFold(is.sname) {
		sname = is.sname // one of the service's other SPNs
	}
	return &issued{
		ticket:     msg.Ticket{Realm: k.cfg.Realm, SName: sname, EncPart: msg.EncryptedData{EType: int32(tktEType), KVNO: is.server.kvno, Cipher: ct}},
		sessionKey: sess, sname: sname, flags: is.flags,
	}, nil
}

// replyPart is the EncKDCRepPart of an issued ticket.
func (k *KDC) replyPart(is *issued, nonce uint32, t ticketTimes) *msg.EncKDCRepPart {
	return &msg.EncKDCRepPart{
		Key:       msg.EncryptionKey{KeyType: int32(is.sessionKey.EType()), KeyValue: is.sessionKey.Bytes()},
		LastReq:   []msg.LastReq{{Type: 0, Value: t.auth}},
		Nonce:     nonce,
		Flags:     is.flags,
		AuthTime:  t.auth,
		StartTime: t.start,
		EndTime:   t.end,
		RenewTill: t.renewTill,
		SRealm:    k.cfg.Realm,
		SName:     is.sname,
	}
}

// makePAC returns the PAC of a ticket, signed with the service's key and
// the krbtgt key: the TGT's PAC re-signed when the ticket comes from a
// TGS-REQ (MS-KILE 3.3.5.7.4), else a new one from the user's account.
func (k *KDC) makePAC(is issue, svcKey *kcrypto.Key) ([]byte, error) {
	kdcKey := k.krbtgt.keys[k.krbtgt.etypes[0]]
	p := is.tgtPAC
	if p == nil {
		if is.client == nil || is.client.user == nil {
			return nil, nil
		}
		p = k.newPAC(is.client, is.cname, is.times.auth)
	}
	raw, err := p.Sign(svcKey, kdcKey)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	return raw, nil
}

// newPAC is the PAC of a user as a domain controller fills it in: the
// logon information with its groups, the client information, and the UPN
// and DNS information with the SAM name and SID.
func (k *KDC) newPAC(client *principal, cname msg.PrincipalName, authTime time.Time) *pac.PAC {
	u := client.user
	groups := []pac.GroupMembership{{RID: u.PrimaryGroup, Attributes: pac.GroupDefault}}
	for _, g := range u.Groups {
		if g != u.PrimaryGroup {
			groups = append(groups, pac.GroupMembership{RID: g, Attributes: pac.GroupDefault})
		}
	}
	// Windows adds "Authentication authority asserted identity" to every
	// ticket from a password logon.
	extra := []pac.SIDAndAttributes{{SID: pac.MustParseSID("S-1-18-1"), Attributes: pac.GroupDefault}}
	for _, s := range u.ExtraSIDs {
		extra = append(extra, pac.SIDAndAttributes{SID: s, Attributes: pac.GroupDefault})
	}
	li := &pac.LogonInfo{
		LogonTime:          pac.NewFileTime(authTime),
		LogoffTime:         pac.Never,
		KickOffTime:        pac.Never,
		PasswordMustChange: pac.Never,
		EffectiveName:      u.Name,
		FullName:           u.FullName,
		UserID:             u.RID,
		PrimaryGroupID:     u.PrimaryGroup,
		GroupIDs:           groups,
		UserFlags:          pac.UserFlagExtraSIDs,
		LogonServer:        k.cfg.DCName,
		LogonDomainName:    k.cfg.NetBIOSDomain,
		LogonDomainID:      k.cfg.DomainSID,
		UserAccountControl: 0x10, // USER_NORMAL_ACCOUNT
		ExtraSIDs:          extra,
	}
	dns := strings.ToLower(k.cfg.Realm)
	p := &pac.PAC{}
	p.Set(pac.TypeLogonInfo, li.Marshal())
	p.Set(pac.TypeClientInfo, (&pac.ClientInfo{ClientID: pac.NewFileTime(authTime), Name: cname.String()}).Marshal())
	p.Set(pac.TypeUPNDNSInfo, (&pac.UPNDNSInfo{
		UPN: u.Name + "@" + dns, DNSDomainName: k.cfg.Realm,
		Flags:   pac.UPNConstructed | pac.UPNExtended,
		SAMName: u.Name, SID: k.cfg.DomainSID.Child(u.RID),
	}).Marshal())
	return p
}

// handleTGS answers a TGS-REQ (RFC 4120 section 3.3.2).
func (k *KDC) handleTGS(b []byte, now time.Time) ([]byte, error) {
	req, err := msg.ParseKDCReq(b)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	body := &req.Body
	apreq, ok := msg.FindPAData(req.PAData, msg.PATGSReq)
	if !ok {
		return nil, kdcError(msg.KDCErrPADataTypeNoSupp, "a TGS-REQ needs PA-TGS-REQ", nil)
	}
	if body.Options&(msg.OptRenew|msg.OptValidate|msg.OptEncTktInSKey|msg.OptForwarded|msg.OptProxy) != 0 {
		return nil, kdcError(msg.KDCErrBadOption, "renewal, validation, user-to-user, forwarding and proxies are not supported", nil)
	}
	tgt, err := ap.Verify(ap.VerifyConfig{
		Key: func(realm string, sname msg.PrincipalName, e kcrypto.EType, kvno uint32) (*kcrypto.Key, error) {
			if !strings.EqualFold(realm, k.cfg.Realm) || !sname.EqualFold(k.krbtgt.name) {
				return nil, fmt.Errorf("a ticket to %v@%s is no TGT of this realm: %w", sname, realm, msg.KRBAPErrNotUs)
			}
			if kvno != 0 && kvno != k.krbtgt.kvno {
				return nil, fmt.Errorf("krbtgt key version %d: %w", kvno, msg.KRBAPErrBadKeyVer)
			}
			key, ok := k.krbtgt.keys[e]
			if !ok {
				return nil, fmt.Errorf("no %v krbtgt key: %w", e, msg.KRBAPErrNoKey)
			}
			return key, nil
		},
		Usage:   kcrypto.UsageTGSReqPAAuthenticator,
		Now:     func() time.Time { return now },
		MaxSkew: k.cfg.MaxSkew,
	}, apreq)
	if err != nil {
		return nil, kdcError(ap.ErrorCodeOf(err), err.Error(), nil)
	}
	defer tgt.SessionKey.Zero()
	// The authenticator's keyed checksum binds the request body to the
	// TGT's session key (RFC 4120 section 3.3.2).
	ck := tgt.Authenticator.Cksum
	if ck == nil {
		return nil, kdcError(msg.KRBAPErrInappCksum, "the authenticator has no checksum of the request", nil)
	}
	if err := tgt.SessionKey.VerifyChecksum(kcrypto.UsageTGSReqPAAuthCksum, kcrypto.ChecksumType(ck.CksumType), req.RawBody, ck.Checksum); err != nil {
		code := msg.KRBAPErrModified
		if errors.Is(err, kcrypto.ErrUnsupported) {
			code = msg.KRBAPErrInappCksum
		}
		return nil, kdcError(code, "the request body's checksum: "+err.Error(), nil)
	}
	if body.SName == nil {
		return nil, kdcError(msg.KDCErrBadOption, "a TGS-REQ names a service", nil)
	}
	server := k.lookup(*body.SName)
	if server == nil || !server.service {
		e := kdcError(msg.KDCErrSPrincipalUnknown, fmt.Sprintf("no service %v", body.SName), nil)
		e.sname = body.SName
		e.cname = &tgt.Ticket.CName
		return nil, e
	}
	sessEType, ok := pickEType(body.ETypes, server.etypes)
	if !ok {
		return nil, kdcError(msg.KDCErrETypeNoSupp, "the service has no key of a type the client asked for", nil)
	}
	tt := tgt.Ticket
	flags := tt.Flags & (msg.TktPreAuthent | msg.TktHWAuthent)
	if body.Options&msg.OptForwardable != 0 && tt.Flags&msg.TktForwardable != 0 {
		flags |= msg.TktForwardable
	}
	maxRenew := tt.RenewTill
	if tt.Flags&msg.TktRenewable == 0 {
		maxRenew = time.Time{}
	}
	maxEnd := now.Add(k.cfg.TicketLifetime)
	if tt.EndTime.Before(maxEnd) {
		maxEnd = tt.EndTime
	}
	t, err := k.times(now, body, maxEnd, maxRenew, &flags)
	if err != nil {
		return nil, err
	}
	if maxRenew.IsZero() {
		flags &^= msg.TktRenewable
		t.renewTill = time.Time{}
	}
	t.auth = tt.AuthTime
	is := issue{client: k.lookup(tt.CName), cname: tt.CName, server: server, sname: *body.SName, flags: flags, times: t, sessEType: sessEType}
	// The TGT's PAC goes on, if its KDC signature is this KDC's.
	if raw, err := ap.FindPAC(tt.AuthData); err != nil {
		return nil, kdcError(msg.KRBAPErrModified, err.Error(), nil)
	} else if raw != nil {
		p, err := pac.Parse(raw)
		if err == nil {
			err = p.VerifyKDCSignature(k.krbtgt.keys[k.krbtgt.etypes[0]])
		}
		if err != nil {
			return nil, kdcError(msg.KRBAPErrModified, "the TGT's PAC: "+err.Error(), nil)
		}
		is.tgtPAC, is.pac = p, true
	}
	issued, err := k.issue(is)
	if err != nil {
		return nil, err
	}
	defer issued.sessionKey.Zero()
	part := k.replyPart(issued, body.Nonce, t)
	plain, err := part.MarshalTGS()
	clear(part.Key.KeyValue)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	// The reply is in the authenticator's subkey if it has one.
	replyKey, usage := tgt.SessionKey, kcrypto.UsageTGSRepEncPartSession
	if sub := tgt.Authenticator.Subkey; sub != nil {
		sk, err := kcrypto.NewKey(kcrypto.EType(sub.KeyType), sub.KeyValue)
		if err != nil {
			return nil, kdcError(msg.KDCErrETypeNoSupp, "the authenticator's subkey: "+err.Error(), nil)
		}
		defer sk.Zero()
		replyKey, usage = sk, kcrypto.UsageTGSRepEncPartSubkey
	}
	ct, err := replyKey.Encrypt(usage, k.rand, plain)
	clear(plain)
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	rep := msg.KDCRep{
		MsgType: msg.MsgTGSRep,
		CRealm:  tt.CRealm,
		CName:   tt.CName,
		Ticket:  issued.ticket,
		EncPart: msg.EncryptedData{EType: int32(replyKey.EType()), Cipher: ct},
	}
	out, err := rep.Marshal()
	if err != nil {
		return nil, kdcError(msg.KRBErrGeneric, err.Error(), nil)
	}
	return out, nil
}
