// Command domain shows Windows domain authentication on gosspi's emulated
// SSPI: a domain whose KDC two machines share, a user who logs on to a
// workstation, and a web server that learns who she is and her groups,
// with Kerberos, which Negotiate prefers; then the same user asking for a
// service no account has registered, where Negotiate falls back to NTLM,
// as Windows does.
//
//	go run ./examples/domain
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "domain:", err)
		os.Exit(1)
	}
}

func run() error {
	// The domain: its KDC and directory, a user, and two machines joined
	// to it. The web server's SPN is registered on its machine account.
	dom, err := fake.NewDomain(fake.DomainConfig{Name: "CONTOSO", DNSName: "contoso.test"})
	if err != nil {
		return err
	}
	if _, err := dom.AddUser("alice", "Passw0rd!", "Domain Admins", "Report Readers"); err != nil {
		return err
	}
	ws01, err := dom.NewMachine(fake.MachineConfig{Name: "WS01"})
	if err != nil {
		return err
	}
	web01, err := dom.NewMachine(fake.MachineConfig{Name: "WEB01"})
	if err != nil {
		return err
	}
	if err := dom.AddSPN("WEB01$", "HTTP/web01.contoso.test"); err != nil {
		return err
	}

	// alice is logged on at WS01; the web server runs on WEB01.
	client := sspictx.NewStore(ws01.NewProcess(fake.AsUser("CONTOSO", "alice", "Passw0rd!")))
	server := sspictx.NewStore(web01.NewProcess())

	for _, spn := range []string{"HTTP/web01.contoso.test", "HTTP/intranet.contoso.test"} {
		if err := logOn(dom, client, server, spn); err != nil {
			return fmt.Errorf("%s: %w", spn, err)
		}
	}
	if err := client.CheckLeaks(); err != nil {
		return err
	}
	return server.CheckLeaks()
}

// logOn runs one Negotiate handshake from the client's store to the
// server's for target, then has the server say who the client is, with
// the names of her groups as the domain knows them.
func logOn(dom *fake.Domain, clientStore, serverStore *sspictx.Store, target string) error {
	cc, err := clientStore.AcquireCredentials("Negotiate", flags.Outbound, nil)
	if err != nil {
		return err
	}
	defer cc.Release()
	sc, err := serverStore.AcquireCredentials("Negotiate", flags.Inbound, nil)
	if err != nil {
		return err
	}
	defer sc.Release()
	client := cc.NewClientContext(target, flags.ClientReqMutualAuth|flags.ClientReqConfidentiality)
	defer client.Delete()
	server := sc.NewServerContext(0)
	defer server.Delete()
	if err := fake.Handshake(client, server); err != nil {
		return err
	}

	info, err := server.PackageInfo()
	if err != nil {
		return err
	}
	who, err := server.UserName()
	if err != nil {
		return err
	}
	token, err := server.AccessToken()
	if err != nil {
		return err
	}
	ti, err := token.Info()
	token.Close()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s authenticated with %s\n", target, who, info.Name)
	var groups []string
	for _, sid := range ti.Groups {
		if name, ok := dom.LookupSID(sid); ok {
			groups = append(groups, name)
		} else {
			groups = append(groups, sid)
		}
	}
	fmt.Printf("  groups: %s\n", strings.Join(groups, ", "))

	// The session protects messages whichever package ran.
	trailer, data, err := client.Seal([]byte("GET /reports"))
	if err != nil {
		return err
	}
	plain, err := server.Unseal(trailer, data)
	if err != nil {
		return err
	}
	fmt.Printf("  the server read %q\n", plain)
	return nil
}
