package store

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sigoco/sigoco/pyon"
)

// logQueryFields is LogQuery without its decoder, for pyon.Convert.
type logQueryFields LogQuery

// DecodeMsgpack decodes a LogQuery whose tail is either a bool (the last
// limit records) or a count of records: {tail: 50} is {tail: true,
// limit: 50}, what readers of "tail" expect. A count with a different
// limit beside it, a negative count or another type is refused.
func (q *LogQuery) DecodeMsgpack(d *msgpack.Decoder) error {
	m, err := d.DecodeMap()
	if err != nil {
		return err
	}
	var n int64
	counted := true
	switch t := m["tail"].(type) {
	case nil, bool:
		counted = false
	case int8:
		n = int64(t)
	case int16:
		n = int64(t)
	case int32:
		n = int64(t)
	case int64:
		n = t
	case uint8:
		n = int64(t)
	case uint16:
		n = int64(t)
	case uint32:
		n = int64(t)
	case uint64:
		if t > 1<<31 {
			return fmt.Errorf("logs: tail %d is too large (at most %d records a page)", t, maxLogTail)
		}
		n = int64(t)
	default:
		return fmt.Errorf("logs: tail is a count of records (or true: the last limit records), not %T", t)
	}
	if counted {
		if n < 0 || n > maxLogTail {
			return fmt.Errorf("logs: tail %d is out of range (0 to %d records)", n, maxLogTail)
		}
		if l, ok := m["limit"]; ok && n > 0 && l != nil && fmt.Sprint(l) != fmt.Sprint(n) {
			return fmt.Errorf("logs: tail %d and limit %v disagree (tail: N alone asks for the last N records)", n, l)
		}
		m["tail"] = n > 0
		if n > 0 {
			m["limit"] = n
		}
	}
	return pyon.Convert(m, (*logQueryFields)(q))
}

// maxLogTail is the most records a logs page holds (LogQuery.Limit).
const maxLogTail = 10_000
