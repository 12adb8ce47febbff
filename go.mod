module github.com/signet-pki/signet

go 1.26.8

require software.sslmate.com/src/go-pkcs12 v0.7.4

require (
	golang.org/x/crypto v0.11.0 // indirect
	golang.org/x/mod v0.43.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.48.0 // indirect
)
