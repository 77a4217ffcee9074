//go:build !race

package hostid

const raceEnabled = false
