package baseline

import "math"

// normal accumulates the weighted normal equations X'WX b = X'Wy of a small
// least-squares problem, row by row, so that no design matrix is held.
type normal struct {
	p   int
	xtx []float64 // p×p, row major, upper triangle filled
	xty []float64
}

func newNormal(p int) *normal {
	return &normal{p: p, xtx: make([]float64, p*p), xty: make([]float64, p)}
}

// addSparse adds a row whose non-zero entries are vals at columns idx.
func (n *normal) addSparse(idx []int, vals []float64, y, w float64) {
	for a, i := range idx {
		wi := w * vals[a]
		n.xty[i] += wi * y
		row := n.xtx[i*n.p:]
		for b, j := range idx {
			if j >= i {
				row[j] += wi * vals[b]
			}
		}
	}
}

// solve returns the coefficients. A column that is (numerically) a linear
// combination of the ones before it — an hour of the week without data, an
// empty temperature bin — gets coefficient 0 and dropped[i] = true, as a
// least-squares solver that drops aliased columns would do.
func (n *normal) solve() (beta []float64, dropped []bool) {
	p := n.p
	a := make([]float64, p*p)
	for i := range p {
		for j := i; j < p; j++ {
			a[i*p+j] = n.xtx[i*p+j]
			a[j*p+i] = n.xtx[i*p+j]
		}
	}
	dropped = make([]bool, p)
	// Cholesky, A = L L', skipping columns whose pivot vanishes relative to
	// their own diagonal.
	l := make([]float64, p*p)
	for j := range p {
		d := a[j*p+j]
		for k := range j {
			d -= l[j*p+k] * l[j*p+k]
		}
		if a[j*p+j] <= 0 || d <= 1e-10*a[j*p+j] {
			dropped[j] = true
			continue
		}
		ljj := math.Sqrt(d)
		l[j*p+j] = ljj
		for i := j + 1; i < p; i++ {
			s := a[i*p+j]
			for k := range j {
				s -= l[i*p+k] * l[j*p+k]
			}
			l[i*p+j] = s / ljj
		}
	}
	z := make([]float64, p)
	for i := range p {
		if dropped[i] {
			continue
		}
		s := n.xty[i]
		for k := range i {
			s -= l[i*p+k] * z[k]
		}
		z[i] = s / l[i*p+i]
	}
	beta = make([]float64, p)
	for i := p - 1; i >= 0; i-- {
		if dropped[i] {
			continue
		}
		s := z[i]
		for k := i + 1; k < p; k++ {
			s -= l[k*p+i] * beta[k]
		}
		beta[i] = s / l[i*p+i]
	}
	return beta, dropped
}
