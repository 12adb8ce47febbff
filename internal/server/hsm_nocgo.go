//go:build !cgo

package server

// pkcs11Supported reports whether this build can load PKCS#11 modules
// (C libraries, which need cgo): this one cannot.
const pkcs11Supported = false
