package context

import "testing"

// BenchmarkTrack is the Store's cost of recording and forgetting one live
// handle, which every Acquire, first Step, Import and token pays.
func BenchmarkTrack(b *testing.B) {
	s := NewStore(nil)
	var t tracked
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.untrack(s.track(&t, "context", "NTLM", "imported context", false))
	}
}

// BenchmarkTrackStacks is BenchmarkTrack with RecordStacks on.
func BenchmarkTrackStacks(b *testing.B) {
	s := NewStore(nil)
	s.RecordStacks(true)
	var t tracked
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.untrack(s.track(&t, "context", "NTLM", "imported context", false))
	}
}
