package rpc

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
)

// pyException is an exception as SiPyCo sends it in a failed reply.
type pyException struct {
	Class     string
	Message   string
	Traceback []string
}

func (e *pyException) value() map[string]any {
	tb := e.Traceback
	if tb == nil {
		tb = []string{}
	}
	return map[string]any{"class": e.Class, "message": e.Message, "traceback": tb}
}

// pyGeneric is the class SiPyCo uses for every non-builtin exception; its
// message is "Class: message".
const pyGeneric = "GenericRemoteException"

// pyBuiltins are the Python builtin exception classes a SiPyCo client
// re-raises as themselves (packed_exceptions.raise_packed_exc calls
// getattr(builtins, class)(message)). Left out: classes whose constructor
// needs more than a message (UnicodeDecodeError, ExceptionGroup, ...) and
// those that would end the client program (SystemExit, KeyboardInterrupt,
// GeneratorExit).
var pyBuiltins = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`ArithmeticError AssertionError
		AttributeError BlockingIOError BrokenPipeError BufferError
		ChildProcessError ConnectionAbortedError ConnectionError
		ConnectionRefusedError ConnectionResetError EOFError EnvironmentError
		Exception FileExistsError FileNotFoundError FloatingPointError
		IOError ImportError IndexError InterruptedError IsADirectoryError
		KeyError LookupError MemoryError ModuleNotFoundError NameError
		NotADirectoryError NotImplementedError OSError OverflowError
		PermissionError ProcessLookupError RecursionError ReferenceError
		RuntimeError StopAsyncIteration StopIteration SystemError
		TimeoutError TypeError UnboundLocalError UnicodeError ValueError
		ZeroDivisionError`) {
		pyBuiltins[c] = true
	}
}

// pythonClasser is implemented by errors that name the Python exception
// class SiPyCo clients should see (see docs/sipyco.md).
type pythonClasser interface {
	PythonClass() string
}

// sipycoException maps an error a method returned to the exception a
// SiPyCo client raises. In order: an error in the chain with a
// PythonClass method names its class; ErrValue is ValueError;
// strconv's range and syntax errors are ValueError, deadlines
// TimeoutError, errors.ErrUnsupported NotImplementedError, os.ErrNotExist
// FileNotFoundError, os.ErrExist FileExistsError, os.ErrPermission
// PermissionError; a *RemoteError passed on (from a proxied call) keeps
// its class; anything else is GenericRemoteException "GoType: message".
func sipycoException(err error) *pyException {
	msg := err.Error()
	var pc pythonClasser
	if errors.As(err, &pc) {
		return pyClass(pc.PythonClass(), msg, nil)
	}
	var re *RemoteError
	if errors.As(err, &re) {
		return remoteToPy(re)
	}
	if cls, m, ok := sentinelClass(err); ok {
		return &pyException{Class: cls, Message: m}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return &pyException{Class: "TimeoutError", Message: msg}
	}
	return pyClass(errorToRemote(err).Type, msg, nil)
}

// sentinelClasses are the sentinel errors that cross the wire as a Python
// builtin class, for SiPyCo and native clients alike; RemoteError.Is
// matches them back (errors.Is(err, rpc.ErrValue) on the caller's side).
var sentinelClasses = []struct {
	err   error
	class string
}{
	{ErrValue, "ValueError"},
	{strconv.ErrRange, "ValueError"},
	{strconv.ErrSyntax, "ValueError"},
	{errors.ErrUnsupported, "NotImplementedError"},
	{os.ErrNotExist, "FileNotFoundError"},
	{os.ErrExist, "FileExistsError"},
	{os.ErrPermission, "PermissionError"},
}

// sentinelClass returns the class of an error wrapping one of
// sentinelClasses, and its message (ErrValue's own text left out).
func sentinelClass(err error) (class, msg string, ok bool) {
	for _, sc := range sentinelClasses {
		if errors.Is(err, sc.err) {
			msg = err.Error()
			if sc.err == ErrValue {
				msg = stripValuePrefix(msg)
			}
			return sc.class, msg, true
		}
	}
	return "", "", false
}

// pyClass is an exception of class cls: itself when Python has it as a
// builtin, else GenericRemoteException with "cls: message".
func pyClass(cls, msg string, tb []string) *pyException {
	if pyBuiltins[cls] {
		return &pyException{Class: cls, Message: msg, Traceback: tb}
	}
	return &pyException{Class: pyGeneric, Message: cls + ": " + msg, Traceback: tb}
}

// remoteToPy maps the server's own failures (and remote errors passed on)
// to Python classes: an unknown method is an AttributeError (what Python's
// getattr raises), bad arguments a TypeError, a request that cannot be
// read a ValueError; a Python class name is kept.
func remoteToPy(re *RemoteError) *pyException {
	var tb []string
	if re.Traceback != "" {
		tb = []string{re.Traceback}
	}
	switch re.Type {
	case TypeUnknownMethod:
		return &pyException{Class: "AttributeError", Message: re.Message, Traceback: tb}
	case TypeBadArguments, TypeBadResult:
		return &pyException{Class: "TypeError", Message: re.Message, Traceback: tb}
	case TypeBadRequest:
		return &pyException{Class: "ValueError", Message: re.Message, Traceback: tb}
	case TypeDeadlineExceeded:
		return &pyException{Class: "TimeoutError", Message: re.Message, Traceback: tb}
	case pyGeneric:
		return &pyException{Class: pyGeneric, Message: re.Message, Traceback: tb}
	}
	return pyClass(re.Type, re.Message, tb)
}

// stripValuePrefix drops ErrValue's own text from a message built with
// fmt.Errorf("%w: ...", ErrValue) or fmt.Errorf("...: %w", ErrValue).
func stripValuePrefix(msg string) string {
	v := ErrValue.Error()
	if s, ok := strings.CutPrefix(msg, v+": "); ok {
		return s
	}
	if s, ok := strings.CutSuffix(msg, ": "+v); ok {
		return s
	}
	return msg
}
