// Package kcrypto is the Kerberos cryptosystem of RFC 3961 with the AES
// encryption types of RFC 3962: aes256-cts-hmac-sha1-96 (etype 18) and
// aes128-cts-hmac-sha1-96 (etype 17), and their checksum types
// hmac-sha1-96-aes256 (16) and hmac-sha1-96-aes128 (15).
//
// These are what Windows domain controllers and MIT Kerberos negotiate by
// default, so the emulated Kerberos of the fake backend, its in-memory KDC
// and its tests against real MIT peers need nothing else.
//
// A [Key] is a protocol key: a long-term key from [StringToKey] or a
// session key from [RandomKey]. Every use of a key names a key usage
// (RFC 4120 section 7.5.1, RFC 4121 section 2), from which the simplified
// profile of RFC 3961 section 5 derives three keys: Ke to encrypt, Ki for
// the integrity of encrypted data, and Kc for checksums. A Key keeps the
// keys of each usage it has been used with ([Key.Encrypt], [Key.Decrypt],
// [Key.Checksum]), so a long-term key serving request after request
// derives them once; [Key.Derive] gives a [UsageKey] of one's own, as a
// context's message protection keeps. Each of the three is derived when
// it is first needed.
//
// Encryption is AES in CBC mode with ciphertext stealing over a random
// 16-byte confounder and the plaintext, followed by the first 12 bytes of
// HMAC-SHA1 over the same. Integrity failures are reported as
// [ErrIntegrity], after a constant-time comparison. Keys can be zeroed
// once their owner is done with them; the AES key schedules inside
// crypto/aes cannot, which is a limit of the standard library.
//
// Only the Go standard library and golang.org/x/crypto/pbkdf2 are used.
package kcrypto
