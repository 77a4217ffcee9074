package interop

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A throwaway MIT Kerberos realm on a loopback port, so that a SPNEGO
// initiator holds a real ticket and offers Kerberos first with an
// optimistic AP-REQ, as a domain-joined client does (the fake's server
// holds no key of that realm, so its Negotiate must steer such a client to
// NTLM); and so
// that the fake's Kerberos client gets real tickets from a real KDC for
// MIT's acceptor, which holds the service's keytab.

const (
	realmName = "GOSSPI.TEST"
	// The realm's service principal: the client can get a ticket for it,
	// so its Kerberos token is a real one the fake cannot use.
	realmService = "HTTP/localhost"
)

type realm struct {
	dir      string
	addr     string // the KDC's loopback address, TCP and UDP
	conf     string // krb5.conf for clients
	password string // the test user's Kerberos password
	keytab   string // realmService's keys, for MIT's acceptor
	kdc      *exec.Cmd
	done     chan struct{}
}

var kdcState struct {
	once sync.Once
	r    *realm
	err  error
}

// startRealm starts the realm once per test binary; stopKDC ends it.
func startRealm(t *testing.T) *realm {
	t.Helper()
	tier(t, toolKDC)
	kdcState.once.Do(func() { kdcState.r, kdcState.err = newRealm() })
	if kdcState.err != nil {
		t.Fatalf("starting the MIT KDC: %v", kdcState.err)
	}
	return kdcState.r
}

func stopKDC() {
	r := kdcState.r
	if r == nil {
		return
	}
	_ = r.kdc.Process.Kill()
	<-r.done
	_ = os.RemoveAll(r.dir)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// freePort finds a loopback port free for both TCP and UDP, which the KDC
// both listens on.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		_ = u.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no loopback port free for both TCP and UDP")
}

func newRealm() (r *realm, err error) {
	dir, err := os.MkdirTemp("", "gosspi-interop-kdc-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
[realms]
	%[1]s = {
		kdc = %[2]s
	}
[domain_realm]
	localhost = %[1]s
`, realmName, addr)
	kdcConf := fmt.Sprintf(`[kdcdefaults]
	kdc_listen = %[2]s
	kdc_tcp_listen = %[2]s
[realms]
	%[1]s = {
		database_name = %[3]s/principal
		key_stash_file = %[3]s/stash
		acl_file = %[3]s/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:%[3]s/kdc.log
`, realmName, addr, dir)
	for name, content := range map[string]string{"krb5.conf": conf, "kdc.conf": kdcConf, "kadm5.acl": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	env := childEnv("KRB5_CONFIG="+filepath.Join(dir, "krb5.conf"), "KRB5_KDC_PROFILE="+filepath.Join(dir, "kdc.conf"), "HOME="+dir)
	run := func(argv ...string) error {
		cmd := exec.Command(binPath(argv[0]), argv[1:]...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(argv[:2], " "), err, out)
		}
		return nil
	}
	// The test account's password, as everywhere in the tier.
	password := testPassword
	if err := run("kdb5_util", "create", "-s", "-r", realmName, "-P", "M-"+randomHex(8)); err != nil {
		return nil, err
	}
	// The user needs pre-authentication, as Active Directory's users do
	// unless an administrator turns it off.
	if err := run("kadmin.local", "-r", realmName, "-q", fmt.Sprintf("addprinc +requires_preauth -pw %s %s", password, testUser)); err != nil {
		return nil, err
	}
	if err := run("kadmin.local", "-r", realmName, "-q", "addprinc -randkey "+realmService); err != nil {
		return nil, err
	}
	keytab := filepath.Join(dir, "http.keytab")
	if err := run("kadmin.local", "-r", realmName, "-q", fmt.Sprintf("ktadd -k %s -norandkey %s", keytab, realmService)); err != nil {
		return nil, err
	}
	kdc := exec.Command(binPath("krb5kdc"), "-n", "-r", realmName, "-P", filepath.Join(dir, "kdc.pid"))
	kdc.Env = env
	out, err := os.Create(filepath.Join(dir, "krb5kdc.out"))
	if err != nil {
		return nil, err
	}
	kdc.Stdout, kdc.Stderr = out, out
	if err := kdc.Start(); err != nil {
		_ = out.Close()
		return nil, err
	}
	r = &realm{dir: dir, addr: addr, conf: conf, password: password, keytab: keytab, kdc: kdc, done: make(chan struct{})}
	go func() { _ = kdc.Wait(); _ = out.Close(); close(r.done) }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return r, nil
		}
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(dir, "krb5kdc.out"))
			return nil, fmt.Errorf("krb5kdc exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			_ = kdc.Process.Kill()
			<-r.done
			return nil, fmt.Errorf("krb5kdc does not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ticket gets the test user a ticket-granting ticket into a new ccache in
// d and returns the ccache's name.
func (r *realm) ticket(t *testing.T, d *peerDir) string {
	t.Helper()
	ccache := "FILE:" + filepath.Join(d.dir, "ccache")
	cmd := exec.Command(binPath("kinit"), testUser+"@"+realmName)
	cmd.Env = childEnv("KRB5_CONFIG="+filepath.Join(r.dir, "krb5.conf"), "KRB5CCNAME="+ccache, "HOME="+d.dir)
	cmd.Stdin = strings.NewReader(r.password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v: %s", err, out)
	}
	return ccache
}
