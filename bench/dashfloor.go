package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// The floor of the dashboard's live path: the least server CPU per
// delivered change that the fixed workload and one write(2) per message
// allow. Two parts, measured in the same run:
//
//   - the workload without viewers: this process's CPU while the 10 runs
//     log and the probes are set for as long as the viewers are measured
//     (dash.go), spread over the changes the viewers then applied;
//   - the writes alone: as many TCP readers as viewers run in a child
//     process (this program again, with sinksEnv set), and this process
//     writes to each of them as many messages per second, of the same
//     average size, as the WebSocket viewers received, from one loop (no
//     goroutine per connection, no WebSocket framing, no tree): the CPU
//     per write times the viewers' messages over their mods.
//
// Printed as
//
//	dash.ws1000.write_floor_us_per_change: the sum
//	dash.ws1000.cpu.vs_write_floor: server_cpu_us_per_change over it
//
// On a 2-core VM a small write to a reader in another process costs
// 8-10 µs of the writer's CPU, independent of its size from 100 bytes to
// 4 KiB (the kernel delivers the segment and wakes the reader within the
// call), and the workload about 0.4-0.5 µs per change delivered to 1,000
// viewers: with a message per publish (10 live flushes and 20 probes per
// second) the floor is about 1.2 µs per change (issue #26 asked for 5×
// below 5.1-5.4, about 1.05).
const sinksEnv = "SIGOCO_BENCH_DASH_SINKS"

// sinksMain is the child: it dials the readers, prints "ready", discards
// what they read and exits when its stdin closes.
func sinksMain(addr string) int {
	n, err := strconv.Atoi(os.Getenv(viewersSubsEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sinks:", err)
		return 2
	}
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sinks:", err)
			return 1
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(io.Discard, c)
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// writeFloor returns the CPU time of one write of size bytes to each of n
// readers in a child process, writing perSec messages per reader per
// second for dur.
func writeFloor(n int, perSec float64, size int, dur time.Duration) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	// Accepted while the child dials (a listen backlog shorter than n
	// would otherwise hold its dials).
	type acceptResult struct {
		conns []net.Conn
		err   error
	}
	done := make(chan acceptResult, 1)
	go func() {
		var r acceptResult
		for range n {
			c, err := ln.Accept()
			if err != nil {
				r.err = err
				break
			}
			r.conns = append(r.conns, c)
		}
		done <- r
	}()
	sinks, err := startChild(sinksEnv+"="+ln.Addr().String(), viewersSubsEnv+"="+strconv.Itoa(n))
	if err != nil {
		ln.Close() // ends the accepting
		closeAll((<-done).conns)
		return 0, err
	}
	defer sinks.kill()
	r := <-done
	defer closeAll(r.conns)
	if r.err != nil {
		return 0, r.err
	}
	conns := r.conns
	msg := make([]byte, max(size, 1))
	tick := time.NewTicker(time.Duration(float64(time.Second) / perSec))
	defer tick.Stop()
	writes := 0
	cpu0 := processCPU()
	for end := time.Now().Add(dur); time.Now().Before(end); {
		<-tick.C
		for _, c := range conns {
			if _, err := c.Write(msg); err != nil {
				return 0, err
			}
			writes++
		}
	}
	return (processCPU() - cpu0) / time.Duration(writes), nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}
