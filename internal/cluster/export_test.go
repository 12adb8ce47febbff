package cluster

// LocalKeys returns the number of keys l keeps.
func LocalKeys(l *LocalLocks) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
