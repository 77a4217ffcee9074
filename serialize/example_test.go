package serialize_test

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/gosspi/gosspi/serialize"
)

func Example() {
	key := make([]byte, serialize.KeySize)
	if _, err := rand.Read(key); err != nil {
		panic(err)
	}
	here, err := serialize.NewSealer("machine-a", key)
	if err != nil {
		panic(err)
	}
	blob, err := here.Seal(&serialize.State{
		Package:     "NTLM",
		Established: true,
		ClientName:  `EXAMPLE\alice`,
	}, nil)
	if err != nil {
		panic(err)
	}

	st, hdr, err := here.Open(blob)
	fmt.Println(st.ClientName, hdr.Package, err)

	// Another machine (even one that somehow had the same key) refuses it.
	there, _ := serialize.NewSealer("machine-b", key)
	_, _, err = there.Open(blob)
	fmt.Println(errors.Is(err, serialize.ErrForeignMachine))
	// Output:
	// EXAMPLE\alice NTLM <nil>
	// true
}
