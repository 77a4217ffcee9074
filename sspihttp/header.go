package sspihttp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Scheme is an HTTP authentication scheme this package speaks. Its value
// is both the scheme's name on the wire and the name of the SSPI package
// that runs it.
type Scheme string

// The schemes.
const (
	// Negotiate is RFC 4559: SPNEGO tokens, which carry Kerberos or NTLM.
	Negotiate Scheme = "Negotiate"
	// NTLM is NTLM tokens without SPNEGO, as MS-NTHT describes.
	NTLM Scheme = "NTLM"
)

// defaultSchemes is what servers offer and clients accept when not told.
var defaultSchemes = []Scheme{Negotiate, NTLM}

// checkSchemes validates a configured list and fills in the default.
func checkSchemes(s []Scheme) ([]Scheme, error) {
	if len(s) == 0 {
		return defaultSchemes, nil
	}
	out := make([]Scheme, 0, len(s))
	for _, x := range s {
		if x != Negotiate && x != NTLM {
			return nil, fmt.Errorf("sspihttp: unknown scheme %q (want Negotiate or NTLM)", x)
		}
		for _, y := range out {
			if x == y {
				return nil, fmt.Errorf("sspihttp: scheme %s listed twice", x)
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// Errors of parseAuthorization. The server answers both with 400.
var (
	errMalformed = errors.New("malformed Authorization header")
	errTooLarge  = errors.New("the Authorization header is too large")
)

// parseAuthorization splits an Authorization header value of the form
// `scheme SP token68` (RFC 9110, section 11.4) and decodes the token as
// base64. A value with a scheme and nothing after it returns a nil token;
// a value whose credentials are not a token68 (auth-params, as Basic or
// Digest send) returns the scheme and errMalformed, so that the caller can
// still tell an unknown scheme from a broken one of its own.
func parseAuthorization(v string, limit int) (scheme string, token []byte, err error) {
	if len(v) > limit {
		return "", nil, errTooLarge
	}
	v = strings.Trim(v, " \t")
	i := 0
	for i < len(v) && isTchar(v[i]) {
		i++
	}
	if i == 0 {
		return "", nil, fmt.Errorf("%w: no scheme", errMalformed)
	}
	scheme, rest := v[:i], v[i:]
	if rest == "" {
		return scheme, nil, nil
	}
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", nil, fmt.Errorf("%w: the scheme has an invalid character", errMalformed)
	}
	rest = strings.TrimLeft(rest, " \t")
	if !isToken68(rest) {
		return scheme, nil, fmt.Errorf("%w: the credentials are not one token68", errMalformed)
	}
	token, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(rest, "="))
	if err != nil {
		return scheme, nil, fmt.Errorf("%w: the token is not base64: %w", errMalformed, err)
	}
	if len(token) == 0 {
		return scheme, nil, fmt.Errorf("%w: empty token", errMalformed)
	}
	return scheme, token, nil
}

// formatToken is the header value for a token of scheme s: the scheme
// alone when there is no token.
func formatToken(s Scheme, token []byte) string {
	if len(token) == 0 {
		return string(s)
	}
	return string(s) + " " + base64.StdEncoding.EncodeToString(token)
}

// isTchar reports the token characters of RFC 9110, section 5.6.2.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isToken68Char reports the characters of token68 before its padding.
func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// isToken68 reports whether s is exactly one token68 (RFC 9110, section
// 11.2): at least one token68 character, then only '=' padding.
func isToken68(s string) bool {
	i := 0
	for i < len(s) && isToken68Char(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// challenge is one challenge of a WWW-Authenticate header.
type challenge struct {
	scheme string
	token  string // the token68, still encoded; "" when none
}

// parseChallenges reads the challenges of WWW-Authenticate header values
// (RFC 9110, section 11.6.1): each value is a comma-separated list whose
// challenges carry a token68, auth-params or nothing. Only schemes and
// token68s are kept; auth-params are skipped, quoted strings included.
// Garbage is skipped rather than refused: a client takes what it can use.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		p := &lexer{s: v}
		for {
			p.skip(", \t")
			if p.done() {
				break
			}
			scheme := p.token()
			if scheme == "" {
				p.i++ // not a scheme: skip the character
				continue
			}
			c := challenge{scheme: scheme}
			p.skip(" \t")
			if t, ok := p.token68(); ok {
				c.token = t
			} else {
				p.params()
			}
			out = append(out, c)
		}
	}
	return out
}

// lexer walks one header value.
type lexer struct {
	s string
	i int
}

func (p *lexer) done() bool { return p.i >= len(p.s) }

func (p *lexer) skip(set string) {
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *lexer) token() string {
	j := p.i
	for j < len(p.s) && isTchar(p.s[j]) {
		j++
	}
	t := p.s[p.i:j]
	p.i = j
	return t
}

// token68 consumes a token68 that ends the challenge (followed by a comma
// or the end), and reports whether there was one.
func (p *lexer) token68() (string, bool) {
	j := p.i
	for j < len(p.s) && (isToken68Char(p.s[j]) || p.s[j] == '=') {
		j++
	}
	k := j
	for k < len(p.s) && (p.s[k] == ' ' || p.s[k] == '\t') {
		k++
	}
	if j == p.i || (k < len(p.s) && p.s[k] != ',') || !isToken68(p.s[p.i:j]) {
		return "", false
	}
	t := p.s[p.i:j]
	p.i = k
	return t, true
}

// params consumes auth-params (name=value pairs, comma-separated) until
// the next challenge or the end.
func (p *lexer) params() {
	for !p.done() {
		save := p.i
		p.skip(", \t")
		name := p.token()
		p.skip(" \t")
		if name == "" || p.done() || p.s[p.i] != '=' {
			p.i = save // the start of the next challenge
			if name == "" {
				p.i++ // or garbage: step over it
			}
			return
		}
		p.i++
		p.skip(" \t")
		if !p.done() && p.s[p.i] == '"' {
			p.quoted()
		} else {
			p.token()
		}
		p.skip(" \t")
	}
}

// quoted consumes a quoted-string with its backslash escapes.
func (p *lexer) quoted() {
	p.i++ // opening quote
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\\':
			p.i += 2
			continue
		case '"':
			p.i++
			return
		}
		p.i++
	}
	p.i = len(p.s)
}
