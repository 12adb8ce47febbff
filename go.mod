module github.com/signet-pki/signet

go 1.26.8
