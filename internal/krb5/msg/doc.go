// Package msg encodes and decodes the Kerberos V5 messages of RFC 4120 in
// DER: the AS, TGS and AP exchanges, KRB-ERROR, tickets and the encrypted
// parts, authenticators, and the pre-authentication and authorization
// data the fake's Kerberos needs (PA-ENC-TIMESTAMP, PA-ETYPE-INFO2,
// PA-PAC-REQUEST, AD-IF-RELEVANT).
//
// The package knows nothing of keys: encrypted parts are EncryptedData
// values that the caller encrypts and decrypts with internal/krb5/kcrypto,
// marshaling the plaintext structures here.
//
// Decoding is written out with cryptobyte and encoding with a small DER
// builder of this package, rather than encoding/asn1, because Kerberos
// strings are GeneralStrings, which encoding/asn1 cannot write, and
// because the hand-written decoders are strict where it matters: DER
// lengths, integers and times, every field in its place. Fields with
// unknown context tags after the known ones are skipped, as ASN.1
// extensions; anything else unexpected is refused with ErrMalformed.
// Decoders never panic, whatever the input (each has a fuzz target).
//
// Optional fields are zero values when absent: a zero time.Time, a nil
// pointer or slice, a 0 key version number, an empty string where the
// field is a name or text. The few optional integers where 0 is a value
// (sequence numbers, microseconds) are pointers.
package msg
