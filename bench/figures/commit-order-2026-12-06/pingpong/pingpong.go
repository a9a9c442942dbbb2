// The cost of one message round trip on a loopback TCP connection in Go, both ends (see run.sh):
//
//	pingpong server PORT     echo server; prints its CPU per round trip when the client hangs up
//	pingpong client PORT N   N round trips of 120 bytes, one at a time
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

func cpuUs() (user, sys float64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()) / 1e3, float64(ru.Stime.Nano()) / 1e3
}

func server(port string) {
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		panic(err)
	}
	c, err := l.Accept()
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 4096)
	rounds := 0
	for {
		n, err := c.Read(buf)
		if err != nil {
			u, s := cpuUs()
			fmt.Printf("go server CPU per round trip: user %.1f µs, sys %.1f µs\n", u/float64(rounds), s/float64(rounds))
			return
		}
		rounds++
		c.Write(buf[:n])
	}
}

func client(port string, n int) {
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		panic(err)
	}
	msg := make([]byte, 120)
	buf := make([]byte, 4096)
	u0, s0 := cpuUs()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		c.Write(msg)
		for got := 0; got < len(msg); {
			k, err := c.Read(buf)
			if err != nil {
				panic(err)
			}
			got += k
		}
	}
	dt := time.Since(t0)
	u, s := cpuUs()
	fmt.Printf("go: %d round trips, %.1f µs each; client CPU per round trip: user %.1f µs, sys %.1f µs\n", n, float64(dt.Microseconds())/float64(n), (u-u0)/float64(n), (s-s0)/float64(n))
	c.Close()
}

func main() {
	if len(os.Args) < 3 {
		fmt.Println("usage: pingpong server PORT | pingpong client PORT N")
		return
	}
	if os.Args[1] == "server" {
		server(os.Args[2])
		return
	}
	n, _ := strconv.Atoi(os.Args[3])
	client(os.Args[2], n)
}
