// Package flags holds the bit flags of the Windows Security Support Provider
// Interface: export flags, the client (ISC_*) and server (ASC_*) request and
// return flags, and credential use.
//
// Client and server flags are distinct Go types because the same names have
// different bits on each side: ISC_RET_INTEGRITY is 0x10000 while
// ASC_RET_INTEGRITY is 0x20000. Every type prints its set bits by name
// (for example "DeleteOld|ResetNew") with any unknown bits in hex, and has a
// Validate method that rejects bits the type does not define.
//
// The 64-bit *_MESSAGES flags are not defined: they do not fit the 32-bit
// fContextReq of InitializeSecurityContext and AcceptSecurityContext.
package flags

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// The name of each constant is generated from its identifier, so that
// adding or renaming a constant cannot leave its printed name behind.
//go:generate go run github.com/gosspi/gosspi/internal/cmd/namegen -type ClientReq,ClientRet,ServerReq,ServerRet,Export,CredentialUse -output zflag_names.go

// bitName names one bit of a flag type.
type bitName struct {
	bit  uint32
	name string
}

// table is the sorted-by-name list of a type's bits and their union.
type table struct {
	names []bitName
	known uint32
}

// newTable builds a flag type's table from its generated names.
func newTable[T ~uint32](names map[T]string) table {
	var t table
	for v, name := range names {
		t.names = append(t.names, bitName{uint32(v), name})
		t.known |= uint32(v)
	}
	// The names are distinct (namegen checks), so the order is the same
	// whatever order the map gave them in.
	slices.SortFunc(t.names, func(a, b bitName) int { return strings.Compare(a.name, b.name) })
	return t
}

// format prints v as names joined by "|" in alphabetical order, then the
// unknown remainder in hex; zero prints as "0".
func (t table) format(v uint32) string {
	if v == 0 {
		return "0"
	}
	var parts []string
	for _, n := range t.names {
		if v&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	if rest := v &^ t.known; rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", rest))
	}
	return strings.Join(parts, "|")
}

// validate reports an error naming the bits outside the known set.
func (t table) validate(typ string, v uint32) error {
	if rest := v &^ t.known; rest != 0 {
		return &InvalidError{Type: typ, Value: v, Unknown: rest}
	}
	return nil
}

// InvalidError reports flag bits that a type does not define.
type InvalidError struct {
	Type    string // the Go type, e.g. "flags.Export"
	Value   uint32 // the whole value given
	Unknown uint32 // the bits that are not defined
}

func (e *InvalidError) Error() string {
	if e.Unknown == 0 {
		return fmt.Sprintf("%s %#x is not a valid value", e.Type, e.Value)
	}
	return fmt.Sprintf("%s %#x has undefined bits %#x (%d unknown)", e.Type, e.Value, e.Unknown, bits.OnesCount32(e.Unknown))
}
