package ap

import (
	"testing"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/krb5/internal/seedcorpus"
	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// fuzzWorld is a world with fixed keys, so that the seeds made with it
// decrypt when the fuzzer replays them.
func fuzzWorld(t testing.TB) *world {
	w := newWorld(t)
	w.sessKey, _ = kcrypto.NewKey(kcrypto.AES256CTSHMACSHA196, make([]byte, 32))
	w.etp.Key = msg.EncryptionKey{KeyType: 18, KeyValue: w.sessKey.Bytes()}
	plain, err := w.etp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := w.svcKey.Encrypt(kcrypto.UsageTicket, nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	w.ticket.EncPart.Cipher = ct
	return w
}

// FuzzAccept feeds initial context tokens to the acceptor, which must
// refuse what is not a valid AP-REQ and never panic.
func FuzzAccept(f *testing.F) {
	w := fuzzWorld(f)
	_, tok, err := Initiate(w.initiator(allFlags))
	if err != nil {
		f.Fatal(err)
	}
	_, inner, _ := gss.UnframeToken(tok)
	seedcorpus.Sync(f, tok, inner)
	f.Fuzz(func(t *testing.T, tok []byte) {
		a := &Acceptor{Key: w.keyFunc, Now: func() time.Time { return t0.Add(time.Minute) }, MaxSkew: 1 << 62}
		a.Accept(tok, nil)
	})
}

// FuzzFinish feeds acceptor tokens to an initiator, which must refuse
// what is not its AP-REP (or a KRB-ERROR) and never panic.
func FuzzFinish(f *testing.F) {
	w := fuzzWorld(f)
	_, tok, err := Initiate(w.initiator(allFlags))
	if err != nil {
		f.Fatal(err)
	}
	acc, err := (&Acceptor{Key: w.keyFunc, Now: w.clock}).Accept(tok, nil)
	if err != nil {
		f.Fatal(err)
	}
	etok, _ := ErrorToken(msg.KRBAPErrSkew, t0, realm, http)
	seedcorpus.Sync(f, acc.Output, etok)
	f.Fuzz(func(t *testing.T, rep []byte) {
		ini, _, err := Initiate(w.initiator(allFlags))
		if err != nil {
			t.Fatal(err)
		}
		ini.Finish(rep)
	})
}
