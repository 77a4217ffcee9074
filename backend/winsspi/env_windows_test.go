//go:build windows

package winsspi_test

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/windows/registry"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/backendtest"
	"github.com/gosspi/gosspi/backend/winsspi"
	sspictx "github.com/gosspi/gosspi/context"
)

// The environment the tests read. .ci/wine/run.sh sets all of them for the
// Wine tier; the windows-latest job of .github/workflows/ci.yml sets the
// GOSSPI_TEST_* ones for the local account it creates.
const (
	envWine       = "GOSSPI_WINE"          // "1": running under Wine
	envUser       = "GOSSPI_TEST_USER"     // NTLM client account
	envPassword   = "GOSSPI_TEST_PASSWORD" // its password
	envDomain     = "GOSSPI_TEST_DOMAIN"   // its domain (default: %COMPUTERNAME%)
	envKrbUser    = "GOSSPI_KRB5_USER"     // Kerberos client principal (no realm)
	envKrbPass    = "GOSSPI_KRB5_PASSWORD" // its password
	envKrbRealm   = "GOSSPI_KRB5_REALM"    // the realm, e.g. GOSSPI.TEST
	envKrbTarget  = "GOSSPI_KRB5_TARGET"   // service principal, e.g. HTTP/localhost
	envNegotiate  = "GOSSPI_NEGOTIATE"     // "0": leave Negotiate out
	envRequire    = "GOSSPI_REQUIRE_TIERS" // "1" (set by .ci/run and the Windows CI job): missing setup fails, never skips
	wineKeyPath   = `Software\Wine`
	wrongPassword = "definitely-not-the-password"
)

// underWine reports whether the tests run under Wine: GOSSPI_WINE=1 or the
// HKCU\Software\Wine key that every Wine prefix has.
func underWine() bool {
	if os.Getenv(envWine) == "1" {
		return true
	}
	k, err := registry.OpenKey(registry.CURRENT_USER, wineKeyPath, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	k.Close()
	return true
}

// tiersRequired reports whether missing test setup must fail rather than skip.
func tiersRequired() bool { return os.Getenv(envRequire) == "1" }

// skipOrFail skips a test that lacks its setup, or fails it when GOSSPI_REQUIRE_TIERS=1.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if tiersRequired() {
		t.Fatalf("GOSSPI_REQUIRE_TIERS=1 and %s", why)
	}
	t.Skip(why)
}

// ntlmIdentity returns the explicit NTLM client from the environment, or nil.
func ntlmIdentity() *sspictx.AuthIdentity {
	user := os.Getenv(envUser)
	if user == "" {
		return nil
	}
	domain := os.Getenv(envDomain)
	if domain == "" {
		domain = os.Getenv("COMPUTERNAME")
	}
	return &sspictx.AuthIdentity{User: user, Domain: domain, Password: os.Getenv(envPassword)}
}

// krbIdentity returns the Kerberos client from the environment, or nil.
func krbIdentity() *sspictx.AuthIdentity {
	user, realm := os.Getenv(envKrbUser), os.Getenv(envKrbRealm)
	if user == "" || realm == "" {
		return nil
	}
	return &sspictx.AuthIdentity{User: user, Domain: realm, Password: os.Getenv(envKrbPass)}
}

func withPassword(id *sspictx.AuthIdentity, pw string) *sspictx.AuthIdentity {
	c := *id
	c.Password = pw
	return &c
}

// wineCaps is what Wine 8's secur32 does, as the Wine tier observes it: no
// export or import, no QuerySecurityContextToken, no
// ImpersonateSecurityContext, no NAMES, SESSION_KEY or PACKAGE_INFO
// attributes; the rest is explained case by case below.
func wineCaps(pkg string) backendtest.Caps {
	c := backendtest.Caps{
		Export:       backendtest.Unsupported,
		ContextToken: backendtest.Unsupported,
		Impersonate:  backendtest.Unsupported,
		Names:        backendtest.Unsupported,
		SessionKey:   backendtest.Unsupported,
		PackageInfo:  backendtest.Unsupported,
	}
	switch pkg {
	case "NTLM", "Negotiate":
		// A token that is neither Kerberos nor NTLM goes to ntlm_auth,
		// which answers "BH"; Wine reports SEC_E_INTERNAL_ERROR.
		c.BadTokenStatus = sspictx.StatusInternalError
	}
	if pkg == "NTLM" {
		// Wine's NTLM returns no ISC_RET/ASC_RET flags.
		c.ContextFlags = backendtest.Broken
	}
	switch pkg {
	case "NTLM":
		// Without winbindd, ntlm_auth gives Wine's NTLM acceptor no
		// session key: the server side signs, verifies and seals with a
		// zero key, so no message crosses in either direction.
		c.ClientSign = backendtest.Broken
		c.ServerSign = backendtest.Broken
		c.Seal = backendtest.Broken
	case "Kerberos", "Negotiate":
		// Wine maps GSS_S_DUPLICATE_TOKEN to SEC_E_INVALID_TOKEN: a
		// replayed message is refused, but not with SEC_E_OUT_OF_SEQUENCE.
		c.SequenceDetect = backendtest.Broken
		// Wine's Kerberos signs with MIT krb5's gss_get_mic, which reads
		// and bumps the context's sequence number without a lock: two
		// MakeSignature calls at once on one handle can return the same
		// MIC token, with one sequence number. (The Store serializes
		// calls on a context, so only code going below it meets this.)
		c.ConcurrentSequence = backendtest.Broken
		// Wine reports cbSecurityTrailer 49, but MIT's AES wrap tokens
		// need 60 bytes: EncryptMessage with a trailer buffer of the
		// reported size fails with SEC_E_BUFFER_TOO_SMALL.
		c.Seal = backendtest.Broken
	}
	return c
}

// windowsCaps is what the windows-latest job declares for real Windows,
// where no run has been observed yet. Where Microsoft documents the answer
// the suite checks it exactly. Where it does not, the check accepts the
// plausible statuses and logs which one came ("backendtest: observed"
// lines in the job's output), so that the first run teaches the answer;
// declare it then.
func windowsCaps(pkg string) backendtest.Caps {
	// A replayed or reordered NTLM message: with key exchange the
	// receiver's RC4 stream is out of step, and the checksum may fail
	// before the sequence number is compared.
	seq := []sspictx.Status{sspictx.StatusOutOfSequence, sspictx.StatusMessageAltered}
	importStatuses := []sspictx.Status{sspictx.StatusOK, sspictx.StatusInvalidToken, sspictx.StatusNoImpersonation,
		sspictx.StatusInvalidParameter, sspictx.StatusUnknownCredentials, sspictx.StatusInternalError}
	return backendtest.Caps{
		// Impersonation and one handle driven from many goroutines at
		// once: run the checks, log what does not hold.
		Impersonate:    backendtest.Unknown,
		Unsynchronized: backendtest.Unknown,
		// A Windows Negotiate context exports the blob of the package it
		// negotiated: import under that name first, then "Negotiate".
		ImportNegotiated: pkg == "Negotiate",
		Observed: map[backendtest.Check][]sspictx.Status{
			backendtest.CheckReplay:       seq,
			backendtest.CheckReorder:      seq,
			backendtest.CheckExportCopies: seq,
			// The package may refuse the ToKernel bit, call the flags
			// invalid, or ignore the bit (and honour DeleteOld).
			backendtest.CheckToKernel: {sspictx.StatusUnsupportedFunction, sspictx.StatusInvalidParameter, sspictx.StatusOK},
			// The suite imports with no access token; a server context
			// may need its client's token to be imported.
			backendtest.CheckImport: importStatuses,
			// The same blob with the client's token, which the child
			// process inherits.
			backendtest.CheckImportToken: importStatuses,
		},
	}
}

// harness describes the real backend on this machine to the conformance
// suite. Each backend is wrapped so that -v logs every call's status.
func harness(t *testing.T) backendtest.Harness {
	t.Helper()
	wine := underWine()
	h := backendtest.Harness{
		Name: "winsspi",
		NewBackend: func(tb testing.TB) backend.Backend {
			b, err := winsspi.New()
			if err != nil {
				tb.Fatalf("winsspi.New: %v", err)
			}
			return logged{b: b, t: tb}
		},
		// A second DeleteSecurityContext on one handle corrupts Wine.
		DoubleDelete: !wine,
	}
	if !wine {
		// Import in another process, as Microsoft describes it. (Wine
		// exports nothing, so there the suite checks the refusal in
		// this process.)
		h.Importer = importInChild
	}
	ntlm := ntlmIdentity()
	if ntlm == nil {
		skipOrFail(t, envUser+" is not set: no test account for the NTLM loopback")
	}
	clientName := ntlm.Domain + `\` + ntlm.User
	ntlmPkg := backendtest.Package{
		Name:          "NTLM",
		Client:        ntlm,
		Target:        "localhost",
		ClientName:    clientName,
		WrongPassword: withPassword(ntlm, wrongPassword),
	}
	if wine {
		ntlmPkg.Caps = wineCaps("NTLM")
	} else {
		ntlmPkg.Caps = windowsCaps("NTLM")
	}
	h.Packages = append(h.Packages, ntlmPkg)

	if wine {
		krb := krbIdentity()
		if krb == nil {
			skipOrFail(t, envKrbUser+"/"+envKrbRealm+" are not set: no loopback KDC for Kerberos")
		}
		h.Packages = append(h.Packages, backendtest.Package{
			Name:       "Kerberos",
			Client:     krb,
			Target:     os.Getenv(envKrbTarget),
			ClientName: krb.User + "@" + strings.ToUpper(krb.Domain),
			// No WrongPassword: Wine gets the TGT inside
			// AcquireCredentialsHandle and leaks STATUS_UNSUCCESSFUL
			// (0xC0000001) there instead of SEC_E_LOGON_DENIED.
			Caps: wineCaps("Kerberos"),
		})
		if os.Getenv(envNegotiate) != "0" {
			h.Packages = append(h.Packages, backendtest.Package{
				Name:       "Negotiate",
				Client:     krb,
				Target:     os.Getenv(envKrbTarget),
				ClientName: krb.User + "@" + strings.ToUpper(krb.Domain),
				Caps:       wineCaps("Negotiate"),
			})
		}
	} else if os.Getenv(envNegotiate) != "0" {
		// On a workgroup machine Negotiate falls back to NTLM.
		neg := ntlmPkg
		neg.Name = "Negotiate"
		neg.Caps = windowsCaps("Negotiate")
		h.Packages = append(h.Packages, neg)
	}
	return h
}
