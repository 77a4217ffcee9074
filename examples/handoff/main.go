// Command handoff shows a security context moving between two real OS
// processes on one host, with gosspi's emulated SSPI.
//
// The parent runs an NTLM handshake between a client and a server on the
// host-bound fake machine, signs a message as the client, exports the
// server context with DELETE_OLD and pipes the packed blob to a child
// process. The child imports it, verifies the client's message, and prints
// who the client is. A blob exported here cannot be imported on another
// host: the machine's identity is bound into it and its key never leaves
// this host.
//
//	go run ./examples/handoff
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

const childArg = "-child"

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == childArg {
		err = child(os.Stdin, os.Stdout)
	} else {
		err = parent()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "handoff:", err)
		os.Exit(1)
	}
}

func parent() error {
	m, err := fake.HostMachine(fake.MachineConfig{Name: "HANDOFF", Domain: "CONTOSO"})
	if err != nil {
		return fmt.Errorf("binding the fake machine to this host: %w", err)
	}
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	store := sspictx.NewStore(m.NewProcess())
	fmt.Printf("[parent %d] machine %s\n", os.Getpid(), m.ID())
	if err := handoff(store); err != nil {
		return err
	}
	// Every credential and context was released: the store knows.
	return store.CheckLeaks()
}

func handoff(store *sspictx.Store) error {
	srvCred, err := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	if err != nil {
		return err
	}
	defer srvCred.Release()
	cliCred, err := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	if err != nil {
		return err
	}
	defer cliCred.Release()

	client := cliCred.NewClientContext("HOST/handoff.contoso.test", flags.ClientReqIntegrity|flags.ClientReqConfidentiality)
	defer client.Delete()
	server := srvCred.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
	defer server.Delete()
	var toServer, toClient []byte
	for done := false; !done; {
		if toServer, done, err = client.Step(toClient); err != nil {
			return err
		}
		if len(toServer) > 0 {
			if toClient, _, err = server.Step(toServer); err != nil {
				return err
			}
			fmt.Printf("[parent] handshake: client sent %d bytes, server answered %d\n", len(toServer), len(toClient))
		}
	}
	fmt.Printf("[parent] NTLM handshake done; server flags %v\n", server.Flags())

	msg := []byte("transfer 10 EUR to bob")
	sig, err := client.Sign(msg)
	if err != nil {
		return err
	}
	blob, err := server.Export(flags.DeleteOld)
	if err != nil {
		return err
	}
	fmt.Printf("[parent] exported the server context with DeleteOld: %d-byte sealed blob\n", len(blob))
	if _, err := server.Sizes(); errors.Is(err, sspictx.StatusInvalidHandle) {
		fmt.Println("[parent] the old server handle is gone:", sspictx.StatusOf(err))
	} else {
		return fmt.Errorf("the old handle should be invalid after DeleteOld, got %v", err)
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, childArg)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriter(in)
	for _, part := range [][]byte{blob, msg, sig} {
		if err := writeFrame(w, part); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("child: %w", err)
	}
	fmt.Println("[parent] the child took over the client's session")
	return nil
}

func child(r io.Reader, out io.Writer) error {
	var parts [3][]byte
	br := bufio.NewReader(r)
	for i := range parts {
		p, err := readFrame(br)
		if err != nil {
			return fmt.Errorf("reading from the parent: %w", err)
		}
		parts[i] = p
	}
	blob, msg, sig := parts[0], parts[1], parts[2]
	m, err := fake.HostMachine(fake.MachineConfig{Name: "HANDOFF", Domain: "CONTOSO"})
	if err != nil {
		return err
	}
	store := sspictx.NewStore(m.NewProcess())
	ctx, err := store.Import("NTLM", blob, nil)
	if err != nil {
		return err
	}
	defer ctx.Delete()
	if err := ctx.Verify(msg, sig); err != nil {
		return fmt.Errorf("verifying the client's message: %w", err)
	}
	who, err := ctx.UserName()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "[child %d] imported the server context; verified %q signed by %s\n", os.Getpid(), msg, who)
	if _, err := store.Import("NTLM", blob, nil); err != nil {
		fmt.Fprintf(out, "[child] a second import of the same blob is refused: %v\n", sspictx.StatusOf(err))
	} else {
		return errors.New("a second import of the same blob succeeded")
	}
	return nil
}

// writeFrame writes a 4-byte big-endian length and the bytes.
func writeFrame(w io.Writer, b []byte) error {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// readFrame reads what writeFrame wrote, refusing frames over 1 MiB.
func readFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes is too large", size)
	}
	b := make([]byte, size)
	_, err := io.ReadFull(r, b)
	return b, err
}
