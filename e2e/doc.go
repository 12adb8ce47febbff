// Package e2e holds Signet's end-to-end tests: a real server (TLS 1.3,
// SQLite, software keys, the built-in TSA and PKI endpoints) in process,
// driven only through its HTTP API, with recipients' links and codes read
// from an in-process SMTP mailbox. The completed documents are checked by
// pades.Verify, pdfsig and qpdf; the audit log is read back from disk.
//
// TestConcurrentEnvelopes is the concurrency test: 200 envelopes signed
// by a bounded loopback load (16 workers). Skip it with -short.
package e2e
