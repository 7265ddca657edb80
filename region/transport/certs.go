package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Validity is how long the certificates NewCA and Issue create are valid:
// ten years, so that a cluster never stops on an expired certificate.
// Rotate by issuing from a new CA and rolling nodes.
const Validity = 10 * 365 * 24 * time.Hour

// File names in a cluster's certificate directory.
const (
	caCertFile = "ca.crt"
	caKeyFile  = "ca.key"
)

// CA is a cluster certificate authority: it issues the certificates nodes
// present to each other. Keys are ECDSA P-256.
type CA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// NewCA creates a self-signed CA, valid for Validity.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("transport: generating a CA key: %w", err)
	}
	tmpl, err := template("meridian cluster CA")
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("transport: creating the CA certificate: %w", err)
	}
	return newCA(der, key)
}

func newCA(der []byte, key *ecdsa.PrivateKey) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("transport: parsing the CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("transport: the CA certificate is not a CA")
	}
	return &CA{cert: cert, key: key, certPEM: encodePEM("CERTIFICATE", der)}, nil
}

// template returns a certificate template with a random serial number,
// valid from an hour ago (clock skew) for Validity.
func template(name string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("transport: drawing a serial number: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"Meridian"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(Validity),
	}, nil
}

// CertPEM returns the CA certificate, PEM-encoded: what every node trusts.
func (ca *CA) CertPEM() []byte { return ca.certPEM }

// Issue creates a key and a certificate for the node name, signed by ca and
// valid for the IP addresses ips, for both ends of a connection (server and
// client authentication). A node's certificate must list the IP its
// transport binds, because peers dial that IP and verify it. The name is the
// certificate's common name and becomes a file name in IssueFiles.
func (ca *CA) Issue(name string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	if err := checkName(name); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: generating a key for %s: %w", name, err)
	}
	tmpl, err := template(name)
	if err != nil {
		return nil, nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	tmpl.IPAddresses = ips
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: creating the certificate of %s: %w", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: encoding the key of %s: %w", name, err)
	}
	return encodePEM("CERTIFICATE", der), encodePEM("PRIVATE KEY", keyDER), nil
}

// checkName accepts node names that are safe as file names.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || name == "ca" || strings.ContainsAny(name, `/\`+"\x00") {
		return fmt.Errorf("transport: node name %q is empty, reserved or holds a path separator", name)
	}
	return nil
}

// IssueFiles issues a certificate for name (see Issue) and writes it to
// dir/name.crt and its key to dir/name.key, readable by the owner only.
func (ca *CA) IssueFiles(dir, name string, ips []net.IP) error {
	certPEM, keyPEM, err := ca.Issue(name, ips)
	if err != nil {
		return err
	}
	return writeFiles(dir, map[string][]byte{name + ".crt": certPEM, name + ".key": keyPEM})
}

// Write writes the CA certificate to dir/ca.crt and its key to dir/ca.key,
// creating dir. The key is readable by the owner only; keep it off nodes
// that need not issue certificates.
func (ca *CA) Write(dir string) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return fmt.Errorf("transport: encoding the CA key: %w", err)
	}
	return writeFiles(dir, map[string][]byte{caCertFile: ca.certPEM, caKeyFile: encodePEM("PRIVATE KEY", keyDER)})
}

// LoadCA reads the CA that Write wrote to dir.
func LoadCA(dir string) (*CA, error) {
	certDER, err := readPEM(filepath.Join(dir, caCertFile), "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	keyDER, err := readPEM(filepath.Join(dir, caKeyFile), "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("transport: parsing the CA key: %w", err)
	}
	ecKey, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("transport: the CA key is a %T, not ECDSA", key)
	}
	return newCA(certDER, ecKey)
}

// MutualTLS returns a TLS configuration for a node that presents the
// certificate and key given, trusts only the CA given, and requires and
// verifies the certificate of the other end in both roles. Config.TLS
// takes it as it is.
func MutualTLS(caPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("transport: no CA certificate in the CA PEM")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("transport: loading the node key pair: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		NextProtos:   []string{ALPN},
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// LoadMutualTLS returns MutualTLS of dir/ca.crt, dir/name.crt and
// dir/name.key, the files Write and IssueFiles write.
func LoadMutualTLS(dir, name string) (*tls.Config, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var pems [3][]byte
	for i, file := range []string{caCertFile, name + ".crt", name + ".key"} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, fmt.Errorf("transport: reading TLS material: %w", err)
		}
		pems[i] = b
	}
	return MutualTLS(pems[0], pems[1], pems[2])
}

func encodePEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// readPEM returns the DER of the first block of typ in file.
func readPEM(file, typ string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("transport: reading TLS material: %w", err)
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("transport: no %s PEM block in %s", typ, file)
		}
		if block.Type == typ {
			return block.Bytes, nil
		}
	}
}

// writeFiles writes each file into dir, creating dir; keys (.key) are made
// readable by the owner only, certificates by everyone.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("transport: creating %s: %w", dir, err)
	}
	for name, data := range files {
		perm := os.FileMode(0o644)
		if strings.HasSuffix(name, ".key") {
			perm = 0o600
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, perm); err != nil {
			return fmt.Errorf("transport: writing TLS material: %w", err)
		}
		if err := os.Chmod(path, perm); err != nil { // WriteFile keeps the mode of a file that exists
			return fmt.Errorf("transport: writing TLS material: %w", err)
		}
	}
	return nil
}
