package email

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpd is a minimal SMTP server for tests: STARTTLS (or implicit TLS),
// AUTH PLAIN against one user, and recipients under "@example.org"; it
// keeps each message's envelope and data.
type smtpd struct {
	addr     string
	caFile   string
	user     string
	password string
	implicit bool
	echo     bool // quote the AUTH attempt in the refusal, as a careless server might

	mu       sync.Mutex
	messages []mailMsg
	logins   []string // every AUTH attempt, user:password as sent
}

type mailMsg struct {
	from string
	to   []string
	data string
}

func (s *smtpd) got() []mailMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mailMsg(nil), s.messages...)
}

// startSMTPD serves on a free loopback port until the test ends.
func startSMTPD(t *testing.T, implicit bool) *smtpd {
	t.Helper()
	return startSMTPDAt(t, implicit, "127.0.0.1:0")
}

// startSMTPDAt serves on addr: a port that was down comes back.
func startSMTPDAt(t *testing.T, implicit bool, addr string) *smtpd {
	t.Helper()
	cert, caPEM := selfSigned(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpd{addr: ln.Addr().String(), caFile: caFile, user: "facilityd", password: "smtp-password-4f3e2d", implicit: implicit}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if implicit {
				c = tls.Server(c, tc)
			}
			wg.Go(func() { s.serve(c, tc); c.Close() })
		}
	})
	return s
}

func (s *smtpd) serve(c net.Conn, tc *tls.Config) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, secure := c.(*tls.Conn)
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}
	reply("220 test ESMTP")
	var authed bool
	var cur mailMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			if secure {
				reply("250-test", "250-AUTH PLAIN", "250 8BITMIME")
			} else {
				reply("250-test", "250-STARTTLS", "250 8BITMIME")
			}
		case "STARTTLS":
			reply("220 go ahead")
			tlsConn := tls.Server(c, tc)
			if tlsConn.Handshake() != nil {
				return
			}
			c, secure = tlsConn, true
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !secure || mech != "PLAIN" {
				reply("504 5.5.4 PLAIN over TLS only")
				continue
			}
			if resp == "" {
				reply("334 ")
				resp, _ = r.ReadString('\n')
				resp = strings.TrimSpace(resp)
			}
			b, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(b), "\x00")
			if len(parts) != 3 {
				reply("501 5.5.2 bad PLAIN")
				continue
			}
			s.mu.Lock()
			s.logins = append(s.logins, parts[1]+":"+parts[2])
			s.mu.Unlock()
			if parts[1] != s.user || parts[2] != s.password {
				s.mu.Lock()
				echo := s.echo
				s.mu.Unlock()
				if echo {
					reply("535 5.7.8 authentication failed: AUTH PLAIN " + resp + " (" + parts[1] + ":" + parts[2] + ")")
					continue
				}
				reply("535 5.7.8 authentication failed")
				continue
			}
			authed = true
			reply("235 2.7.0 ok")
		case "MAIL":
			if !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			cur = mailMsg{from: addrOf(arg)}
			reply("250 ok")
		case "RCPT":
			to := addrOf(arg)
			if !strings.HasSuffix(to, "@example.org") {
				reply("550 5.1.1 no such user")
				continue
			}
			cur.to = append(cur.to, to)
			reply("250 ok")
		case "DATA":
			reply("354 go ahead")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.data = data.String()
			s.mu.Lock()
			s.messages = append(s.messages, cur)
			s.mu.Unlock()
			reply("250 queued")
		case "RSET", "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 5.5.1 unknown command")
		}
	}
}

func addrOf(arg string) string {
	_, a, _ := strings.Cut(arg, ":")
	a, _, _ = strings.Cut(a, " ")
	return strings.Trim(a, "<>")
}

// selfSigned makes a certificate for 127.0.0.1 and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtpd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
