package datadir

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrInUse means another process holds a lock of the data directory: the
// writer lock ([WriterLock], held by whoever appends to the audit log) or
// the PKI lock of the pki commands ([PKILock]).
var ErrInUse = errors.New("datadir: data directory is in use")

// lock takes the exclusive lock file name of the data directory without
// waiting, and keeps it until Close; holder says who else may hold it, for
// the error.
func (d *Dir) lock(name, holder string) error {
	f, err := os.OpenFile(d.File(name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("datadir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w: %s is held by %s", ErrInUse, d.File(name), holder)
		}
		return fmt.Errorf("datadir: lock %s: %w", d.File(name), err)
	}
	d.onClose(f.Close)
	return nil
}

// LockWriter takes the writer lock ([WriterLock]) until Close, so that no
// `signet serve` or command changes the data directory meanwhile (as
// `signet migrate` needs while it copies it).
func (d *Dir) LockWriter() error {
	if _, err := d.mkdir(""); err != nil {
		return err
	}
	return d.lock(WriterLock, "another Signet process (a running signet serve, or a command that records events)")
}
