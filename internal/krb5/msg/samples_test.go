package msg

import (
	"time"
)

// Sample messages, filled in the way the KDC and the AP exchange fill
// them, for the round-trip tests and as fuzz seeds.

var (
	t0    = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	realm = "CONTOSO.TEST"
	alice = NewPrincipal(NTPrincipal, "alice")
	krbtg = NewPrincipal(NTSrvInst, "krbtgt", realm)
	http  = NewPrincipal(NTSrvHst, "HTTP", "web01.contoso.test")
)

func u32(v uint32) *uint32 { return &v }
func i32(v int32) *int32   { return &v }
func str(s string) *string { return &s }

func sampleTicket() Ticket {
	return Ticket{Realm: realm, SName: http, EncPart: EncryptedData{EType: 18, KVNO: 2, Cipher: []byte("ciphertext of the ticket")}}
}

func sampleEncTicketPart() *EncTicketPart {
	return &EncTicketPart{
		Flags:     TktForwardable | TktRenewable | TktPreAuthent | TktEncPARep,
		Key:       EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)},
		CRealm:    realm,
		CName:     alice,
		Transited: TransitedEncoding{TrType: 1, Contents: []byte{}},
		AuthTime:  t0,
		StartTime: t0,
		EndTime:   t0.Add(10 * time.Hour),
		RenewTill: t0.Add(7 * 24 * time.Hour),
		AuthData:  AuthorizationData{{ADType: ADIfRelevant, ADData: []byte{0x30, 0x00}}},
	}
}

func sampleASReq() *KDCReq {
	pac, _ := (&PACRequest{IncludePAC: true}).Marshal()
	return &KDCReq{
		MsgType: MsgASReq,
		PAData:  []PAData{{Type: PAEncTimestamp, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x12}}, {Type: PAPACRequest, Value: pac}},
		Body: KDCReqBody{
			Options: OptForwardable | OptRenewable | OptCanonicalize | OptRenewableOK,
			CName:   &alice,
			Realm:   realm,
			SName:   &krbtg,
			Till:    time.Date(2037, 9, 13, 2, 48, 5, 0, time.UTC),
			RTime:   time.Date(2037, 9, 13, 2, 48, 5, 0, time.UTC),
			Nonce:   0xdeadbeef,
			ETypes:  []int32{18, 17, 23, -135},
			Addrs:   []HostAddress{{AddrType: AddrNetBIOS, Address: []byte("CLIENT01        ")}},
		},
	}
}

func sampleTGSReq() *KDCReq {
	tkt := sampleTicket()
	return &KDCReq{
		MsgType: MsgTGSReq,
		PAData:  []PAData{{Type: PATGSReq, Value: []byte{0x6e, 0x00}}},
		Body: KDCReqBody{
			Options:  OptForwardable | OptCanonicalize,
			Realm:    realm,
			SName:    &http,
			From:     t0,
			Till:     t0.Add(time.Hour),
			Nonce:    7,
			ETypes:   []int32{18},
			EncAD:    &EncryptedData{EType: 18, Cipher: []byte{1, 2, 3}},
			AddlTkts: []Ticket{tkt},
		},
	}
}

func sampleKDCRep() *KDCRep {
	return &KDCRep{
		MsgType: MsgASRep,
		PAData:  []PAData{{Type: PAETypeInfo2, Value: []byte{0x30, 0x00}}},
		CRealm:  realm,
		CName:   alice,
		Ticket:  sampleTicket(),
		EncPart: EncryptedData{EType: 18, Cipher: []byte("enc part")},
	}
}

func sampleEncKDCRepPart() *EncKDCRepPart {
	return &EncKDCRepPart{
		Key:           EncryptionKey{KeyType: 17, KeyValue: make([]byte, 16)},
		LastReq:       []LastReq{{Type: 0, Value: t0}},
		Nonce:         0x80000001,
		KeyExpiration: t0.Add(90 * 24 * time.Hour),
		Flags:         TktInitial | TktPreAuthent,
		AuthTime:      t0,
		StartTime:     t0,
		EndTime:       t0.Add(10 * time.Hour),
		RenewTill:     t0.Add(24 * time.Hour),
		SRealm:        realm,
		SName:         krbtg,
		CAddr:         []HostAddress{{AddrType: AddrIPv4, Address: []byte{127, 0, 0, 1}}},
		EncPAData:     []PAData{{Type: PAReqEncPARep, Value: []byte{0x30, 0x00}}},
	}
}

func sampleAPReq() *APReq {
	return &APReq{Options: APMutualRequired, Ticket: sampleTicket(), Authenticator: EncryptedData{EType: 18, Cipher: []byte("authenticator")}}
}

func sampleAuthenticator() *Authenticator {
	return &Authenticator{
		CRealm:    realm,
		CName:     alice,
		Cksum:     &Checksum{CksumType: 0x8003, Checksum: make([]byte, 24)},
		Cusec:     999999,
		CTime:     t0,
		Subkey:    &EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)},
		SeqNumber: u32(0xfffffffe),
		AuthData:  AuthorizationData{{ADType: ADIfRelevant, ADData: []byte{0x30, 0x00}}},
	}
}

func sampleEncAPRepPart() *EncAPRepPart {
	return &EncAPRepPart{CTime: t0, Cusec: 12, Subkey: &EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)}, SeqNumber: u32(0)}
}

func sampleKRBError() *KRBError {
	return &KRBError{
		CTime: t0, Cusec: i32(5), STime: t0.Add(time.Second), SUsec: 17,
		ErrorCode: KDCErrPreauthRequired,
		CRealm:    realm, CName: &alice,
		Realm: realm, SName: krbtg,
		EText: "pre-authentication required",
		EData: []byte{0x30, 0x00},
	}
}

func sampleETypeInfo2() ETypeInfo2 {
	return ETypeInfo2{
		{EType: 18, Salt: str("CONTOSO.TESTalice"), S2KParams: []byte{0, 0, 0x10, 0}},
		{EType: 17, Salt: str("")},
		{EType: 23},
	}
}
