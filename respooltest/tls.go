package respooltest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// TLSFiles is a private certificate authority and the certificates it
// signed, written as PEM files, for a TLS server started with WithTLS.
type TLSFiles struct {
	CA         string // the authority's certificate
	ServerCert string // the server's certificate, valid for 127.0.0.1, ::1 and localhost
	ServerKey  string // the server's private key
	ClientCert string // a client certificate, for servers that require one
	ClientKey  string // the client certificate's private key

	caPool *x509.CertPool
	client tls.Certificate
}

// NewTLSFiles creates a certificate authority, a server certificate and a
// client certificate, valid for one day, in dir (which must exist).
func NewTLSFiles(dir string) (*TLSFiles, error) {
	now := time.Now()
	caKey, caDER, err := newCert(nil, nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "respooltest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	})
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("respooltest: %w", err)
	}
	serverKey, serverDER, err := newCert(ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, err
	}
	clientKey, clientDER, err := newCert(ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "respooltest client"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	f := &TLSFiles{
		CA:         filepath.Join(dir, "ca.crt"),
		ServerCert: filepath.Join(dir, "server.crt"),
		ServerKey:  filepath.Join(dir, "server.key"),
		ClientCert: filepath.Join(dir, "client.crt"),
		ClientKey:  filepath.Join(dir, "client.key"),
		caPool:     x509.NewCertPool(),
	}
	f.caPool.AddCert(ca)
	serverKeyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		return nil, fmt.Errorf("respooltest: %w", err)
	}
	clientKeyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		return nil, fmt.Errorf("respooltest: %w", err)
	}
	for _, w := range []struct {
		path  string
		block string
		der   []byte
	}{
		{f.CA, "CERTIFICATE", caDER},
		{f.ServerCert, "CERTIFICATE", serverDER},
		{f.ServerKey, "PRIVATE KEY", serverKeyDER},
		{f.ClientCert, "CERTIFICATE", clientDER},
		{f.ClientKey, "PRIVATE KEY", clientKeyDER},
	} {
		data := pem.EncodeToMemory(&pem.Block{Type: w.block, Bytes: w.der})
		if err := os.WriteFile(w.path, data, 0o600); err != nil {
			return nil, fmt.Errorf("respooltest: %w", err)
		}
	}
	if f.client, err = tls.LoadX509KeyPair(f.ClientCert, f.ClientKey); err != nil {
		return nil, fmt.Errorf("respooltest: %w", err)
	}
	return f, nil
}

// newCert creates a P-256 key and a certificate of it from tmpl, signed by
// parent (self-signed when parent is nil). It returns the key and the
// certificate's DER.
func newCert(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("respooltest: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("respooltest: %w", err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("respooltest: %w", err)
	}
	return key, der, nil
}

// ClientConfig returns a TLS configuration that trusts the authority (and
// only it) and, with withCert, presents the client certificate.
func (f *TLSFiles) ClientConfig(withCert bool) *tls.Config {
	cfg := &tls.Config{RootCAs: f.caPool, MinVersion: tls.VersionTLS12}
	if withCert {
		cfg.Certificates = []tls.Certificate{f.client}
	}
	return cfg
}
