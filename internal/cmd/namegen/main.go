// Namegen writes the printed names of a package's constants into a
// generated file, so that a constant and the name it prints by are declared
// once and cannot drift apart.
//
// It is run by a //go:generate line in the package's directory:
//
//	//go:generate go run github.com/gosspi/gosspi/internal/cmd/namegen -type ClientReq,Export -output zflag_names.go
//
// For each type T it reads the const blocks of every non-test .go file in
// the directory (but the output) and writes a map from each constant of
// type T to its name:
//
//	// clientReqNames holds the printed name of each ClientReq constant.
//	var clientReqNames = map[ClientReq]string{
//		ClientReqDelegate: "Delegate",
//		...
//	}
//
// The package's own code decides how to print with the map (as bit flags,
// as an enumeration); namegen only names.
//
// The printed name is the constant's identifier with the type's name taken
// off its front when a new word follows it: ClientReqDelegate of type
// ClientReq prints as "Delegate", OpCloseHandle of type Op as
// "CloseHandle", and ResetNew of type Export stays "ResetNew".
//
// A constant is of type T when its line says T, or when it repeats such a
// line implicitly (the iota lines after the first). Unexported constants
// (such as an end-of-range sentinel) are left out, and so are aliases
// written without a type (X = Y): a value has one name, that of the
// constant which declares it.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("namegen: ")
	output, src, err := run(".", os.Args[1:], os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(output, src, 0o666); err != nil {
		log.Fatal(err)
	}
}

// run parses the command line args, generates the names for the package in
// dir and returns the output file's name (relative to dir) and its
// contents. It writes nothing, so a test can compare the result with the
// file that is checked in.
func run(dir string, args []string, stderr io.Writer) (output string, src []byte, err error) {
	fs := flag.NewFlagSet("namegen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	types := fs.String("type", "", "comma-separated list of the types to name; required")
	fs.StringVar(&output, "output", "", "name of the file to write, in the package's directory; required")
	if err := fs.Parse(args); err != nil {
		return "", nil, err
	}
	if *types == "" || output == "" || fs.NArg() != 0 {
		fs.Usage()
		return "", nil, fmt.Errorf("usage: namegen -type T1,T2 -output file.go")
	}
	// The output is a plain file name so that the generated file always
	// sits in (and is skipped when reading) the package it names.
	if filepath.Base(output) != output || !strings.HasSuffix(output, ".go") || strings.HasSuffix(output, "_test.go") {
		return "", nil, fmt.Errorf("-output %q: want a non-test .go file name without a directory", output)
	}
	src, err = generate(dir, strings.Split(*types, ","), output, "namegen "+strings.Join(args, " "))
	return output, src, err
}
