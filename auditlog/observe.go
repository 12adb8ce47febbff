package auditlog

import "context"

// An AppendObserver watches the appends of a [Log] (the service's alert
// engine: failing or stalled appends, and the events themselves).
//
// AppendStarted is called before an append is queued, AppendDone once it
// ended, with the event (its clear values in memory) and the append's
// error (nil: the event is durable). Both run in the appending caller's
// goroutine; they MUST return promptly and MUST NOT log or store the
// event's sensitive values. AppendDone MAY append further events to the
// log (which are observed in turn).
type AppendObserver interface {
	AppendStarted()
	AppendDone(ctx context.Context, e Event, err error)
}

// SetAppendObserver makes o the observer of every later append (nil:
// none).
func (l *Log) SetAppendObserver(o AppendObserver) {
	if o == nil {
		l.observer.Store(nil)
		return
	}
	l.observer.Store(&o)
}

// observe returns the current observer, nil if none.
func (l *Log) observe() AppendObserver {
	if p := l.observer.Load(); p != nil {
		return *p
	}
	return nil
}
