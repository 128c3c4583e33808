package rpc

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// protocolVersion is announced in the server hello. The major version is
// in the banner (wire.BannerRPC); this one grows with compatible additions.
const protocolVersion = 1

// Message kinds: the first element of every message (a msgpack array).
// docs/protocol-rpc.md specifies each message.
const (
	msgHello    = 0 // S→C [0, version, description, [target...]]
	msgSelect   = 1 // C→S [1, target]
	msgSelected = 2 // S→C [2, target]
	msgError    = 3 // S→C [3, message], then the server closes
	msgCall     = 4 // C→S [4, id, method, [arg...], {keyword: arg}|nil, timeout_ns]
	msgCancel   = 5 // C→S [5, id]
	msgResult   = 6 // S→C [6, id, value]
	msgFail     = 7 // S→C [7, id, type, message, traceback]
	msgMethods  = 8 // C→S [8, id]; answered by a result holding a TargetInfo
)

// terminateMethod is the built-in method of ServerOptions.BuiltinTerminate.
const terminateMethod = "terminate"

// readHeader decodes the array header and kind of a message. Messages may
// carry more elements than this version knows; readers ignore the extra.
func readHeader(md *msgDecoder) (n, kind int, err error) {
	n, err = md.arrayLen()
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if n < 1 {
		return 0, 0, fmt.Errorf("%w: a message is a non-empty array", errMalformed)
	}
	k, err := md.d.DecodeInt()
	if err != nil {
		return 0, 0, fmt.Errorf("%w: message kind: %v", errMalformed, err)
	}
	return n, k, nil
}

func encodeHello(e *msgpack.Encoder, desc string, targets []string) error {
	e.EncodeArrayLen(4)
	e.EncodeInt(msgHello)
	e.EncodeInt(protocolVersion)
	e.EncodeString(desc)
	e.EncodeArrayLen(len(targets))
	for _, t := range targets {
		e.EncodeString(t)
	}
	return nil
}

func encodeSelect(e *msgpack.Encoder, kind int, target string) error {
	e.EncodeArrayLen(2)
	e.EncodeInt(int64(kind))
	return e.EncodeString(target)
}

func encodeError(e *msgpack.Encoder, msg string) error {
	e.EncodeArrayLen(2)
	e.EncodeInt(msgError)
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
	e.EncodeArrayLen(6)
	e.EncodeInt(msgCall)
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
	e.EncodeArrayLen(2)
	e.EncodeInt(int64(kind))
	return e.EncodeUint(id)
}

// encodeResultHeader starts a result; the value follows.
func encodeResultHeader(e *msgpack.Encoder, id uint64) {
	e.EncodeArrayLen(3)
	e.EncodeInt(msgResult)
	e.EncodeUint(id)
}

func encodeFail(e *msgpack.Encoder, id uint64, re *RemoteError) error {
	e.EncodeArrayLen(5)
	e.EncodeInt(msgFail)
	e.EncodeUint(id)
	e.EncodeString(re.Type)
	e.EncodeString(re.Message)
	return e.EncodeString(re.Traceback)
}
