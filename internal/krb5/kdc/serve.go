package kdc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// Transport limits.
const (
	// MaxRequestSize bounds a request over TCP; longer ones get
	// KRB_ERR_FIELD_TOOLONG, as RFC 4120 section 7.2.2 says.
	MaxRequestSize = 64 * 1024
	// MaxUDPReply is the largest reply sent over UDP; a longer one is
	// replaced by KRB_ERR_RESPONSE_TOO_BIG, and the client asks again
	// over TCP (RFC 4120 section 7.2.1). It is MIT's default
	// udp_preference_limit, below a typical path MTU.
	MaxUDPReply = 1465
	// idleTimeout closes a TCP connection that sends nothing.
	idleTimeout = 30 * time.Second
)

// Server serves a KDC over TCP and UDP (RFC 4120 section 7.2): over TCP
// each message has a four-byte big-endian length before it, over UDP it
// is a datagram.
type Server struct {
	kdc *KDC
	tcp net.Listener
	udp net.PacketConn
	wg  sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// ListenLoopback serves the KDC on 127.0.0.1, on one port for both TCP
// and UDP, as an MIT configuration line "kdc = 127.0.0.1:port" expects.
func (k *KDC) ListenLoopback() (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		tcp, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("kdc: %w", err)
		}
		udp, err := net.ListenPacket("udp", tcp.Addr().String())
		if err != nil {
			tcp.Close()
			lastErr = err
			continue // the port is taken for UDP; try another
		}
		return k.Serve(tcp, udp), nil
	}
	return nil, fmt.Errorf("kdc: no loopback port free for both TCP and UDP: %w", lastErr)
}

// Serve serves the KDC on the given listeners (either may be nil) until
// Close.
func (k *KDC) Serve(tcp net.Listener, udp net.PacketConn) *Server {
	s := &Server{kdc: k, tcp: tcp, udp: udp, conns: map[net.Conn]struct{}{}}
	if tcp != nil {
		s.wg.Add(1)
		go s.acceptTCP()
	}
	if udp != nil {
		s.wg.Add(1)
		go s.serveUDP()
	}
	return s
}

// Addr is the address the server listens on, host:port.
func (s *Server) Addr() string {
	if s.tcp != nil {
		return s.tcp.Addr().String()
	}
	return s.udp.LocalAddr().String()
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.done = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	var errs []error
	if s.tcp != nil {
		errs = append(errs, s.tcp.Close())
	}
	if s.udp != nil {
		errs = append(errs, s.udp.Close())
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

func (s *Server) acceptTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// serveConn answers the requests of one TCP connection, in turn.
func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	for {
		c.SetDeadline(time.Now().Add(idleTimeout))
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n&0x80000000 != 0 || n > MaxRequestSize {
			// The high bit is reserved for extensions this KDC does not
			// have; RFC 4120 section 7.2.2 answers both the same way.
			writeFrame(c, s.kdc.errorReply(kdcError(msg.KRBErrFieldTooLong, fmt.Sprintf("a request of length %#x", n), nil), s.kdc.now()))
			return
		}
		req := make([]byte, n)
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		if writeFrame(c, s.kdc.Handle(req)) != nil {
			return
		}
	}
}

func writeFrame(w io.Writer, b []byte) error {
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(b)), uint32(len(b)))
	_, err := w.Write(append(out, b...))
	return err
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, addr, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		rep := s.kdc.Handle(buf[:n])
		if len(rep) > MaxUDPReply {
			rep = s.kdc.errorReply(kdcError(msg.KRBErrResponseTooBig, "ask over TCP", nil), s.kdc.now())
		}
		s.udp.WriteTo(rep, addr)
	}
}
