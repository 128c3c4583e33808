package store

// Operations on chunks that every backend's series code shares.

// FilterSteps keeps the points of c whose step is in [lo, hi].
func FilterSteps(c *Chunk, lo, hi int64) {
	var out Chunk
	if !c.Scalar() {
		out.Values = [][]byte{}
	}
	for i := range c.Seq {
		if c.Step[i] >= lo && c.Step[i] <= hi {
			AppendPoints(&out, c, i, i+1)
		}
	}
	*c = out
}

// Downsample keeps at most maxPoints points: the step range is cut into
// maxPoints/2 buckets and each keeps its minimum and maximum, in seq order.
// Non-scalar series keep the first and last point of each bucket.
func Downsample(c *Chunk, maxPoints int) Chunk {
	var out Chunk
	if !c.Scalar() {
		out.Values = [][]byte{}
	}
	buckets := max(maxPoints/2, 1)
	lo, hi := c.Step[0], c.Step[0]
	for _, s := range c.Step {
		lo, hi = min(lo, s), max(hi, s)
	}
	width := float64(hi-lo+1) / float64(buckets)
	// Points arrive in seq order; with steps that increase (the usual case)
	// each bucket is a contiguous run of points.
	start := 0
	bucketOf := func(s int64) int { return min(int(float64(s-lo)/width), buckets-1) }
	emit := func(from, to int) {
		if to-from <= 2 {
			AppendPoints(&out, c, from, to)
			return
		}
		a, b := from, to-1
		if c.Scalar() {
			for i := from; i < to; i++ {
				if c.Value[i] < c.Value[a] {
					a = i
				}
				if c.Value[i] > c.Value[b] {
					b = i
				}
			}
		}
		if a > b {
			a, b = b, a
		}
		AppendPoints(&out, c, a, a+1)
		if b != a {
			AppendPoints(&out, c, b, b+1)
		}
	}
	cur := bucketOf(c.Step[0])
	for i := 1; i < len(c.Step); i++ {
		if bk := bucketOf(c.Step[i]); bk != cur {
			emit(start, i)
			start, cur = i, bk
		}
	}
	emit(start, len(c.Step))
	if out.Len() > maxPoints { // steps that go back and forth make more runs than buckets
		step := float64(out.Len()) / float64(maxPoints)
		var thin Chunk
		if !c.Scalar() {
			thin.Values = [][]byte{}
		}
		for k := 0; k < maxPoints; k++ {
			i := int(float64(k) * step)
			AppendPoints(&thin, &out, i, i+1)
		}
		return thin
	}
	return out
}

// AppendPoints appends src's points [from, to) to dst.
func AppendPoints(dst, src *Chunk, from, to int) {
	dst.Seq = append(dst.Seq, src.Seq[from:to]...)
	dst.Step = append(dst.Step, src.Step[from:to]...)
	dst.Time = append(dst.Time, src.Time[from:to]...)
	if src.Scalar() {
		dst.Value = append(dst.Value, src.Value[from:to]...)
	} else {
		dst.Values = append(dst.Values, src.Values[from:to]...)
	}
}

// CutFront drops c's first n points.
func CutFront(c *Chunk, n int) {
	c.Seq, c.Step, c.Time = c.Seq[n:], c.Step[n:], c.Time[n:]
	if c.Scalar() {
		c.Value = c.Value[n:]
	} else {
		c.Values = c.Values[n:]
	}
}
