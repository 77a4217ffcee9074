//go:build ignore

// tally reads `go test -json` from stdin, prints the tests' output as
// `go test -v` would, and at the end one summary line for the conformance
// suite: how many subtests ran, passed, failed and were skipped, and how
// many checks the suite left out by capability (its "backendtest: left out"
// lines). It also names the result of each package's handshake subtest and
// each smoke test. Run: go test -json ... | go run .ci/wine/tally.go
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action string
	Test   string
	Output string
}

func main() {
	results := map[string]string{} // test -> pass/fail/skip
	leftOut := 0
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Println(string(line)) // build errors and the like
			continue
		}
		switch e.Action {
		case "output":
			fmt.Print(e.Output)
			if strings.Contains(e.Output, "backendtest: left out ") {
				leftOut++
			}
		case "pass", "fail", "skip":
			if e.Test != "" {
				results[e.Test] = e.Action
			}
		}
	}
	var run, pass, fail, skip int
	var names []string
	for name, r := range results {
		if !strings.HasPrefix(name, "TestConformance/") {
			continue
		}
		names = append(names, name)
		run++
		switch r {
		case "pass":
			pass++
		case "fail":
			fail++
		case "skip":
			skip++
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasSuffix(name, "/Handshake") {
			fmt.Printf("wine-tier:   conformance %s: %s\n", strings.TrimPrefix(name, "TestConformance/"), strings.ToUpper(results[name]))
		}
	}
	for _, name := range []string{"TestSmokePackages", "TestSmokeNTLM", "TestSmokeKerberos", "TestSmokeNegotiate"} {
		r := results[name]
		if r == "" {
			r = "not run"
		}
		fmt.Printf("wine-tier:   %s: %s\n", name, strings.ToUpper(r))
	}
	if fail > 0 {
		fmt.Printf("wine-tier:   failed:")
		for _, name := range names {
			if results[name] == "fail" {
				fmt.Printf(" %s", strings.TrimPrefix(name, "TestConformance/"))
			}
		}
		fmt.Println()
	}
	fmt.Printf("wine-tier: conformance subtests: %d run, %d passed, %d failed, %d skipped; %d checks left out by capability\n",
		run, pass, fail, skip, leftOut)
	if run == 0 {
		os.Exit(1)
	}
}
