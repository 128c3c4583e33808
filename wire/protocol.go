package wire

import "fmt"

// Protocol chooses between sigoco's native protocol and SiPyCo's for a
// client (rpc.ClientOptions.Protocol, syncstruct.SubscriberOptions.Protocol;
// each package documents how its automatic choice is made).
type Protocol int

const (
	// ProtocolAuto tries the native protocol and falls back to SiPyCo's.
	ProtocolAuto Protocol = iota
	// ProtocolNative speaks only the native ("SIGOCO …") protocol.
	ProtocolNative
	// ProtocolSiPyCo speaks only SiPyCo's ("ARTIQ …") protocol.
	ProtocolSiPyCo
)

func (p Protocol) String() string {
	switch p {
	case ProtocolAuto:
		return "auto"
	case ProtocolNative:
		return "native"
	case ProtocolSiPyCo:
		return "sipyco"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}
