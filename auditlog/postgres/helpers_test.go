package postgres

import "golang.org/x/mod/sumdb/tlog"

func hashOf(leaf []byte) tlog.Hash { return tlog.RecordHash(leaf) }
