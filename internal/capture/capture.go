// Package capture reads and writes conversations captured from real
// security peers (MIT GSSAPI, Samba, ...), so that tests replay them
// against the fake without the peers installed.
//
// A capture is text, one record per line, '#' starting a comment:
//
//	# what was captured, from which peer and versions, and how
//	machine TESTHOST TEST 2026-11-29T12:00:00Z
//	account TEST alice Interop-Pw1!
//	fake acceptor Negotiate
//	target HTTP/localhost
//	i 604806062b06...            a token from the initiator, in hex
//	a a18199308196...            a token from the acceptor
//	seal i <plain hex> <token>   a message the initiator sealed after the handshake
//	sign a <plain hex> <token>   a message the acceptor signed
//
// "machine" is the fake machine the peer talked to: its name, domain and
// clock, with randomness from [Counter], so that the fake says again what
// it said then and a recorded reply of the peer still fits (package
// replay plays the fake's side again). "fake" names
// the side the fake played and its package; a capture of two real peers
// has neither line. A sealed message's token is the signature followed by
// the sealed data, as GSSAPI's wrap lays it out for NTLM.
package capture

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Conversation is one captured handshake and the messages after it.
type Conversation struct {
	About    []string // the comment lines, without "# "
	Machine  *Machine // the fake machine of the capture, or nil
	Account  *Account // the account that authenticated, or nil
	Fake     string   // "initiator" or "acceptor": the fake's side, or ""
	Package  string   // the fake's security package, with Fake
	Target   string   // the SPN the initiator named, or ""
	Tokens   []Token
	Messages []Message
}

// Machine is a fake machine whose randomness is a Counter.
type Machine struct {
	Name, Domain string
	Time         time.Time
}

// Account is a user of the machine's directory.
type Account struct {
	Domain, User, Password string
}

// Token is one handshake token.
type Token struct {
	FromInitiator bool
	Data          []byte
}

// Message is one protected message after the handshake.
type Message struct {
	FromInitiator bool
	Sealed        bool // sealed (wrap) rather than signed (get_mic)
	Plain         []byte
	Token         []byte // the signature; for a sealed message, followed by the sealed data
}

// ErrSyntax is wrapped by every Parse error.
var ErrSyntax = errors.New("capture: malformed capture")

// maxSize bounds what Parse reads: captures are a few kilobytes.
const maxSize = 1 << 20

func side(s string) (fromInitiator bool, err error) {
	switch s {
	case "i":
		return true, nil
	case "a":
		return false, nil
	}
	return false, fmt.Errorf("side %q is neither i nor a", s)
}

func sideOf(fromInitiator bool) string {
	if fromInitiator {
		return "i"
	}
	return "a"
}

// Parse reads a capture.
func Parse(b []byte) (*Conversation, error) {
	if len(b) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrSyntax, len(b))
	}
	c := &Conversation{}
	for n, line := range strings.Split(string(b), "\n") {
		if err := c.parseLine(line); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, n+1, err)
		}
	}
	return c, nil
}

func (c *Conversation) parseLine(line string) error {
	// A CRLF file may end lines in several CRs; none belongs to the text.
	line = strings.TrimRight(line, "\r")
	if rest, ok := strings.CutPrefix(line, "#"); ok {
		c.About = append(c.About, strings.TrimPrefix(rest, " "))
		return nil
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	want := map[string]int{"machine": 4, "account": 4, "fake": 3, "target": 2, "i": 2, "a": 2, "seal": 4, "sign": 4}
	n, ok := want[f[0]]
	if !ok {
		return fmt.Errorf("unknown record %q", f[0])
	}
	if len(f) != n {
		return fmt.Errorf("%s has %d fields, want %d", f[0], len(f), n)
	}
	switch f[0] {
	case "machine":
		if c.Machine != nil {
			return errors.New("a second machine")
		}
		t, err := time.Parse(time.RFC3339, f[3])
		if err != nil {
			return err
		}
		c.Machine = &Machine{Name: f[1], Domain: f[2], Time: t}
	case "account":
		if c.Account != nil {
			return errors.New("a second account")
		}
		c.Account = &Account{Domain: f[1], User: f[2], Password: f[3]}
	case "fake":
		if c.Fake != "" {
			return errors.New("a second fake")
		}
		if f[1] != "initiator" && f[1] != "acceptor" {
			return fmt.Errorf("the fake is %q, neither initiator nor acceptor", f[1])
		}
		c.Fake, c.Package = f[1], f[2]
	case "target":
		c.Target = f[1]
	case "i", "a":
		data, err := hex.DecodeString(f[1])
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return errors.New("an empty token")
		}
		c.Tokens = append(c.Tokens, Token{FromInitiator: f[0] == "i", Data: data})
	case "seal", "sign":
		from, err := side(f[1])
		if err != nil {
			return err
		}
		plain, err := hex.DecodeString(f[2])
		if err != nil {
			return err
		}
		tok, err := hex.DecodeString(f[3])
		if err != nil {
			return err
		}
		c.Messages = append(c.Messages, Message{FromInitiator: from, Sealed: f[0] == "seal", Plain: plain, Token: tok})
	}
	return nil
}

// Marshal writes c in the form Parse reads. Empty messages and tokens
// cannot be written ("-" would be ambiguous with hex), and words may not
// contain spaces.
func (c *Conversation) Marshal() ([]byte, error) {
	var b bytes.Buffer
	for _, a := range c.About {
		if strings.Contains(a, "\n") {
			return nil, errors.New("capture: a comment line contains a newline")
		}
		fmt.Fprintf(&b, "# %s\n", a)
	}
	words := func(ws ...string) error {
		for _, w := range ws {
			if w == "" || strings.ContainsAny(w, " \t\r\n") {
				return fmt.Errorf("capture: %q cannot be a word", w)
			}
		}
		b.WriteString(strings.Join(ws, " ") + "\n")
		return nil
	}
	if m := c.Machine; m != nil {
		if err := words("machine", m.Name, m.Domain, m.Time.UTC().Format(time.RFC3339)); err != nil {
			return nil, err
		}
	}
	if a := c.Account; a != nil {
		if err := words("account", a.Domain, a.User, a.Password); err != nil {
			return nil, err
		}
	}
	if c.Fake != "" {
		if err := words("fake", c.Fake, c.Package); err != nil {
			return nil, err
		}
	}
	if c.Target != "" {
		if err := words("target", c.Target); err != nil {
			return nil, err
		}
	}
	for _, t := range c.Tokens {
		if err := words(sideOf(t.FromInitiator), hex.EncodeToString(t.Data)); err != nil {
			return nil, err
		}
	}
	for _, m := range c.Messages {
		kind := "sign"
		if m.Sealed {
			kind = "seal"
		}
		if err := words(kind, sideOf(m.FromInitiator), hex.EncodeToString(m.Plain), hex.EncodeToString(m.Token)); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// Counter is the randomness of a capture's fake machine: the bytes 1, 2,
// 3, ... wrapping after 255, from the start for each new Counter.
type Counter struct{ n byte }

func (r *Counter) Read(p []byte) (int, error) {
	for i := range p {
		r.n++
		p[i] = r.n
	}
	return len(p), nil
}
