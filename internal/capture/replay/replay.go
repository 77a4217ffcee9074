// Package replay plays the fake's side of a conversation captured from a
// real peer (package capture) against the peer's recorded tokens. It is
// apart from package capture because it needs the fake backend, whose own
// packages read captures too.
package replay

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/capture"
)

// Run plays the fake's side of a capture against the recorded peer: on
// a fresh fake machine as c.Machine describes, it makes the fake's context
// of c.Package and checks that the fake accepts every token and message
// the peer sent, says byte for byte what it said in the capture (the
// peer's recorded replies only fit that), and, as an acceptor, names the
// client as c.Account. It returns the first difference.
func Run(c *capture.Conversation) (err error) {
	if c.Machine == nil || c.Account == nil || c.Fake == "" {
		return errors.New("replay: not a capture of the fake (no machine, account or fake line)")
	}
	m := fake.NewMachine(fake.MachineConfig{
		Name: c.Machine.Name, Domain: c.Machine.Domain,
		Clock: func() time.Time { return c.Machine.Time },
		Rand:  &capture.Counter{},
	})
	a := c.Account
	m.AddUser(a.Domain, a.User, a.Password)
	store := sspictx.NewStore(m.NewProcess())
	initiator := c.Fake == "initiator"
	var cred *sspictx.Credentials
	if initiator {
		cred, err = store.AcquireCredentials(c.Package, flags.Outbound, &sspictx.AuthIdentity{Domain: a.Domain, User: a.User, Password: a.Password})
	} else {
		cred, err = store.AcquireCredentials(c.Package, flags.Inbound, nil)
	}
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cred.Release(), store.CheckLeaks()) }()

	var ctx *sspictx.Context
	var step func([]byte) ([]byte, bool, error)
	if initiator {
		cc := cred.NewClientContext(c.Target, flags.ClientReqIntegrity|flags.ClientReqConfidentiality|flags.ClientReqReplayDetect|flags.ClientReqSequenceDetect)
		ctx, step = &cc.Context, cc.Step
	} else {
		sc := cred.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality | flags.ServerReqReplayDetect | flags.ServerReqSequenceDetect)
		ctx, step = &sc.Context, sc.Step
	}
	// A failed step deletes the context already; CheckLeaks, deferred
	// above and run after this, reports any context left behind.
	defer func() { _ = ctx.Delete() }()

	if err := replayHandshake(c.Tokens, initiator, step); err != nil {
		return err
	}
	if !initiator {
		who, err := ctx.UserName()
		if err != nil {
			return err
		}
		if want := a.Domain + `\` + a.User; who != want {
			return fmt.Errorf("replay: the fake authenticated %q, want %q", who, want)
		}
	}
	for i, msg := range c.Messages {
		if err := replayMessage(ctx, msg, msg.FromInitiator == initiator); err != nil {
			return fmt.Errorf("replay: message %d: %w", i, err)
		}
	}
	return nil
}

// replayHandshake steps the fake through the recorded tokens: each token
// of the peer goes in, and what comes out must be the fake's next
// recorded token.
func replayHandshake(toks []capture.Token, initiator bool, step func([]byte) ([]byte, bool, error)) error {
	var in []byte
	done := false
	i := 0
	if !initiator {
		if len(toks) == 0 || !toks[0].FromInitiator {
			return errors.New("replay: the handshake does not start with the initiator")
		}
		in, i = toks[0].Data, 1
	}
	for n := 0; ; n++ {
		if done {
			if i < len(toks) {
				return fmt.Errorf("replay: the fake is done, yet %d more tokens were recorded", len(toks)-i)
			}
			return nil
		}
		out, d, err := step(in)
		if err != nil {
			return fmt.Errorf("replay: the fake's step %d: %w", n+1, err)
		}
		done = d
		if len(out) > 0 {
			if i >= len(toks) || toks[i].FromInitiator != initiator {
				return fmt.Errorf("replay: the fake's step %d sent %x, but the capture has no token of the fake there", n+1, out)
			}
			if !bytes.Equal(out, toks[i].Data) {
				return fmt.Errorf("replay: the fake's step %d sent\n%x\nbut in the capture it sent\n%x", n+1, out, toks[i].Data)
			}
			i++
		}
		if done {
			continue
		}
		if i >= len(toks) || toks[i].FromInitiator == initiator {
			return fmt.Errorf("replay: the fake waits after step %d, but the capture has no token of the peer there", n+1)
		}
		in = toks[i].Data
		i++
	}
}

// signatureSize is NTLM's: the trailer before a sealed message's data.
const signatureSize = 16

// replayMessage makes the fake protect a message it sent in the capture,
// which must come out the same, or check one the peer sent.
func replayMessage(ctx *sspictx.Context, m capture.Message, byFake bool) error {
	switch {
	case byFake && m.Sealed:
		tok, data, err := ctx.Seal(m.Plain)
		if err != nil {
			return err
		}
		if got := append(bytes.Clone(tok), data...); !bytes.Equal(got, m.Token) {
			return fmt.Errorf("the fake sealed %q as %x, in the capture as %x", m.Plain, got, m.Token)
		}
	case byFake:
		sig, err := ctx.Sign(m.Plain)
		if err != nil {
			return err
		}
		if !bytes.Equal(sig, m.Token) {
			return fmt.Errorf("the fake signed %q as %x, in the capture as %x", m.Plain, sig, m.Token)
		}
	case m.Sealed:
		if len(m.Token) < signatureSize {
			return fmt.Errorf("a sealed message of %d bytes", len(m.Token))
		}
		plain, err := ctx.Unseal(m.Token[:signatureSize], m.Token[signatureSize:])
		if err != nil {
			return fmt.Errorf("the fake refused the peer's sealed %q: %w", m.Plain, err)
		}
		if !bytes.Equal(plain, m.Plain) {
			return fmt.Errorf("the fake unsealed %q, the peer sealed %q", plain, m.Plain)
		}
	default:
		if err := ctx.Verify(m.Plain, m.Token); err != nil {
			return fmt.Errorf("the fake refused the peer's signature of %q: %w", m.Plain, err)
		}
	}
	return nil
}
