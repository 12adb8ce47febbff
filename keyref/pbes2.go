package keyref

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
)

// Encrypted PKCS#8 keys (RFC 5958 §3) as OpenSSL 3 writes them: PBES2 with
// PBKDF2 and AES-CBC (RFC 8018 §6.2, §5.2, appendix B).
var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// maxPBKDF2Iterations bounds the work a hostile key file can demand.
const maxPBKDF2Iterations = 10_000_000

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

func isEncryptedPKCS8(der []byte) bool {
	var info encryptedPrivateKeyInfo
	rest, err := asn1.Unmarshal(der, &info)
	return err == nil && len(rest) == 0 && info.Algorithm.Algorithm.Equal(oidPBES2)
}

// decryptKey asks for a password and decrypts an EncryptedPrivateKeyInfo.
func decryptKey(der []byte, path string, password func() ([]byte, error)) (crypto.Signer, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, errorf(ErrNoKey, "malformed encrypted private key in %s", path)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, errorf(ErrUnsupportedKey, "%s is encrypted with %v; Signet reads PBES2 (openssl pkey -aes256)", path, info.Algorithm.Algorithm)
	}
	var params pbes2Params
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(rest) != 0 {
		return nil, errorf(ErrNoKey, "malformed PBES2 parameters in %s", path)
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, errorf(ErrUnsupportedKey, "%s uses key derivation %v; Signet reads PBKDF2", path, params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if rest, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 {
		return nil, errorf(ErrNoKey, "malformed PBKDF2 parameters in %s", path)
	}
	if kdf.Iterations < 1 || kdf.Iterations > maxPBKDF2Iterations {
		return nil, errorf(ErrUnsupportedKey, "%s asks for %d PBKDF2 iterations", path, kdf.Iterations)
	}
	var prf func() hash.Hash
	switch alg := kdf.PRF.Algorithm; {
	case len(alg) == 0 || alg.Equal(oidHMACSHA1):
		prf = sha1.New
	case alg.Equal(oidHMACSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACSHA384):
		prf = sha512.New384
	case alg.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, errorf(ErrUnsupportedKey, "%s uses PBKDF2 PRF %v", path, alg)
	}
	var keyLen int
	switch alg := params.EncryptionScheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen = 16
	case alg.Equal(oidAES192CBC):
		keyLen = 24
	case alg.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, errorf(ErrUnsupportedKey, "%s is encrypted with %v; Signet reads AES-CBC", path, alg)
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(rest) != 0 || len(iv) != aes.BlockSize {
		return nil, errorf(ErrNoKey, "malformed AES-CBC parameters in %s", path)
	}
	ct := info.EncryptedData
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errorf(ErrNoKey, "malformed encrypted private key in %s", path)
	}
	if password == nil {
		return nil, errorf(ErrPassword, "%s is encrypted and needs a password", path)
	}
	pw, err := password()
	if err != nil {
		return nil, fmt.Errorf("keyref: password for %s: %w", path, err)
	}
	key, err := pbkdf2.Key(prf, string(pw), kdf.Salt, kdf.Iterations, keyLen)
	clear(pw)
	if err != nil {
		return nil, errorf(ErrUnsupportedKey, "cannot derive the key for %s: %v", path, err)
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("keyref: %w", err)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	defer clear(pt)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, errorf(ErrPassword, "wrong password for %s", path)
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, errorf(ErrPassword, "wrong password for %s", path)
		}
	}
	k, err := x509.ParsePKCS8PrivateKey(pt[:len(pt)-pad])
	if err != nil {
		return nil, errorf(ErrPassword, "wrong password for %s", path)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errorf(ErrUnsupportedKey, "unsupported key in %s: %T", path, k)
	}
	return signer, nil
}
