package ntlm

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Known-answer tests from [MS-NLMP] 4.2.1 and 4.2.4.

func TestKATKeysAndResponses(t *testing.T) {
	v := loadVectors(t)
	user, domain, password := v["user"], v["domain"], v["password"]
	serverChallenge := v.hex(t, "server_challenge")
	clientChallenge := v.hex(t, "client_challenge")

	assert.Equal(t, v.hex(t, "nt_hash"), NTHash(password), "NTOWFv1 (4.2.2.1.2)")
	responseKey := NTOWFv2(password, user, domain)
	assert.Equal(t, v.hex(t, "response_key_nt"), responseKey, "NTOWFv2 (4.2.4.1.1)")
	assert.Equal(t, responseKey, NTOWFv2FromHash(NTHash(password), user, domain))
	assert.Equal(t, responseKey, NTOWFv2(password, "USER", domain), "user name is case-insensitive")
	assert.NotEqual(t, responseKey, NTOWFv2(password, user, "DOMAIN"), "domain is case-sensitive")

	pairs := AVPairs{
		{ID: AvNbDomainName, Value: utf16le(domain)},
		{ID: AvNbComputerName, Value: utf16le(v["server_name"])},
	}
	temp := ntlmv2Temp(binary.LittleEndian.Uint64(v.hex(t, "time")), clientChallenge, pairs.Marshal())
	assert.Equal(t, v.hex(t, "temp"), temp, "temp (4.2.4.1.3)")

	rk := NewResponseKey(password, user, domain)
	assert.Equal(t, responseKey, rk.Bytes())
	proofSum := rk.pads.sum(serverChallenge, temp)
	proof := proofSum[:]
	assert.Equal(t, v.hex(t, "nt_proof_str"), proof, "NTProofStr (4.2.4.2.2)")

	baseSum := rk.pads.sum(proof)
	base := baseSum[:]
	assert.Equal(t, v.hex(t, "session_base_key"), base, "SessionBaseKey = KeyExchangeKey (4.2.4.1.2)")

	assert.Equal(t, v.hex(t, "lmv2_response"), lmv2Response(&rk, serverChallenge, clientChallenge), "LMv2 (4.2.4.2.1)")
	assert.Equal(t, v.hex(t, "encrypted_random_session_key"), rc4Once(base, v.hex(t, "random_session_key")),
		"EncryptedRandomSessionKey (4.2.4.2.3)")

	flags := binary.LittleEndian.Uint32(v.hex(t, "challenge_flags"))
	rsk := v.hex(t, "random_session_key")
	sk := sealKey(rsk, flags, true)
	assert.Equal(t, v.hex(t, "client_sealing_key"), sk[:], "client SEALKEY (4.2.4.4)")
	gk := signKey(rsk, true)
	assert.Equal(t, v.hex(t, "client_signing_key"), gk[:], "client SIGNKEY (4.2.4.4)")
	sk = sealKey(rsk, flags, false)
	assert.Equal(t, v.hex(t, "x_server_sealing_key"), sk[:], "server SEALKEY (derived)")
	gk = signKey(rsk, false)
	assert.Equal(t, v.hex(t, "x_server_signing_key"), gk[:], "server SIGNKEY (derived)")
}

func TestKATSealAndUnseal(t *testing.T) {
	v := loadVectors(t)
	flags := binary.LittleEndian.Uint32(v.hex(t, "challenge_flags"))
	client, err := NewSession(v.hex(t, "random_session_key"), flags, true)
	require.NoError(t, err)
	sealed, sig := client.Seal(v.hex(t, "plaintext"))
	assert.Equal(t, v.hex(t, "sealed"), sealed, "sealed data (4.2.4.4)")
	assert.Equal(t, v.hex(t, "signature"), sig, "signature (4.2.4.4)")

	server, err := NewSession(v.hex(t, "random_session_key"), flags, false)
	require.NoError(t, err)
	plain, err := server.Unseal(v.hex(t, "sealed"), v.hex(t, "signature"))
	require.NoError(t, err)
	assert.Equal(t, v.hex(t, "plaintext"), plain)
}

func TestKATMessagesRoundTrip(t *testing.T) {
	v := loadVectors(t)

	chBytes := v.hex(t, "challenge_message")
	ch, err := ParseChallenge(chBytes)
	require.NoError(t, err)
	want := &ChallengeMessage{
		Flags:      binary.LittleEndian.Uint32(v.hex(t, "challenge_flags")),
		TargetName: "Server",
		TargetInfo: AVPairs{
			{ID: AvNbDomainName, Value: utf16le("Domain")},
			{ID: AvNbComputerName, Value: utf16le("Server")},
		},
		Version: mustHex("0600701700 00000f"),
	}
	copy(want.ServerChallenge[:], v.hex(t, "server_challenge"))
	if d := cmp.Diff(want, ch); d != "" {
		t.Errorf("CHALLENGE (4.2.4.3) mismatch (-want +got):\n%s", d)
	}
	assert.Equal(t, chBytes, ch.Marshal(), "CHALLENGE re-encodes byte for byte")

	authBytes := v.hex(t, "authenticate_message")
	auth, err := ParseAuthenticate(authBytes)
	require.NoError(t, err)
	wantAuth := &AuthenticateMessage{
		LmChallengeResponse:       v.hex(t, "lmv2_response"),
		NtChallengeResponse:       append(v.hex(t, "nt_proof_str"), v.hex(t, "temp")...),
		Domain:                    "Domain",
		User:                      "User",
		Workstation:               "COMPUTER",
		EncryptedRandomSessionKey: v.hex(t, "encrypted_random_session_key"),
		Flags:                     binary.LittleEndian.Uint32(v.hex(t, "authenticate_flags")),
		Version:                   mustHex("0501280a0000000f"),
	}
	if d := cmp.Diff(wantAuth, auth); d != "" {
		t.Errorf("AUTHENTICATE (4.2.4.3) mismatch (-want +got):\n%s", d)
	}
	assert.Equal(t, authBytes, auth.Marshal(), "AUTHENTICATE re-encodes byte for byte")
}

// The client, fed the 4.2.1 random values and the 4.2.4.3 CHALLENGE,
// produces the 4.2.4.3 AUTHENTICATE exactly.
func TestKATClientReproducesAuthenticate(t *testing.T) {
	v := loadVectors(t)
	rnd := append(v.hex(t, "client_challenge"), v.hex(t, "random_session_key")...)
	c := NewClient(ClientConfig{
		User: v["user"], Domain: v["domain"], Password: v["password"], Workstation: v["workstation"],
		Rand:            io.MultiReader(bytes.NewReader(rnd), fixedRand(0)),
		Now:             func() time.Time { return time.Unix(-fileTimeEpochDelta, 0) }, // FILETIME 0
		Flags:           binary.LittleEndian.Uint32(v.hex(t, "authenticate_flags")),
		Version:         mustHex("0501280a0000000f"),
		NoEmptyBindings: true, // the example predates Windows 7
	})
	_, err := c.Negotiate()
	require.NoError(t, err)
	auth, err := c.Authenticate(v.hex(t, "challenge_message"))
	require.NoError(t, err)
	assert.Equal(t, v.hex(t, "authenticate_message"), auth)
	assert.Equal(t, v.hex(t, "random_session_key"), c.SessionKey())
	assert.Equal(t, binary.LittleEndian.Uint32(v.hex(t, "authenticate_flags")), c.NegotiatedFlags())
}

// The server accepts the 4.2.4.3 AUTHENTICATE for the 4.2.4.3 CHALLENGE,
// recovers the random session key and unseals the 4.2.4.4 message.
func TestKATServerAcceptsAuthenticate(t *testing.T) {
	v := loadVectors(t)
	s := NewServer(ServerConfig{Lookup: func(domain, user string) ([]byte, bool) {
		if domain == "Domain" && user == "User" {
			return NTHash("Password"), true
		}
		return nil, false
	}})
	// The example CHALLENGE cannot come from Challenge (it lacks a
	// timestamp), so install it as if this server had sent it.
	s.state = serverChallenged
	s.challenge = v.hex(t, "challenge_message")
	copy(s.serverChallenge[:], v.hex(t, "server_challenge"))
	s.flags = binary.LittleEndian.Uint32(v.hex(t, "challenge_flags"))

	res, err := s.Authenticate(v.hex(t, "authenticate_message"))
	require.NoError(t, err)
	assert.Equal(t, "User", res.User)
	assert.Equal(t, "Domain", res.Domain)
	assert.Equal(t, "COMPUTER", res.Workstation)
	assert.False(t, res.MIC)
	assert.Equal(t, v.hex(t, "random_session_key"), res.SessionKey)

	sess, err := NewSession(res.SessionKey, res.Flags, false)
	require.NoError(t, err)
	plain, err := sess.Unseal(v.hex(t, "sealed"), v.hex(t, "signature"))
	require.NoError(t, err)
	assert.Equal(t, v.hex(t, "plaintext"), plain)
}
