package interop

import "slices"

// knownIssues are findings the fake does not handle yet, with the matrix
// cells each one breaks. Such a cell must fail: it shows as
// "FAIL (issue N)" and does not fail the test, and once it passes the test
// fails until its entry is removed here, so the list cannot go stale.
var knownIssues = []struct {
	issue string
	peers []string
	dir   string // "" for both directions
	ops   []string
}{}

// knownIssue returns the issue that breaks op for peer in dir, or "".
func knownIssue(peer, dir, op string) string {
	for _, k := range knownIssues {
		if slices.Contains(k.peers, peer) && (k.dir == "" || k.dir == dir) && slices.Contains(k.ops, op) {
			return k.issue
		}
	}
	return ""
}
