package kdc_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/krb5/client"
	"github.com/gosspi/gosspi/internal/krb5/kdc"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

func TestServeOverTheNetwork(t *testing.T) {
	e := newEnv(t)
	e.clock.t = time.Now()
	srv, err := e.kdc.ListenLoopback()
	require.NoError(t, err)
	defer srv.Close()

	var sizes []int
	ex := client.NetworkExchange(map[string]string{realm: srv.Addr()})
	logged := func(ctx context.Context, r string, req []byte) ([]byte, error) {
		rep, err := ex(ctx, r, req)
		sizes = append(sizes, len(rep))
		return rep, err
	}
	c := client.New(client.Config{Realm: realm, Name: msg.NewPrincipal(1, "alice"), Key: client.PasswordKeys("s3cret"), Exchange: logged, Now: e.clock.Now})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tgt, err := c.GetTGT(ctx)
	require.NoError(t, err)
	st, err := c.GetServiceTicket(ctx, tgt, e.http)
	require.NoError(t, err)
	assert.Equal(t, spn, st.SName.String())
	t.Logf("reply sizes %v (over %d bytes they come by TCP)", sizes, kdc.MaxUDPReply)

	// Several requests on one TCP connection, then a length with the
	// reserved bit, which ends it with KRB_ERR_FIELD_TOOLONG.
	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer conn.Close()
	for i := 0; i < 2; i++ {
		rep := roundTrip(t, conn, []byte{0x30, 0x00})
		kerr, err := msg.ParseKRBError(rep)
		require.NoError(t, err)
		assert.Equal(t, msg.KRBErrGeneric, kerr.ErrorCode)
	}
	_, err = conn.Write([]byte{0x80, 0, 0, 1})
	require.NoError(t, err)
	rep := readFrame(t, conn)
	kerr, err := msg.ParseKRBError(rep)
	require.NoError(t, err)
	assert.Equal(t, msg.KRBErrFieldTooLong, kerr.ErrorCode)
	_, err = conn.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the KDC closes the connection")

	// A datagram gets a datagram.
	u, err := net.Dial("udp", srv.Addr())
	require.NoError(t, err)
	defer u.Close()
	_, err = u.Write([]byte{0x30, 0x00})
	require.NoError(t, err)
	buf := make([]byte, 2048)
	u.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := u.Read(buf)
	require.NoError(t, err)
	_, err = msg.ParseKRBError(buf[:n])
	require.NoError(t, err)

	require.NoError(t, srv.Close())
}

func roundTrip(t *testing.T, c net.Conn, req []byte) []byte {
	t.Helper()
	_, err := c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(req))), req...))
	require.NoError(t, err)
	return readFrame(t, c)
}

func readFrame(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [4]byte
	_, err := io.ReadFull(c, hdr[:])
	require.NoError(t, err)
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	_, err = io.ReadFull(c, b)
	require.NoError(t, err)
	return b
}
