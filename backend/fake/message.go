package fake

import (
	"github.com/gosspi/gosspi/backend"
)

// QueryContextAttributes returns one attribute of a context.
func (p *Process) QueryContextAttributes(h backend.Handle, attr backend.Attribute) (any, error) {
	const op = backend.OpQueryContextAttributes
	c, err := p.lookupCtx(op, h)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	name := c.pkg.info.Name
	if err := p.faults.check(op, name); err != nil {
		return nil, err
	}
	switch attr {
	case backend.AttrSizes:
		return c.sizes(), nil
	case backend.AttrPackageInfo:
		return c.runs.info, nil
	case backend.AttrNegotiationInfo:
		state := uint32(1) // SECPKG_NEGOTIATION_IN_PROGRESS
		if c.phase == established {
			state = 0 // SECPKG_NEGOTIATION_COMPLETE
		}
		return backend.NegotiationInfo{Package: c.runs.info, State: state}, nil
	case backend.AttrFlags:
		return backend.Flags{Flags: c.retFlags}, nil
	}
	if c.phase != established {
		return nil, errf(op, name, backend.StatusInvalidHandle, "%s needs an established context", attr)
	}
	if attr == backend.AttrLifespan {
		// Answered after expiry too: it is how a caller learns when.
		return backend.Lifespan{Start: c.start, Expiry: c.expiry}, nil
	}
	// What the context knows of its peer and its keys ends with it.
	if err := c.usable(op, p.now()); err != nil {
		return nil, err
	}
	switch attr {
	case backend.AttrNames:
		return backend.Names{UserName: c.domain + `\` + c.user}, nil
	case backend.AttrNativeNames:
		if n, ok := c.sess.(nativeNamer); ok {
			cl, sv := n.nativeNames()
			return backend.NativeNames{ClientName: cl, ServerName: sv}, nil
		}
		return backend.NativeNames{ClientName: c.domain + `\` + c.user, ServerName: c.serverName}, nil
	case backend.AttrAuthority:
		return backend.Authority{Name: c.domain}, nil
	case backend.AttrSessionKey:
		return backend.SessionKey{Key: c.sess.sessionKey()}, nil
	case backend.AttrAccessToken:
		if !c.server {
			return nil, errf(op, name, backend.StatusUnsupportedFunction, "a client context has no access token of its peer")
		}
		if c.attrToken == 0 {
			c.attrToken = p.newToken(c.identity(), true)
		}
		return backend.TokenHandle(c.attrToken), nil
	}
	return nil, errf(op, name, backend.StatusUnsupportedFunction, "attribute %s is not supported by %s", attr, name)
}

// dataOf returns the DATA buffers' bytes as one message, and whether there
// was exactly one such buffer: the common case, which costs no copy and
// can be encrypted in place.
func dataOf(msg []backend.Buffer) (data []byte, single bool) {
	n, first := 0, -1
	for i, b := range msg {
		if b.Type.Kind() == backend.BufferData {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	switch n {
	case 0:
		return nil, false
	case 1:
		return msg[first].Data, true
	}
	for _, b := range msg {
		if b.Type.Kind() == backend.BufferData {
			data = append(data, b.Data...)
		}
	}
	return data, false
}

// tokenIndex returns the index of the TOKEN buffer, or -1.
func tokenIndex(msg []backend.Buffer) int {
	for i, b := range msg {
		if b.Type.Kind() == backend.BufferToken {
			return i
		}
	}
	return -1
}

// tokenNeed is the room a message call needs in the TOKEN buffer.
type tokenNeed uint8

const (
	needNone      tokenNeed = iota // the token is read, not written
	needSignature                  // MakeSignature: SIZES.MaxSignature
	needTrailer                    // EncryptMessage: SIZES.SecurityTrailer
)

// protect is the shared preamble of the four message calls: it returns
// the locked, usable context and the token buffer index.
func (p *Process) protect(op backend.Op, h backend.Handle, qop uint32, msg []backend.Buffer, need tokenNeed) (*ctxEntry, int, error) {
	if qop != 0 {
		return nil, 0, errf(op, "", backend.StatusQOPNotSupported, "quality of protection %#x is not supported", qop)
	}
	c, err := p.lookupCtx(op, h)
	if err != nil {
		return nil, 0, err
	}
	name := c.pkg.info.Name
	fail := func(err error) (*ctxEntry, int, error) {
		c.mu.Unlock()
		return nil, 0, err
	}
	if err := p.faults.check(op, name); err != nil {
		return fail(err)
	}
	if err := c.usable(op, p.now()); err != nil {
		return fail(err)
	}
	t := tokenIndex(msg)
	if t < 0 {
		return fail(errf(op, name, backend.StatusInvalidToken, "no SECBUFFER_TOKEN buffer"))
	}
	var minToken uint32
	switch need {
	case needSignature:
		minToken = c.sess.sizes().MaxSignature
	case needTrailer:
		minToken = c.sess.sizes().SecurityTrailer
	}
	if uint32(len(msg[t].Data)) < minToken {
		return fail(errf(op, name, backend.StatusBufferTooSmall, "the token buffer holds %d bytes, %d are needed", len(msg[t].Data), minToken))
	}
	return c, t, nil
}

// MakeSignature signs the DATA buffers into the TOKEN buffer.
func (p *Process) MakeSignature(h backend.Handle, qop uint32, msg []backend.Buffer, seq uint32) error {
	const op = backend.OpMakeSignature
	c, t, err := p.protect(op, h, qop, msg, needSignature)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	data, _ := dataOf(msg)
	msg[t].Data = msg[t].Data[:c.sess.sign(data, msg[t].Data)]
	return nil
}

// VerifySignature checks the TOKEN buffer against the DATA buffers.
func (p *Process) VerifySignature(h backend.Handle, msg []backend.Buffer, seq uint32) (uint32, error) {
	const op = backend.OpVerifySignature
	c, t, err := p.protect(op, h, 0, msg, needNone)
	if err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	data, _ := dataOf(msg)
	if err := c.sess.verify(data, msg[t].Data); err != nil {
		return 0, mechFailure(op, c.pkg.info.Name, "signature refused", err)
	}
	return 0, nil
}

// EncryptMessage encrypts the DATA buffers in place and writes the
// signature into the TOKEN buffer.
func (p *Process) EncryptMessage(h backend.Handle, qop uint32, msg []backend.Buffer, seq uint32) error {
	const op = backend.OpEncryptMessage
	c, t, err := p.protect(op, h, qop, msg, needTrailer)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	data, single := dataOf(msg)
	if single {
		msg[t].Data = msg[t].Data[:c.sess.sealInPlace(data, msg[t].Data)]
		return nil
	}
	sealed, sig := c.sess.seal(data)
	scatter(msg, sealed)
	msg[t].Data = msg[t].Data[:copy(msg[t].Data, sig)]
	return nil
}

// DecryptMessage checks the TOKEN buffer and decrypts the DATA buffers in
// place. A refused message leaves the context as it was.
func (p *Process) DecryptMessage(h backend.Handle, msg []backend.Buffer, seq uint32) (uint32, error) {
	const op = backend.OpDecryptMessage
	c, t, err := p.protect(op, h, 0, msg, needNone)
	if err != nil {
		return 0, err
	}
	defer c.mu.Unlock()
	data, single := dataOf(msg)
	if single {
		if err := c.sess.unsealInPlace(data, msg[t].Data); err != nil {
			return 0, mechFailure(op, c.pkg.info.Name, "message refused", err)
		}
		return 0, nil
	}
	plain, err := c.sess.unseal(data, msg[t].Data)
	if err != nil {
		return 0, mechFailure(op, c.pkg.info.Name, "message refused", err)
	}
	scatter(msg, plain)
	return 0, nil
}

// scatter writes out back over the DATA buffers, in order.
func scatter(msg []backend.Buffer, out []byte) {
	for _, b := range msg {
		if b.Type.Kind() == backend.BufferData {
			out = out[copy(b.Data, out):]
		}
	}
}
