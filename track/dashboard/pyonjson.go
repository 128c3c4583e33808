package dashboard

import (
	"bytes"
	"fmt"

	"github.com/sigoco/sigoco/pyon"
)

// PYON JSON, the JSON form of the value model that the browser replica
// reads (syncstruct's WebSocket JSON): null, booleans, numbers, strings,
// arrays, objects, and {"__jsonclass__": [name, args]} for the PYON types
// JSON lacks. Call arguments are read and call results written by pyon
// itself, so a value has one form on every wire.

// browserJSON is strict JSON: NaN and infinities as null, which a
// browser's JSON.parse accepts.
var browserJSON = pyon.EncodeOptions{StrictJSON: true}

// decodeValue reads one call argument (pyon's bounded decoder): an integer
// literal becomes an int64 (or *big.Int), any other number a float64.
func decodeValue(raw []byte) (any, error) { return pyon.Decode(raw) }

// appendValue writes a call result: a struct as an object keyed by pyon's
// struct-key rule, as on every other wire.
func appendValue(b *bytes.Buffer, v any) error {
	out, err := pyon.AppendWith(b.AvailableBuffer(), v, browserJSON)
	if err != nil {
		return fmt.Errorf("dashboard: result: %w", err)
	}
	b.Write(out)
	return nil
}
