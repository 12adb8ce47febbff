package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ,
// 100 on Linux).
const clockTicks = 100

// cpuTimes are the CPU times (user + system) used so far by this process
// and by a database server's processes.
type cpuTimes struct {
	self, server time.Duration
}

// readCPU returns this process's CPU time and, if serverPID is not 0,
// that of the server: its postmaster, the backends and helpers alive now
// (its children) and those it has reaped (the postmaster's children's
// times).
func readCPU(serverPID int) cpuTimes {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t := cpuTimes{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	if serverPID == 0 {
		return t
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return t
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, ticks, ok := procStat(pid)
		if ok && (pid == serverPID || ppid == serverPID) {
			t.server += time.Duration(ticks) * time.Second / clockTicks
		}
	}
	return t
}

// procStat returns the parent pid of process pid and its CPU time in
// clock ticks: utime + stime + cutime + cstime from /proc/PID/stat.
func procStat(pid int) (ppid int, ticks int64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command may hold spaces
	if i < 0 || i+2 > len(s) {
		return 0, 0, false
	}
	f := strings.Fields(s[i+2:]) // f[0] is field 3, the state
	if len(f) < 15 {
		return 0, 0, false
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, false
	}
	for _, x := range f[11:15] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		ticks += n
	}
	return ppid, ticks, true
}

// machineTicks returns the machine's total and idle (idle + iowait) CPU
// clock ticks from the first line of /proc/stat.
func machineTicks() (total, idle int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0
	}
	for i, x := range f[1:] {
		n, _ := strconv.ParseInt(x, 10, 64)
		total += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return total, idle
}
