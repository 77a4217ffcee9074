package kcrypto

// nfold stretches or shrinks in to n bytes as RFC 3961 section 5.1
// defines: the input is repeated, each copy rotated 13 bits further right
// than the one before, until the length is a multiple of both lengths;
// the result is cut into n-byte pieces that are added in one's-complement
// arithmetic (with end-around carry).
//
// The key derivation constants it folds are five bytes long, so this runs
// on a few dozen bytes at most; it is written for clarity.
func nfold(in []byte, n int) []byte {
	out := make([]byte, n)
	m := len(in)
	if m == 0 || n == 0 {
		return out
	}
	total := lcm(m, n)
	stream := make([]byte, 0, total)
	for k := 0; len(stream) < total; k++ {
		stream = appendRotatedRight(stream, in, 13*k)
	}
	// One's-complement sum of the n-byte pieces, most significant byte
	// first: sum column by column from the right, then fold the carry out
	// of the top back in at the bottom until none is left.
	sum := make([]int, n)
	for off := 0; off < total; off += n {
		for i := 0; i < n; i++ {
			sum[i] += int(stream[off+i])
		}
	}
	carry := 0
	for {
		for i := n - 1; i >= 0; i-- {
			v := sum[i] + carry
			sum[i] = v & 0xff
			carry = v >> 8
		}
		if carry == 0 {
			break
		}
	}
	for i := range out {
		out[i] = byte(sum[i])
	}
	return out
}

// appendRotatedRight appends in, seen as a string of 8*len(in) bits,
// rotated right by r bits: output byte j takes its high bits from input
// byte j-q and its low bits from byte j-q-1 (indices modulo len(in)).
func appendRotatedRight(dst, in []byte, r int) []byte {
	m := len(in)
	r %= 8 * m
	q, s := r/8, uint(r%8)
	hi := m - q // index of in[j-q] for j = 0
	if hi == m {
		hi = 0
	}
	lo := hi - 1
	if lo < 0 {
		lo = m - 1
	}
	for j := 0; j < m; j++ {
		b := in[hi]
		if s != 0 {
			b = b>>s | in[lo]<<(8-s)
		}
		dst = append(dst, b)
		if hi++; hi == m {
			hi = 0
		}
		if lo++; lo == m {
			lo = 0
		}
	}
	return dst
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int) int { return a / gcd(a, b) * b }
