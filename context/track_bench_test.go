package context

import "testing"

// BenchmarkTrack is the Store's cost of recording and forgetting one live
// handle, which every Acquire, first Step, Import and token pays.
func BenchmarkTrack(b *testing.B) {
	s := NewStore(nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.untrack(s.track("context", "NTLM", "imported context"))
	}
}

// BenchmarkTrackStacks is BenchmarkTrack with RecordStacks on.
func BenchmarkTrackStacks(b *testing.B) {
	s := NewStore(nil)
	s.RecordStacks(true)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.untrack(s.track("context", "NTLM", "imported context"))
	}
}
