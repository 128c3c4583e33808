package rpc

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// protocolVersion is announced in the server hello. The major version is
// in the banner (wire.BannerRPC); this one grows with compatible additions.
const protocolVersion = 3

// Message kinds. On the wire every message is a msgpack array whose first
// element is the kind's name (kindNames), as in sigoco's other protocols.
// docs/protocol-rpc.md specifies each message.
const (
	msgHello    = iota // S→C ["hello", version, description, [target...]]
	msgSelect          // C→S ["select", target] or, from version 3, ["select", target, token]
	msgSelected        // S→C ["selected", target]
	msgError           // S→C ["error", message], then the server closes
	msgCall            // C→S ["call", id, method, [arg...], {keyword: arg}|nil, timeout_ns]
	msgCancel          // C→S ["cancel", id]
	msgResult          // S→C ["result", id, value]
	msgFail            // S→C ["fail", id, type, message, traceback]
	msgMethods         // C→S ["methods", id]; answered by a result holding a TargetInfo
	msgUnknown  = -1
)

var kindNames = [...]string{
	msgHello:    "hello",
	msgSelect:   "select",
	msgSelected: "selected",
	msgError:    "error",
	msgCall:     "call",
	msgCancel:   "cancel",
	msgResult:   "result",
	msgFail:     "fail",
	msgMethods:  "methods",
}

// kindName is the wire name of a kind, or a description of an unknown one.
func kindName(k int) string {
	if k >= 0 && k < len(kindNames) {
		return kindNames[k]
	}
	return "an unknown kind"
}

// terminateMethod is the built-in method of ServerOptions.BuiltinTerminate.
const terminateMethod = "terminate"

// readHeader decodes the array header and kind of a message; a kind this
// version does not know is msgUnknown. Messages may carry more elements
// than this version knows; readers ignore the extra.
func readHeader(md *msgDecoder) (n, kind int, err error) {
	n, err = md.arrayLen()
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if n < 1 {
		return 0, 0, fmt.Errorf("%w: a message is a non-empty array", errMalformed)
	}
	name, err := md.shortString()
	if err != nil {
		return 0, 0, fmt.Errorf("%w: message kind: %v", errMalformed, err)
	}
	for k, kn := range kindNames {
		if string(name) == kn {
			return n, k, nil
		}
	}
	return n, msgUnknown, nil
}

func encodeKind(e *msgpack.Encoder, n, kind int) {
	e.EncodeArrayLen(n)
	e.EncodeString(kindNames[kind])
}

func encodeHello(e *msgpack.Encoder, desc string, targets []string) error {
	encodeKind(e, 4, msgHello)
	e.EncodeInt(protocolVersion)
	e.EncodeString(desc)
	e.EncodeArrayLen(len(targets))
	for _, t := range targets {
		e.EncodeString(t)
	}
	return nil
}

func encodeSelect(e *msgpack.Encoder, kind int, target string) error {
	encodeKind(e, 2, kind)
	return e.EncodeString(target)
}

// encodeSelectToken writes a selection, with the token when there is one.
func encodeSelectToken(e *msgpack.Encoder, target, token string) error {
	if token == "" {
		return encodeSelect(e, msgSelect, target)
	}
	encodeKind(e, 3, msgSelect)
	e.EncodeString(target)
	return e.EncodeString(token)
}

func encodeError(e *msgpack.Encoder, msg string) error {
	encodeKind(e, 2, msgError)
	return e.EncodeString(msg)
}

// encodeCall writes a call request; args may end with Kwargs.
func encodeCall(e *msgpack.Encoder, id uint64, method string, args []any, timeoutNS int64) error {
	var kw Kwargs
	if n := len(args); n > 0 {
		if k, ok := args[n-1].(Kwargs); ok {
			kw, args = k, args[:n-1]
		}
	}
	encodeKind(e, 6, msgCall)
	e.EncodeUint(id)
	e.EncodeString(method)
	e.EncodeArrayLen(len(args))
	for i, a := range args {
		if err := encodeArg(e, a); err != nil {
			return fmt.Errorf("rpc: %s: argument %d: %w", method, i+1, err)
		}
	}
	if kw == nil {
		e.EncodeNil()
	} else if err := e.Encode(map[string]any(kw)); err != nil {
		return fmt.Errorf("rpc: %s: keyword arguments: %w", method, err)
	}
	return e.EncodeInt(timeoutNS)
}

func encodeID(e *msgpack.Encoder, kind int, id uint64) error {
	encodeKind(e, 2, kind)
	return e.EncodeUint(id)
}

// encodeResultHeader starts a result; the value follows.
func encodeResultHeader(e *msgpack.Encoder, id uint64) {
	encodeKind(e, 3, msgResult)
	e.EncodeUint(id)
}

func encodeFail(e *msgpack.Encoder, id uint64, re *RemoteError) error {
	encodeKind(e, 5, msgFail)
	e.EncodeUint(id)
	e.EncodeString(re.Type)
	e.EncodeString(re.Message)
	return e.EncodeString(re.Traceback)
}
