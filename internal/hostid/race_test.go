//go:build race

package hostid

// raceEnabled: the race detector slows file-heavy tests about tenfold, so
// they sample instead of trying everything.
const raceEnabled = true
