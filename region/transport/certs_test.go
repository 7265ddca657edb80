package transport_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/transport"
)

// parseCert returns the certificate in certPEM.
func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no certificate in %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestIssueMakesNodeCertificates(t *testing.T) {
	ca := newCA(t)
	ips := []net.IP{net.IPv4(127, 0, 1, 2).To4(), net.ParseIP("fd00::2")}
	certPEM, keyPEM, err := ca.Issue("n2", ips)
	if err != nil {
		t.Fatal(err)
	}
	cert := parseCert(t, certPEM)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM())
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("verifying for usage %v: %v", usage, err)
		}
	}
	for _, ip := range ips {
		if err := cert.VerifyHostname(ip.String()); err != nil {
			t.Errorf("certificate not valid for %s: %v", ip, err)
		}
	}
	if cert.Subject.CommonName != "n2" {
		t.Errorf("common name %q, want n2", cert.Subject.CommonName)
	}
	if life := cert.NotAfter.Sub(time.Now()); life < 9*365*24*time.Hour {
		t.Errorf("certificate valid for %v only", life)
	}
	if _, err := transport.MutualTLS(ca.CertPEM(), certPEM, keyPEM); err != nil {
		t.Errorf("MutualTLS: %v", err)
	}
}

func TestIssueRefusesNamesUnfitForFiles(t *testing.T) {
	ca := newCA(t)
	for _, name := range []string{"", ".", "..", "ca", "a/b", `a\b`, "a\x00b"} {
		if _, _, err := ca.Issue(name, nil); err == nil {
			t.Errorf("Issue(%q) succeeded", name)
		}
	}
}

func TestCAFilesRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	ca := newCA(t)
	if err := ca.Write(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := transport.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded.CertPEM(), ca.CertPEM()) {
		t.Fatal("LoadCA returned another certificate")
	}
	if err := loaded.IssueFiles(dir, "n1", []net.IP{net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]os.FileMode{"ca.crt": 0o644, "ca.key": 0o600, "n1.crt": 0o644, "n1.key": 0o600} {
		info, err := os.Stat(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", file, got, want)
		}
	}
	conf, err := transport.LoadMutualTLS(dir, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(conf.NextProtos, []string{transport.ALPN}) || conf.ClientCAs == nil || conf.RootCAs == nil {
		t.Errorf("LoadMutualTLS returned %+v", conf)
	}
	// A certificate the loaded CA issued verifies against the original.
	cert, err := x509.ParseCertificate(conf.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM())
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("verifying a certificate of the loaded CA: %v", err)
	}
}

func TestTLSMaterialErrors(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	certPEM, keyPEM, err := ca.Issue("n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := other.Issue("n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		caPEM, cert, keyPEM []byte
	}{
		{"no CA certificate", []byte("junk"), certPEM, keyPEM},
		{"key of another certificate", ca.CertPEM(), certPEM, otherKey},
		{"no certificate", ca.CertPEM(), nil, keyPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := transport.MutualTLS(tt.caPEM, tt.cert, tt.keyPEM); err == nil {
				t.Fatal("MutualTLS succeeded")
			}
		})
	}
	if _, err := transport.LoadCA(t.TempDir()); err == nil {
		t.Error("LoadCA of an empty directory succeeded")
	}
	if _, err := transport.LoadMutualTLS(t.TempDir(), "n1"); err == nil {
		t.Error("LoadMutualTLS of an empty directory succeeded")
	}
}
