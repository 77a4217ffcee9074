package hostid

import (
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The benchmarks fill ledgers with claims exported now, all in one epoch:
// the largest table a given number of live claims can make, so the worst
// case for claim latency. BenchmarkLedgerFill also spreads them over
// Retention, as steady use would.

// benchID is a fresh claim ID: a 12-byte nonce, as the fake's.
func benchID(buf *[12]byte, prefix byte, i int) []byte {
	buf[0] = prefix
	for j := 1; j < 12; j++ {
		buf[j] = byte(i >> (8 * (j - 1)))
	}
	return buf[:]
}

func BenchmarkLedgerClaim(b *testing.B) {
	l, err := OpenLedger(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	now := time.Now()
	var buf [12]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, err := l.Claim(benchID(&buf, 'c', i), now); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
	b.StopTimer()
	apparent, allocated := diskUse(b, l.Dir())
	b.ReportMetric(float64(apparent)/float64(b.N), "disk-B/claim")
	b.ReportMetric(float64(allocated)/float64(b.N), "alloc-B/claim")
}

// templates caches, per number of live claims, a ledger directory filled
// with them, for the benchmarks to copy.
var templates sync.Map // int -> string

func filledLedger(b *testing.B, live int) string {
	b.Helper()
	if d, ok := templates.Load(live); ok {
		return copyLedger(b, d.(string))
	}
	parent, err := os.MkdirTemp("", "ledger-template")
	if err != nil {
		b.Fatal(err)
	}
	l, err := OpenLedger(parent)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var buf [12]byte
	for i := 0; i < live; i++ {
		if ok, err := l.Claim(benchID(&buf, 'f', i), now); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
	l.Close()
	templates.Store(live, parent)
	return copyLedger(b, parent)
}

// removeTemplates removes the directories filledLedger made; TestMain
// calls it, since they outlive any one benchmark.
func removeTemplates() {
	templates.Range(func(_, d any) bool {
		os.RemoveAll(d.(string))
		return true
	})
}

func copyLedger(b *testing.B, parent string) string {
	b.Helper()
	dst := b.TempDir()
	src := filepath.Join(parent, ledgerDirName)
	if err := os.Mkdir(filepath.Join(dst, ledgerDirName), 0o700); err != nil {
		b.Fatal(err)
	}
	es, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range es {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, ledgerDirName, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			b.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return dst
}

func percentile(d []time.Duration, p float64) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[min(len(d)-1, int(float64(len(d))*p))].Nanoseconds())
}

var liveCounts = []int{0, 10000, 100000}

// BenchmarkLedgerLatency claims fresh IDs in a ledger that holds live
// claims already, and reports the distribution of one claim's time.
// Run it with a fixed count (-benchtime=20000x): the claims it makes are
// live too.
func BenchmarkLedgerLatency(b *testing.B) {
	for _, live := range liveCounts {
		b.Run("live="+strconv.Itoa(live), func(b *testing.B) {
			parent := filledLedger(b, live)
			l, err := OpenLedger(parent)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			now := time.Now()
			lat := make([]time.Duration, b.N)
			var buf [12]byte
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				ok, err := l.Claim(benchID(&buf, 'l', i), now)
				lat[i] = time.Since(start)
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(percentile(lat, 0.50), "p50-ns")
			b.ReportMetric(percentile(lat, 0.99), "p99-ns")
			b.ReportMetric(percentile(lat, 1), "max-ns")
		})
	}
}

// BenchmarkLedgerFirstClaim opens a new Ledger on a directory holding live
// claims, as a new HostMachine does, and claims once; it reports the
// first claim's time and OpenLedger's.
func BenchmarkLedgerFirstClaim(b *testing.B) {
	for _, live := range liveCounts {
		b.Run("live="+strconv.Itoa(live), func(b *testing.B) {
			parent := filledLedger(b, live)
			now := time.Now()
			first := make([]time.Duration, b.N)
			open := make([]time.Duration, b.N)
			var buf [12]byte
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				l, err := OpenLedger(parent)
				if err != nil {
					b.Fatal(err)
				}
				opened := time.Now()
				ok, err := l.Claim(benchID(&buf, 'n', i), now)
				first[i] = time.Since(opened)
				open[i] = opened.Sub(start)
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
				l.Close()
			}
			b.StopTimer()
			b.ReportMetric(percentile(first, 0.50), "first-p50-ns")
			b.ReportMetric(percentile(first, 1), "first-max-ns")
			b.ReportMetric(percentile(open, 0.50), "open-p50-ns")
			b.ReportMetric(percentile(open, 1), "open-max-ns")
		})
	}
}

// BenchmarkLedgerFill fills a new ledger with 100,000 claims, exported
// now or spread evenly over Retention, and reports the disk they take.
func BenchmarkLedgerFill(b *testing.B) {
	const live = 100000
	for _, spread := range []bool{false, true} {
		b.Run(fmt.Sprintf("live=%d/spread=%t", live, spread), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			var apparent, allocated int64
			for i := 0; i < b.N; i++ {
				l, err := OpenLedger(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				now := time.Now()
				var buf [12]byte
				for j := 0; j < live; j++ {
					at := now
					if spread {
						at = now.Add(-time.Duration(rng.Int63n(int64(Retention - time.Minute))))
					}
					if ok, err := l.Claim(benchID(&buf, 's', j), at); err != nil || !ok {
						b.Fatal(ok, err)
					}
				}
				b.StopTimer()
				apparent, allocated = diskUse(b, l.Dir())
				l.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(apparent)/live, "disk-B/live")
			b.ReportMetric(float64(allocated)/live, "alloc-B/live")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*live), "ns/claim")
		})
	}
}

// diskUse is the apparent size of the ledger's files and the disk
// allocated to them (the same where the system does not say).
func diskUse(b *testing.B, dir string) (apparent, allocated int64) {
	es, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range es {
		fi, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		apparent += fi.Size()
		allocated += allocatedSize(fi)
	}
	return apparent, allocated
}
