package store

import (
	"encoding/binary"
	"math"
)

// SummaryBlock is the number of points a chunk summary entry covers.
//
// A scalar chunk also carries a summary: for each block of SummaryBlock
// points, its step range and its minimum and maximum points. A downsampled
// read whose buckets hold many blocks reads only the summaries (about a
// tenth of the data) and never decodes the points: each block's minimum
// and maximum go to the buckets of their own steps, so every peak still
// shows. Each entry is 10 little-endian words:
//
//	minStep, maxStep, then for the minimum and the maximum point:
//	seq, step, time, value (float64 bits)
const SummaryBlock = 64

// SummaryPoint is one point kept by a summary.
type SummaryPoint struct {
	Seq, Step, Time int64
	Value           float64
}

// SummaryEntry summarises one block.
type SummaryEntry struct {
	MinStep, MaxStep int64
	Min, Max         SummaryPoint
}

// AppendSummary appends the summary of a scalar chunk to dst.
func (c *Chunk) AppendSummary(dst []byte) []byte {
	for from := 0; from < c.Len(); from += SummaryBlock {
		to := min(from+SummaryBlock, c.Len())
		e := SummaryEntry{MinStep: c.Step[from], MaxStep: c.Step[from]}
		lo, hi := from, from
		for i := from; i < to; i++ {
			e.MinStep, e.MaxStep = min(e.MinStep, c.Step[i]), max(e.MaxStep, c.Step[i])
			if c.Value[i] < c.Value[lo] {
				lo = i
			}
			if c.Value[i] > c.Value[hi] {
				hi = i
			}
		}
		for _, w := range []int64{e.MinStep, e.MaxStep, c.Seq[lo], c.Step[lo], c.Time[lo], int64(math.Float64bits(c.Value[lo])),
			c.Seq[hi], c.Step[hi], c.Time[hi], int64(math.Float64bits(c.Value[hi]))} {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(w))
		}
	}
	return dst
}

// DecodeSummary decodes a summary, appending its entries to dst.
func DecodeSummary(b []byte, dst []SummaryEntry) ([]SummaryEntry, error) {
	if len(b)%80 != 0 {
		return dst, errCorruptChunk
	}
	w := func(i int) int64 { return int64(binary.LittleEndian.Uint64(b[8*i:])) }
	for ; len(b) > 0; b = b[80:] {
		dst = append(dst, SummaryEntry{
			MinStep: w(0), MaxStep: w(1),
			Min: SummaryPoint{Seq: w(2), Step: w(3), Time: w(4), Value: math.Float64frombits(uint64(w(5)))},
			Max: SummaryPoint{Seq: w(6), Step: w(7), Time: w(8), Value: math.Float64frombits(uint64(w(9)))},
		})
	}
	return dst, nil
}
