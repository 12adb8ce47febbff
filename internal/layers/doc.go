// Package layers holds no code: its test reads `go list` output for the
// whole module and fails on an import that breaks Signet's layer rules.
// docs/ARCHITECTURE.md draws the layers; this is the rule book the test
// enforces, stated once.
//
// Layers, lowest first (a package's sub-packages belong to its layer unless
// listed as test support):
//
//  1. Standards: internal/pdf, cms, tsa, ltv, pades, keyref. No Signet
//     domain words; usable by anyone. They import no Signet package outside
//     layer 1.
//
//  2. Custody and evidence: internal/sqldb, internal/pgdb,
//     internal/cluster/..., internal/tokenbucket, auditlog/..., keys/...
//     Layers 1-2 only. auditlog/... does not import keys/... (the log
//     records what custody did, it never holds keys), and keys/... does not
//     import keyref (custody does not read the command line's key
//     references). keys/remote, the key RPC between the roles of a split
//     deployment, is custody too: it carries keys.Backend over mutual TLS,
//     imports nothing above layer 2, and no backend (keys/soft,
//     keys/pkcs11): the api role's backend carries calls, never material.
//     references). keys/atrest (the data keys at rest) is custody too: it
//     implements the workflow's key ring without importing the workflow;
//     internal/server checks that it fits.
//
//  3. PKI: pki/... (the roles a service runs, the CA, OCSP, CRL). Layers 1-3.
//
//  4. Service: internal/api, internal/authz, internal/identity,
//     internal/accounts, internal/blob,
//     internal/mail, internal/workflow, internal/signing, internal/datadir,
//     internal/apiclient, internal/evidence, internal/verify, internal/archive,
//     internal/auditview, internal/keyadmin, internal/web, internal/metrics, internal/alert, internal/webhook,
//     internal/transfer, internal/backup, internal/server and their
//     sub-packages. Layers 1-4, with an order inside the layer:
//
//     api < authz < identity < (accounts, access) < (blob, mail, webhook) < workflow < signing < (datadir, apiclient, evidence, verify, archive, auditview, keyadmin, web, metrics, alert) < (transfer, backup, server)
//
//     A package imports only packages earlier in that order, plus packages
//     of its own group (internal/workflow/sqlite imports internal/workflow).
//     Nothing but cmd/signet, bench/ and e2e imports internal/server (tests
//     may).
//
//  5. Binary: cmd/signet. Everything except test support.
//
// Test support (internal/testpki, internal/pgtest, internal/pdfsigtest,
// internal/cluster/clustertest, internal/authz/authztest, internal/secretscan, internal/pdf/pdftest,
// internal/mail/mailtest, every */storetest, auditlog/anchor/witnesstest,
// keys/soft/vaulttest, keys/atrest/atresttest, keys/pkcs11/softhsmtest,
// internal/identity/oidc/oidctest,
// internal/identity/passkey/passkeytest,
// auditlog/internal/logbench, and this package) is imported only by tests,
// by other test support, and by the tools under bench/ and e2e. The test
// also checks that `go list -deps ./cmd/signet` holds no test support, so
// the release binary never links a test server.
//
// Only the non-test imports of a package are checked: a _test.go file may
// import anything, internal/server and test support included.
//
// Every package of the module must be classified: a new package that falls
// in no layer fails the test with "classify package X in internal/layers".
// The test's pending table lists the known violations that are being
// removed, each with its reason; an entry that no longer matches an import
// fails the test too, so the table only shrinks.
//
// A second test checks that docs/ARCHITECTURE.md names every package.
package layers
