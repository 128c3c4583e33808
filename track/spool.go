package track

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sigoco/sigoco/track/store"
)

// The spool is a file of frames, in seq order:
//
//	uint32 big-endian payload length
//	uint32 big-endian CRC-32 (IEEE) of the payload
//	payload: a wireBatch, msgpack
//
// A frame cut short (the program was killed while writing) or whose CRC
// does not match ends the replay of that file with ErrSpoolCorrupt; the
// frames before it are sent.

// SpoolFile is the name of a run's spool file in its spool directory.
const SpoolFile = "spool"

// maxSpoolFrame bounds one spool frame when reading (a batch of 200,000
// points is about 10 MiB).
const maxSpoolFrame = 256 << 20

// ErrSpoolCorrupt: a spool file is cut short or damaged.
var ErrSpoolCorrupt = errors.New("track: spool file damaged")

// wireBatch is a batch as sent: the rpc arguments of log_batch.
type wireBatch struct {
	Batch store.Batch `msgpack:"batch"`
	Keys  []string    `msgpack:"keys"`
	Key   []int64     `msgpack:"key"`
	Seq   []int64     `msgpack:"seq"`
	Step  []int64     `msgpack:"step"`
	Time  []int64     `msgpack:"time"`
	Value []float64   `msgpack:"value"`

	// Shift is subtracted from every seq on the wire: the records this
	// client lost before the batch (a full spool, a batch refused whole),
	// so that the server sees no gap it would refuse (store.SeqGapError).
	// The batch keeps the client's own numbers, which Flush and End wait
	// for. Set once, when the batch is first spooled or sent (shifted).
	Shift   int64 `msgpack:"-"`
	shifted bool
}

// wireArgs returns the arguments of log_batch for b, its seqs shifted.
func (b *wireBatch) wireArgs() []any {
	batch, seq := b.Batch, b.Seq
	if b.Shift != 0 {
		batch.Records = slices.Clone(batch.Records)
		for i := range batch.Records {
			batch.Records[i].Seq -= b.Shift
		}
		seq = slices.Clone(seq)
		for i := range seq {
			seq[i] -= b.Shift
		}
	}
	return []any{batch, b.Keys, b.Key, seq, b.Step, b.Time, b.Value}
}

// n returns the records and points of b.
func (b *wireBatch) n() int64 { return int64(len(b.Batch.Records) + len(b.Seq)) }

// maxSeq returns the highest seq in the batch.
func (b *wireBatch) maxSeq() int64 {
	var m int64
	if n := len(b.Batch.Records); n > 0 {
		m = b.Batch.Records[n-1].Seq
	}
	if n := len(b.Seq); n > 0 {
		m = max(m, b.Seq[n-1])
	}
	return m
}

func (b *wireBatch) minSeq() int64 {
	m := int64(-1)
	if len(b.Batch.Records) > 0 {
		m = b.Batch.Records[0].Seq
	}
	if len(b.Seq) > 0 && (m < 0 || b.Seq[0] < m) {
		m = b.Seq[0]
	}
	return m
}

// spoolPayload is a batch as stored in a spool frame: the point columns
// packed as little-endian words (key, seq, step, time, value), which costs a
// copy instead of per-number msgpack coding.
type spoolPayload struct {
	Batch store.Batch `msgpack:"batch"`
	Keys  []string    `msgpack:"keys"`
	N     int         `msgpack:"n"`
	Cols  []byte      `msgpack:"cols"`
	Shift int64       `msgpack:"shift,omitempty"` // wireBatch.Shift
}

func packColumns(b *wireBatch) []byte {
	n := len(b.Seq)
	out := make([]byte, 0, 40*n)
	for _, col := range [][]int64{b.Key, b.Seq, b.Step, b.Time} {
		for _, v := range col {
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	}
	for _, v := range b.Value {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
	}
	return out
}

func unpackColumns(p *spoolPayload) (*wireBatch, error) {
	n := p.N
	if n < 0 || len(p.Cols) != 40*n {
		return nil, fmt.Errorf("%d bytes of columns for %d points", len(p.Cols), n)
	}
	b := &wireBatch{Batch: p.Batch, Keys: p.Keys, Shift: p.Shift, shifted: true}
	cols := make([][]int64, 4)
	for c := range cols {
		cols[c] = make([]int64, n)
		for i := range n {
			cols[c][i] = int64(binary.LittleEndian.Uint64(p.Cols[8*(c*n+i):]))
		}
	}
	b.Key, b.Seq, b.Step, b.Time = cols[0], cols[1], cols[2], cols[3]
	b.Value = make([]float64, n)
	for i := range n {
		b.Value[i] = math.Float64frombits(binary.LittleEndian.Uint64(p.Cols[8*(4*n+i):]))
	}
	return b, nil
}

func appendSpoolFrame(dst []byte, b *wireBatch) ([]byte, error) {
	payload, err := msgpack.Marshal(&spoolPayload{Batch: b.Batch, Keys: b.Keys, N: len(b.Seq), Cols: packColumns(b), Shift: b.Shift})
	if err != nil {
		return dst, fmt.Errorf("track: encoding a spool frame: %w", err)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(payload))
	return append(dst, payload...), nil
}

// spoolReader reads frames from a spool file.
type spoolReader struct {
	r   *bufio.Reader
	off int64
	bb  bytes.Buffer
	buf []byte
}

func newSpoolReader(f io.Reader) *spoolReader {
	return &spoolReader{r: bufio.NewReaderSize(f, 1<<20)}
}

// next returns the next batch, io.EOF at a clean end, or an error wrapping
// ErrSpoolCorrupt.
func (sr *spoolReader) next() (*wireBatch, error) {
	var hdr [8]byte
	n, err := io.ReadFull(sr.r, hdr[:])
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes of a frame header at byte %d (the file was cut short)", ErrSpoolCorrupt, n, sr.off)
	}
	size := binary.BigEndian.Uint32(hdr[:4])
	if size > maxSpoolFrame {
		return nil, fmt.Errorf("%w: a frame of %d bytes at byte %d", ErrSpoolCorrupt, size, sr.off)
	}
	// Grow the buffer as bytes arrive, never from the announced size alone.
	sr.bb.Reset()
	if n, err := io.CopyN(&sr.bb, sr.r, int64(size)); err != nil {
		return nil, fmt.Errorf("%w: the frame at byte %d has %d of its %d bytes (the file was cut short)", ErrSpoolCorrupt, sr.off, n, size)
	}
	sr.buf = sr.bb.Bytes()
	if crc32.ChecksumIEEE(sr.buf) != binary.BigEndian.Uint32(hdr[4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch in the frame at byte %d", ErrSpoolCorrupt, sr.off)
	}
	var p spoolPayload
	if err := msgpack.Unmarshal(sr.buf, &p); err != nil {
		return nil, fmt.Errorf("%w: the frame at byte %d: %v", ErrSpoolCorrupt, sr.off, err)
	}
	b, err := unpackColumns(&p)
	if err != nil {
		return nil, fmt.Errorf("%w: the frame at byte %d: %v", ErrSpoolCorrupt, sr.off, err)
	}
	sr.off += 8 + int64(size)
	return b, nil
}

// openSpool opens (creating) a spool file for appending and reading.
func openSpool(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
}
