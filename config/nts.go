package config

import (
	"fmt"
	"path/filepath"
)

// NTS configures Network Time Security (RFC 8915): the NTS-KE server and
// the master keys its cookies are sealed with. Off while Listen is empty.
type NTS struct {
	// Listen holds the NTS-KE TCP addresses (ADDR:PORT; 4460 is the
	// standard port). Empty: NTS is off.
	Listen []string `yaml:"listen"`
	// Certificate and Key are PEM files: the TLS certificate chain and its
	// private key.
	Certificate string `yaml:"certificate"`
	Key         string `yaml:"key"`
	// KeyFile holds the master keys (absolute path, mode 0600) so cookies
	// survive restarts; "" keeps them in memory only.
	KeyFile string `yaml:"key_file"`
	// RotateSeconds is the master-key rotation period (chrony's ntsrotate);
	// 0: never rotate, reload key_file when it changes (another writer).
	RotateSeconds int `yaml:"rotate"`
	// Keep is how many previous keys stay accepted.
	Keep int `yaml:"keep"`
	// NTPServer and NTPPort are sent to clients as NTPv4 Server and Port
	// records ("" and 0: none, clients use the NTS-KE host and port 123).
	NTPServer string `yaml:"ntp_server"`
	NTPPort   int    `yaml:"ntp_port"`
	// MaxConnections bounds concurrent NTS-KE connections.
	MaxConnections int `yaml:"max_connections"`
	// TimeoutSeconds bounds one NTS-KE exchange (handshake, request, response).
	TimeoutSeconds int `yaml:"timeout"`
}

// Bounds of the nts section.
const (
	ntsMinRotate = 3600
	ntsMaxRotate = 366 * 86400
	ntsMaxKeep   = 14 // ntp/nts.MaxKeep
)

func builtinNTS() NTS {
	return NTS{Listen: []string{}, RotateSeconds: 604800, Keep: 2, MaxConnections: 100, TimeoutSeconds: 5}
}

func (c *Config) validateNTS(bad func(key string, value any, format string, args ...any)) {
	n := &c.NTS
	for i, s := range n.Listen {
		if _, err := parseListen(s); err != nil {
			bad(fmt.Sprintf("nts.listen[%d]", i), s, "%v", err)
		}
	}
	on := len(n.Listen) > 0
	for _, f := range []struct{ key, val string }{{"nts.certificate", n.Certificate}, {"nts.key", n.Key}} {
		if on && f.val == "" {
			bad(f.key, f.val, "required when nts.listen is set")
		}
	}
	if n.KeyFile != "" && !filepath.IsAbs(n.KeyFile) {
		bad("nts.key_file", n.KeyFile, "must be an absolute path")
	}
	if n.RotateSeconds != 0 && (n.RotateSeconds < ntsMinRotate || n.RotateSeconds > ntsMaxRotate) {
		bad("nts.rotate", n.RotateSeconds, "must be 0 (reload nts.key_file, written by someone else) or %d … %d seconds", ntsMinRotate, ntsMaxRotate)
	}
	if n.RotateSeconds == 0 && on && n.KeyFile == "" {
		bad("nts.rotate", n.RotateSeconds, "0 needs nts.key_file: without rotation the keys must come from a file")
	}
	if n.Keep < 0 || n.Keep > ntsMaxKeep {
		bad("nts.keep", n.Keep, "must be 0 … %d", ntsMaxKeep)
	}
	if len(n.NTPServer) > 255 {
		bad("nts.ntp_server", n.NTPServer, "longer than 255 bytes")
	}
	for _, r := range n.NTPServer {
		if r <= ' ' || r > '~' {
			bad("nts.ntp_server", n.NTPServer, "must be a host name or address in printable ASCII")
			break
		}
	}
	if n.NTPPort < 0 || n.NTPPort > 65535 {
		bad("nts.ntp_port", n.NTPPort, "must be 0 (none) … 65535")
	}
	if n.MaxConnections < 1 || n.MaxConnections > 100000 {
		bad("nts.max_connections", n.MaxConnections, "must be 1 … 100000")
	}
	if n.TimeoutSeconds < 1 || n.TimeoutSeconds > 60 {
		bad("nts.timeout", n.TimeoutSeconds, "must be 1 … 60 seconds")
	}
}
