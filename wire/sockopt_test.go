package wire

import "syscall"

// getKeepAlive returns SO_KEEPALIVE and TCP_KEEPIDLE (seconds) of fd.
func getKeepAlive(fd uintptr) (on, idle int) {
	on, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	if err != nil {
		return -1, -1
	}
	idle, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
	if err != nil {
		return on, -1
	}
	return on, idle
}
