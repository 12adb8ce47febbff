package remote

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"

	// Hashes a signing request may name.
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// Role names in the URI SAN of a transport certificate.
const (
	// RoleAPI is the api role's client certificate.
	RoleAPI = "urn:signet:role:api"
	// RoleSigner is the signer role's server certificate.
	RoleSigner = "urn:signet:role:signer"
	// roleEnrolment names the self-signed certificate of an enrolment.
	roleEnrolment = "urn:signet:role:enrolment"
)

// Validity of the certificates the transport CA issues by default; a
// holder renews a certificate once two thirds of its life have passed.
const (
	DefaultCertValidity = 24 * time.Hour
	caValidity          = 10 * 365 * 24 * time.Hour
	nonceSize           = 32
	// enrolSkew is how far an enrolment's time may be from the signer's.
	enrolSkew = 5 * time.Minute
)

// EnrolmentKeySize is the size of the enrolment key.
const EnrolmentKeySize = 32

// A TransportCA issues the certificates of a split deployment's two
// roles. Its key lives in the signer's memory only, for the life of the
// process: a restart mints a new one, and the api role enrols again.
type TransportCA struct {
	key  crypto.Signer
	cert *x509.Certificate
	pool *x509.CertPool
	now  func() time.Time
}

// NewTransportCA mints a transport CA (ECDSA P-256, in memory). now is
// its clock (nil: time.Now).
func NewTransportCA(now func() time.Time) (*TransportCA, error) {
	if now == nil {
		now = time.Now
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	t := now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "Signet transport CA", Organization: []string{"Signet"}},
		NotBefore:             t.Add(-time.Minute),
		NotAfter:              t.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("remote: transport CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &TransportCA{key: key, cert: cert, pool: pool, now: now}, nil
}

// Certificate returns the CA's certificate.
func (ca *TransportCA) Certificate() *x509.Certificate { return ca.cert }

// Issue certifies pub for role ([RoleAPI] or [RoleSigner]) for validity
// (0: [DefaultCertValidity]); a signer certificate also names hosts.
func (ca *TransportCA) Issue(pub crypto.PublicKey, role string, hosts []string, validity time.Duration) (*x509.Certificate, error) {
	if validity <= 0 {
		validity = DefaultCertValidity
	}
	u, _ := url.Parse(role)
	t := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: role, Organization: []string{"Signet"}},
		NotBefore:    t.Add(-time.Minute),
		NotAfter:     t.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		URIs:         []*url.URL{u},
	}
	switch role {
	case RoleAPI:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case RoleSigner:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames, tmpl.IPAddresses = splitHosts(hosts)
	default:
		return nil, fmt.Errorf("remote: no role %q", role)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("remote: issue %s certificate: %w", role, err)
	}
	return x509.ParseCertificate(der)
}

// NewKeyPair makes a fresh in-memory P-256 key and has issue certify it.
func NewKeyPair(issue func(pub crypto.PublicKey) (*x509.Certificate, error), chain ...*x509.Certificate) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c, err := issue(key.Public())
	if err != nil {
		return nil, err
	}
	kp := &tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: key, Leaf: c}
	for _, x := range chain {
		kp.Certificate = append(kp.Certificate, x.Raw)
	}
	return kp, nil
}

// verifyRole checks that chain[0] chains to roots, has the extended key
// usage usage and names role; time is now.
func verifyRole(certs []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage, role string, now time.Time) error {
	if len(certs) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}, CurrentTime: now}); err != nil {
		return fmt.Errorf("certificate not issued by the transport CA: %w", err)
	}
	if !hasRole(certs[0], role) {
		return fmt.Errorf("certificate is not one of the %s role", role)
	}
	return nil
}

func hasRole(c *x509.Certificate, role string) bool {
	for _, u := range c.URIs {
		if u.String() == role {
			return true
		}
	}
	return false
}

// isEnrolmentCert reports whether c is a self-signed enrolment
// certificate (its signature checked by its own key).
func isEnrolmentCert(c *x509.Certificate) bool {
	if !hasRole(c, roleEnrolment) || len(c.URIs) != 1 {
		return false
	}
	return c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// enrolmentCert makes a fresh key and a self-signed enrolment
// certificate for it.
func enrolmentCert(now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(roleEnrolment)
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: roleEnrolment},
		NotBefore:    now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{u},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, nil
}

// enrolProof is the api role's proof of the enrolment key, bound to the
// public key it enrols (the TLS handshake proved it holds the private
// key), the nonce and the time.
func enrolProof(key, spki, nonce []byte, t int64) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("signet transport enrolment v1\x00"))
	writeField(m, spki)
	writeField(m, nonce)
	_ = binary.Write(m, binary.BigEndian, t)
	return m.Sum(nil)
}

// enrolAnswerMAC authenticates the signer's answer: the CA and the
// certificate, for this nonce.
func enrolAnswerMAC(key, nonce, ca, cert []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("signet transport enrolment answer v1\x00"))
	writeField(m, nonce)
	writeField(m, ca)
	writeField(m, cert)
	return m.Sum(nil)
}

func writeField(w interface{ Write([]byte) (int, error) }, b []byte) {
	_ = binary.Write(w, binary.BigEndian, uint32(len(b)))
	_, _ = w.Write(b)
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("remote: crypto/rand failed: " + err.Error())
	}
	return n.Add(n, big.NewInt(1))
}

// splitHosts sorts hosts into DNS names and IP addresses.
func splitHosts(hosts []string) (dns []string, ips []net.IP) {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else if h != "" {
			dns = append(dns, h)
		}
	}
	return dns, ips
}
