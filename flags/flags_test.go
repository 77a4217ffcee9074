package flags

import (
	"errors"
	"fmt"
	"math/bits"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExportString(t *testing.T) {
	tests := []struct {
		f    Export
		want string
	}{
		{0, "0"},
		{ResetNew, "ResetNew"},
		{DeleteOld | ResetNew, "DeleteOld|ResetNew"},
		{DeleteOld | ResetNew | ToKernel, "DeleteOld|ResetNew|ToKernel"},
		{DeleteOld | 0x10, "DeleteOld|0x10"},
		{0x80000000, "0x80000000"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.f.String())
	}
}

func TestExportValidate(t *testing.T) {
	for f := Export(0); f <= 7; f++ {
		assert.NoError(t, f.Validate(), f)
	}
	err := (DeleteOld | 0x8).Validate()
	require.Error(t, err)
	var ie *InvalidError
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, uint32(0x8), ie.Unknown)
	assert.Contains(t, err.Error(), "0x8")
}

// The same names have different bits on each side: the types keep them apart.
func TestClientServerBitsDiffer(t *testing.T) {
	assert.Equal(t, uint32(0x10000), uint32(ClientRetIntegrity))
	assert.Equal(t, uint32(0x20000), uint32(ServerRetIntegrity))
	assert.Equal(t, uint32(0x10000), uint32(ClientReqIntegrity))
	assert.Equal(t, uint32(0x20000), uint32(ServerReqIntegrity))
	assert.Equal(t, uint32(0x8000), uint32(ServerReqExtendedError))
	assert.Equal(t, uint32(0x4000), uint32(ClientReqExtendedError))
	assert.Equal(t, "Integrity", ClientRet(0x10000).String())
	assert.Equal(t, "Stream", ServerRet(0x10000).String())
}

// Known sspi.h values, spot-checked against the header.
func TestSSPIValues(t *testing.T) {
	cases := map[string][2]uint32{
		"ISC_REQ_ALLOCATE_MEMORY":  {uint32(ClientReqAllocateMemory), 0x100},
		"ISC_REQ_CONNECTION":       {uint32(ClientReqConnection), 0x800},
		"ISC_REQ_CONFIDENTIALITY":  {uint32(ClientReqConfidentiality), 0x10},
		"ISC_RET_NULL_SESSION":     {uint32(ClientRetNullSession), 0x40000},
		"ISC_RET_IDENTIFY":         {uint32(ClientRetIdentify), 0x20000},
		"ASC_REQ_ALLOW_NULL_SESS":  {uint32(ServerReqAllowNullSession), 0x100000},
		"ASC_REQ_IDENTIFY":         {uint32(ServerReqIdentify), 0x80000},
		"ASC_RET_THIRD_LEG_FAILED": {uint32(ServerRetThirdLegFailed), 0x4000},
		"ASC_RET_NULL_SESSION":     {uint32(ServerRetNullSession), 0x100000},
	}
	for name, c := range cases {
		assert.Equal(t, c[1], c[0], name)
	}
}

func TestContextFlagsStringAndValidate(t *testing.T) {
	f := ClientReqConfidentiality | ClientReqIntegrity | ClientReqConnection
	assert.Equal(t, "Confidentiality|Connection|Integrity", f.String())
	assert.NoError(t, f.Validate())
	assert.Error(t, ClientReq(0x80000000).Validate())
	assert.Equal(t, "Delegate|0x80000000", ServerReq(0x80000001).String())
	assert.Error(t, ServerRet(0x80000000).Validate())
	assert.NoError(t, ServerRet(0).Validate())
}

// Every named flag is one bit of its own, and prints as its name alone:
// the bit-by-bit printing of String relies on both.
func TestNamedFlagsAreDistinctBits(t *testing.T) {
	checkBits(t, clientReqNames)
	checkBits(t, clientRetNames)
	checkBits(t, serverReqNames)
	checkBits(t, serverRetNames)
	checkBits(t, exportNames)
}

type flagType interface {
	~uint32
	String() string
	Validate() error
}

func checkBits[T flagType](t *testing.T, names map[T]string) {
	t.Helper()
	var all T
	for v, name := range names {
		assert.Equal(t, 1, bits.OnesCount32(uint32(v)), "%s is %#x, not one bit", name, uint32(v))
		assert.Zero(t, all&v, "%s shares its bit with another constant", name)
		all |= v
		assert.Equal(t, name, v.String(), "%#x", uint32(v))
	}
	assert.NoError(t, all.Validate(), "all named bits together")
}

func TestCredentialUse(t *testing.T) {
	assert.Equal(t, "Inbound", Inbound.String())
	assert.Equal(t, "Outbound", Outbound.String())
	assert.Equal(t, "Both", Both.String())
	assert.Equal(t, "0x10", CredentialUse(0x10).String())
	assert.Equal(t, "0", CredentialUse(0).String())
	for _, u := range []CredentialUse{Inbound, Outbound, Both} {
		assert.NoError(t, u.Validate())
	}
	for _, u := range []CredentialUse{0, 4, 0x10} {
		err := u.Validate()
		require.Error(t, err, u)
		assert.Contains(t, err.Error(), "flags.CredentialUse")
	}
}

func ExampleExport_String() {
	fmt.Println(DeleteOld | ResetNew)
	fmt.Println(Export(0x9))
	// Output:
	// DeleteOld|ResetNew
	// ResetNew|0x8
}
