package fake_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend/fake"
)

func TestDomainLookupSID(t *testing.T) {
	d, err := fake.NewDomain(fake.DomainConfig{Name: "CONTOSO"})
	require.NoError(t, err)
	alice, err := d.AddUser("alice", "Passw0rd!", "Domain Admins", "Report Readers")
	require.NoError(t, err)
	_, err = d.AddUser("bob", "Passw0rd!", "report readers", "Auditors")
	require.NoError(t, err)
	for sid, want := range map[string]string{
		alice:                 `CONTOSO\alice`,
		"S-1-1-0":             "Everyone",
		"S-1-5-11":            `NT AUTHORITY\Authenticated Users`,
		d.SID() + "-512":      `CONTOSO\Domain Admins`,
		d.SID() + "-513":      `CONTOSO\Domain Users`,
		d.SID() + "-2000":     `CONTOSO\Report Readers`, // as first given
		d.SID() + "-2001":     `CONTOSO\Auditors`,
		"s-1-5-21-1-2-3-1104": "",
		d.SID() + "-9999":     "",
		d.SID() + "-x":        "",
		d.SID():               "",
		"":                    "",
	} {
		name, ok := d.LookupSID(sid)
		assert.Equal(t, want != "", ok, sid)
		assert.Equal(t, want, name, sid)
	}
}
