package sqldb

import "time"

// FormatTime is how Signet's SQLite tables that keep times as text store
// them: RFC 3339 with nanoseconds, in UTC, so that they sort as strings.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ParseTime reads a time written by [FormatTime].
func ParseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
