package client

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// maxReply bounds a KDC reply read over TCP.
const maxReply = 1 << 20

// NetworkExchange returns an ExchangeFunc that reaches the KDC of each
// realm at the address kdcs names (host:port), as the "kdc" lines of
// MIT's configuration do: over UDP first, as MIT clients do for small
// requests, and over TCP when the KDC answers KRB_ERR_RESPONSE_TOO_BIG or
// the request is large (RFC 4120 section 7.2).
func NetworkExchange(kdcs map[string]string) ExchangeFunc {
	return func(ctx context.Context, realm string, req []byte) ([]byte, error) {
		addr, ok := kdcs[realm]
		if !ok {
			for r, a := range kdcs {
				if strings.EqualFold(r, realm) {
					addr, ok = a, true
				}
			}
		}
		if !ok {
			return nil, fmt.Errorf("client: no KDC known for realm %s", realm)
		}
		if len(req) <= 1465 {
			rep, err := exchangeUDP(ctx, addr, req)
			if err != nil {
				return nil, err
			}
			if t, _ := msg.MessageType(rep); t != msg.MsgKRBError {
				return rep, nil
			}
			if kerr, err := msg.ParseKRBError(rep); err != nil || kerr.ErrorCode != msg.KRBErrResponseTooBig {
				return rep, nil
			}
		}
		return exchangeTCP(ctx, addr, req)
	}
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(10 * time.Second)
}

func exchangeUDP(ctx context.Context, addr string, req []byte) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer c.Close()
	c.SetDeadline(deadline(ctx))
	if _, err := c.Write(req); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return buf[:n], nil
}

func exchangeTCP(ctx context.Context, addr string, req []byte) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer c.Close()
	c.SetDeadline(deadline(ctx))
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(req)), uint32(len(req)))
	if _, err := c.Write(append(out, req...)); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxReply {
		return nil, fmt.Errorf("client: a KDC reply of %d bytes", n)
	}
	rep := make([]byte, n)
	if _, err := io.ReadFull(c, rep); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return rep, nil
}
