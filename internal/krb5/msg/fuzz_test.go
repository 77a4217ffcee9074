package msg

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gosspi/gosspi/internal/krb5/internal/seedcorpus"
)

// fuzzRoundTrip is the body of every fuzz target: whatever parses must
// marshal, and parse again to the same value.
func fuzzRoundTrip[T any](f *testing.F, parse func([]byte) (T, error), marshal func(T) ([]byte, error), seeds ...[]byte) {
	seedcorpus.Sync(f, seeds...)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parse(b)
		if err != nil {
			return
		}
		out, err := marshal(v)
		if err != nil {
			t.Fatalf("parsed value does not marshal: %v", err)
		}
		again, err := parse(out)
		if err != nil {
			t.Fatalf("marshaled value does not parse: %v", err)
		}
		if d := cmp.Diff(v, again, ignoreRaw, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip changed the value:\n%s", d)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzParseTicket(f *testing.F) {
	tkt := sampleTicket()
	fuzzRoundTrip(f, ParseTicket, (*Ticket).Marshal, must(tkt.Marshal()))
}

func FuzzParseEncTicketPart(f *testing.F) {
	fuzzRoundTrip(f, ParseEncTicketPart, (*EncTicketPart).Marshal, must(sampleEncTicketPart().Marshal()))
}

func FuzzParseKDCReq(f *testing.F) {
	fuzzRoundTrip(f, ParseKDCReq, (*KDCReq).Marshal, must(sampleASReq().Marshal()), must(sampleTGSReq().Marshal()))
}

func FuzzParseKDCRep(f *testing.F) {
	fuzzRoundTrip(f, ParseKDCRep, (*KDCRep).Marshal, must(sampleKDCRep().Marshal()))
}

func FuzzParseEncKDCRepPart(f *testing.F) {
	fuzzRoundTrip(f, ParseEncKDCRepPart, (*EncKDCRepPart).MarshalTGS,
		must(sampleEncKDCRepPart().MarshalAS()), must(sampleEncKDCRepPart().MarshalTGS()))
}

func FuzzParseAPReq(f *testing.F) {
	fuzzRoundTrip(f, ParseAPReq, (*APReq).Marshal, must(sampleAPReq().Marshal()))
}

func FuzzParseAuthenticator(f *testing.F) {
	fuzzRoundTrip(f, ParseAuthenticator, (*Authenticator).Marshal, must(sampleAuthenticator().Marshal()))
}

func FuzzParseAPRep(f *testing.F) {
	fuzzRoundTrip(f, ParseAPRep, (*APRep).Marshal, must((&APRep{EncPart: EncryptedData{EType: 18, Cipher: []byte{1}}}).Marshal()))
}

func FuzzParseEncAPRepPart(f *testing.F) {
	fuzzRoundTrip(f, ParseEncAPRepPart, (*EncAPRepPart).Marshal, must(sampleEncAPRepPart().Marshal()))
}

func FuzzParseKRBError(f *testing.F) {
	fuzzRoundTrip(f, ParseKRBError, (*KRBError).Marshal, must(sampleKRBError().Marshal()))
}

func FuzzParsePAEncTSEnc(f *testing.F) {
	fuzzRoundTrip(f, ParsePAEncTSEnc, (*PAEncTSEnc).Marshal, must((&PAEncTSEnc{Timestamp: t0, Usec: i32(3)}).Marshal()))
}

func FuzzParseETypeInfo2(f *testing.F) {
	fuzzRoundTrip(f, ParseETypeInfo2, ETypeInfo2.Marshal, must(sampleETypeInfo2().Marshal()))
}

func FuzzParsePACRequest(f *testing.F) {
	fuzzRoundTrip(f, ParsePACRequest, (*PACRequest).Marshal, must((&PACRequest{}).Marshal()))
}

func FuzzParseAuthorizationData(f *testing.F) {
	fuzzRoundTrip(f, ParseAuthorizationData, AuthorizationData.Marshal,
		must(AuthorizationData{{ADType: ADIfRelevant, ADData: []byte{0x30, 0x00}}}.Marshal()))
}

func FuzzParseMethodData(f *testing.F) {
	fuzzRoundTrip(f, ParseMethodData, MethodData.Marshal,
		must(MethodData{{Type: PAETypeInfo2, Value: must(sampleETypeInfo2().Marshal())}, {Type: PAEncTimestamp}}.Marshal()))
}

func FuzzParseEncryptedData(f *testing.F) {
	fuzzRoundTrip(f, ParseEncryptedData, (*EncryptedData).Marshal,
		must((&EncryptedData{EType: 18, KVNO: 2, Cipher: []byte("x")}).Marshal()), must((&EncryptedData{EType: 17}).Marshal()))
}
