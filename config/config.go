package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultYAML is the embedded default configuration, printed by
// `gnomond config default` and used when no --config is given.
//
//go:embed default.yaml
var DefaultYAML []byte

// Config is gnomond's configuration.
type Config struct {
	NTP       NTP       `yaml:"ntp"`
	Clock     Clock     `yaml:"clock"`
	Sources   []Source  `yaml:"sources"`
	Selection Selection `yaml:"selection"`
	Servo     Servo     `yaml:"servo"`
	Holdover  Holdover  `yaml:"holdover"`
	Leap      Leap      `yaml:"leap"`
	Metrics   Metrics   `yaml:"metrics"`
	Control   Control   `yaml:"control"`
	PTP       PTP       `yaml:"ptp"`
	// PHC is the PTP hardware clock disciplined from GNSS (off unless a
	// device or interface is given).
	PHC PHCClock `yaml:"phc"`
	// ClockBound exports the error bound as a ClockBound segment.
	ClockBound ClockBound `yaml:"clockbound"`
	// Process says whom gnomond runs as once it is set up.
	Process Process `yaml:"process"`
	// NTS is Network Time Security: the NTS-KE server and master keys.
	NTS NTS `yaml:"nts"`
	Log Log `yaml:"log"`
}

// Process configures the privileges gnomond keeps after start-up.
type Process struct {
	// User is the user (name or number) gnomond switches to once every
	// socket, device and file is open ("" = stay the user it was started
	// as). Its capabilities are cut to what the configured clocks need
	// either way.
	User string `yaml:"user"`
	// Group is the group (name or number) to run as ("" = the user's
	// primary group). Supplementary groups are dropped.
	Group string `yaml:"group"`
}

// NTP configures the NTP server.
type NTP struct {
	// Listen holds ADDR:PORT strings (IPv6 in brackets).
	Listen []string `yaml:"listen"`
	// ListenOptional holds ADDR:PORT strings served only when they can be
	// bound: a failure (port held by another daemon, or port < 1024 without
	// root) is logged and skipped instead of stopping gnomond.
	ListenOptional []string `yaml:"listen_optional"`
	// Interface binds every NTP socket to one network interface ("" = any).
	Interface string `yaml:"interface"`
	// Workers is the number of worker goroutines; 0 means one per CPU.
	Workers int `yaml:"workers"`
	// Timestamping is auto, hardware, software or none.
	Timestamping string `yaml:"timestamping"`
	// DSCP is the differentiated services code point of replies (0–63).
	DSCP int `yaml:"dscp"`
	// Allow and Deny are CIDR prefixes or bare addresses.
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
	// RateLimit is nil (off) unless the key is present.
	RateLimit *RateLimit `yaml:"ratelimit"`
	// Interleaved enables interleaved mode (RFC 9769) for clients asking.
	Interleaved bool `yaml:"interleaved"`
	// ClientLogSize is the number of client log entries.
	ClientLogSize int `yaml:"client_log_size"`
	// RecvBuffer is the receive buffer of each NTP socket in bytes: 0 means
	// gnomond's default (4 MiB), -1 the system default
	// (net.core.rmem_default).
	RecvBuffer int `yaml:"recv_buffer"`
	// KeysFile is a chrony-format key file of symmetric keys for RFC 5905
	// MACs ("" = none: requests with a MAC are dropped). Re-read on
	// SIGHUP.
	KeysFile string `yaml:"keys_file"`
}

// RateLimit is chrony's `ratelimit` directive.
type RateLimit struct {
	// Interval is the minimum mean interval between answers, log2 seconds
	// (3 = 8 s; −19 … 12).
	Interval int `yaml:"interval"`
	// Burst is how many requests may exceed the rate at once (1 … 255).
	Burst int `yaml:"burst"`
	// Leak: limited requests are still answered with probability 2^−Leak
	// (1 … 4), so a spoofer cannot silence a victim.
	Leak int `yaml:"leak"`
	// KoD: limited requests get a KoD RATE with probability 2^−KoD;
	// 0 never (0 … 4).
	KoD int `yaml:"kod"`
}

// DefaultRateLimit returns chrony's ratelimit defaults.
func DefaultRateLimit() RateLimit { return RateLimit{Interval: 3, Burst: 8, Leak: 2, KoD: 0} }

// UnmarshalYAML fills the fields a file omits with chrony's defaults, so
// that `ratelimit: {}` means chrony's plain `ratelimit`. Unknown keys inside
// were already rejected by the key check that runs before decoding.
func (r *RateLimit) UnmarshalYAML(n *yaml.Node) error {
	type plain RateLimit
	p := plain(DefaultRateLimit())
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		*r = RateLimit(p)
		return nil
	}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*r = RateLimit(p)
	return nil
}

// Clock selects the clock gnomond disciplines and serves.
type Clock struct {
	// Mode is virtual (a software clock over CLOCK_REALTIME, steered by
	// the engine; the host clock is never touched), system (the engine
	// steers CLOCK_REALTIME itself: only on explicit request) or none
	// (CLOCK_REALTIME served as it is; only a local source allowed).
	Mode string `yaml:"mode"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is ADDR:PORT ("" = off; empty ADDR = all addresses).
	Listen string `yaml:"listen"`
}

// Control configures the chronyc-compatible control protocol (chrony's
// cmdmon, protocol version 6).
type Control struct {
	// Listen holds UDP ADDR:PORT strings for the read-only commands
	// (chronyd's cmdport); requests from non-loopback addresses are
	// dropped.
	Listen []string `yaml:"listen"`
	// ListenOptional holds UDP addresses served only when they can be
	// bound (port 323 held by chronyd, or no privilege): a failure is
	// logged and skipped.
	ListenOptional []string `yaml:"listen_optional"`
	// Socket is the Unix datagram socket with every command ("" = off).
	// When it cannot be created gnomond logs a warning and runs without
	// it, as chronyd does.
	Socket string `yaml:"socket"`
	// SocketMode is the socket file's permissions, octal ("0660").
	SocketMode string `yaml:"socket_mode"`
	// SocketGroup owns the socket file ("" = gnomond's group).
	SocketGroup string `yaml:"socket_group"`
}

// ListenAddrs returns the parsed control listen addresses (call after
// Validate).
func (c *Control) ListenAddrs() []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(c.Listen))
	for _, s := range c.Listen {
		if ap, err := parseListen(s); err == nil {
			out = append(out, ap)
		}
	}
	return out
}

// OptionalListenAddrs returns the parsed optional control addresses that
// control.listen does not already serve (call after Validate).
func (c *Control) OptionalListenAddrs() []netip.AddrPort {
	required := c.ListenAddrs()
	out := make([]netip.AddrPort, 0, len(c.ListenOptional))
	for _, s := range c.ListenOptional {
		if ap, err := parseListen(s); err == nil && !slices.Contains(required, ap) && !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	return out
}

// Mode returns control.socket_mode parsed (call after Validate; 0660 when
// empty).
func (c *Control) Mode() os.FileMode {
	m, err := parseMode(c.SocketMode)
	if err != nil {
		return 0o660
	}
	return m
}

// parseMode parses an octal permission string such as "0660".
func parseMode(s string) (os.FileMode, error) {
	if s == "" {
		return 0o660, nil
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, errors.New("not an octal file mode (0600 … 0777)")
	}
	if v&0o600 != 0o600 {
		return 0, errors.New("the owner needs read and write (0600 at least): gnomonctl run as gnomond's user could not use the socket")
	}
	return os.FileMode(v), nil
}

// ClockBound configures the ClockBound shared-memory export.
type ClockBound struct {
	// Path of the segment file ("" = off; ClockBound clients read
	// /var/run/clockbound/shm0).
	Path string `yaml:"path"`
	// MaxDriftPPB is the drift rate readers grow the bound with, ppb.
	MaxDriftPPB int `yaml:"max_drift_ppb"`
}

// Log configures log/slog.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Values accepted by the enumerated keys.
const (
	TimestampingAuto     = "auto"
	TimestampingHardware = "hardware"
	TimestampingSoftware = "software"
	TimestampingNone     = "none"

	ClockVirtual = "virtual"
	ClockSystem  = "system"

	FormatText = "text"
	FormatJSON = "json"

	// DefaultControlSocket is control.socket's default, where gnomonctl
	// looks first.
	DefaultControlSocket = "/run/gnomond/gnomond.sock"
)

// builtin returns the built-in defaults. default.yaml spells out the same
// values (TestDefaultYAMLSpellsOutBuiltin).
func builtin() *Config {
	return &Config{
		NTP: NTP{
			Listen:         []string{"127.0.0.1:11123", "[::1]:11123"},
			ListenOptional: []string{"127.0.0.1:123"},
			Workers:        0,
			Timestamping:   TimestampingAuto,
			Allow:          []string{"127.0.0.0/8", "::1/128"},
			Deny:           []string{},
			Interleaved:    true,
			ClientLogSize:  4096,
		},
		Clock:   Clock{Mode: ClockVirtual},
		Sources: []Source{{Local: &LocalSource{Stratum: DefaultLocalStratum}}},
		Selection: Selection{MinSources: 1, MaxDistance: 3, MaxJitter: 1, MaxStratum: 14,
			ReselectDist: 100e-6, StratumWeight: 1e-3, CombineLimit: 3},
		Servo:    Servo{Name: ServoKalman, MakeStep: MakeStep{Threshold: 1e-3, Limit: 3}, MaxFreq: 500, MaxSlew: 500},
		Holdover: Holdover{After: 0, Duration: 3600, OutOfSpecClass: 52, LockThreshold: 100e-6, LockUpdates: 4},
		Leap: Leap{Table: "", Mode: LeapStep,
			Smear: Smear{Wander: DefaultSmearWander, MaxFreq: DefaultSmearMaxFreq}},
		Metrics: Metrics{Listen: "127.0.0.1:11124"},
		Control: Control{Listen: []string{}, ListenOptional: []string{"127.0.0.1:323", "[::1]:323"},
			Socket: DefaultControlSocket, SocketMode: "0660"},
		ClockBound: ClockBound{MaxDriftPPB: 50000},
		Process:    Process{},
		PTP:        builtinPTP(),
		NTS:        builtinNTS(),
		PHC:        builtinPHC(),
		Log:        Log{Level: "info", Format: FormatText},
	}
}

// Default returns the embedded default configuration.
func Default() *Config {
	c, err := Parse(DefaultYAML)
	if err != nil {
		// default.yaml is part of the binary and covered by tests; failing
		// here is a build defect, not bad input.
		panic("config: embedded default.yaml: " + err.Error())
	}
	return c
}

// Load reads and parses the file at path. It does not validate.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a YAML document strictly over the built-in defaults. Every
// unknown key is reported (with its path and line); type errors name the
// key path too. It does not validate values: call Validate.
func Parse(data []byte) (*Config, error) {
	c := builtin()
	if err := decodeStrict(data, c); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeStrict decodes data into out, rejecting unknown keys and more than
// one document.
func decodeStrict(data []byte, out *Config) error {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: all defaults
		}
		return fmt.Errorf("parse: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("parse: %w", err)
		}
		return fmt.Errorf("line %d: more than one YAML document", extra.Line)
	}
	lines := map[int]string{}
	if errs := checkKeys(&root, configType, "", lines); len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Decode again through a Decoder so that KnownFields applies as a
	// second line of defence (checkKeys already reported unknown keys).
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		return annotate(err, lines)
	}
	// A bare `ratelimit:` (YAML null) enables rate limiting with chrony's
	// defaults, as chrony's bare `ratelimit` directive does; yaml leaves a
	// nil pointer for null without calling UnmarshalYAML.
	if out.NTP.RateLimit == nil {
		for _, p := range lines {
			if p == "ntp.ratelimit" {
				r := DefaultRateLimit()
				out.NTP.RateLimit = &r
				break
			}
		}
	}
	// Likewise a bare `- local:` means chrony's plain `local` (stratum 10).
	for i := range out.Sources {
		if out.Sources[i].Local != nil {
			continue
		}
		for _, p := range lines {
			if p == fmt.Sprintf("sources[%d].local", i) {
				out.Sources[i].Local = &LocalSource{Stratum: DefaultLocalStratum}
				break
			}
		}
	}
	return nil
}

// annotate prefixes yaml type errors ("line 4: cannot unmarshal ...") with
// the key path found on that line.
func annotate(err error, lines map[int]string) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("parse: %w", err)
	}
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		var line int
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
			if path, ok := lines[line]; ok {
				msg = path + " (" + msg[:strings.Index(msg, ":")] + ")" + msg[strings.Index(msg, ":"):]
			}
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// EffectiveWorkers returns the effective number of workers (0 → number of CPUs).
func (n *NTP) EffectiveWorkers() int {
	if n.Workers > 0 {
		return n.Workers
	}
	return runtime.NumCPU()
}

// ListenAddrs returns the parsed listen addresses. Call after Validate;
// entries that do not parse are skipped.
func (n *NTP) ListenAddrs() []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(n.Listen))
	for _, s := range n.Listen {
		if ap, err := parseListen(s); err == nil {
			out = append(out, ap)
		}
	}
	return out
}

// OptionalListenAddrs returns the parsed optional listen addresses (call
// after Validate), without those that ntp.listen already serves or that
// repeat an earlier entry.
func (n *NTP) OptionalListenAddrs() []netip.AddrPort {
	required := n.ListenAddrs()
	out := make([]netip.AddrPort, 0, len(n.ListenOptional))
	for _, s := range n.ListenOptional {
		ap, err := parseListen(s)
		if err == nil && !slices.Contains(required, ap) && !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	return out
}

// AllowPrefixes returns the parsed allow list (call after Validate).
func (n *NTP) AllowPrefixes() []netip.Prefix { return prefixes(n.Allow) }

// DenyPrefixes returns the parsed deny list (call after Validate).
func (n *NTP) DenyPrefixes() []netip.Prefix { return prefixes(n.Deny) }

func prefixes(list []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix accepts a CIDR prefix without host bits or a bare address
// (one host).
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not an address or CIDR prefix")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("zones are not allowed in access lists")
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an address or CIDR prefix")
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("host bits set (did you mean %s?)", p.Masked())
	}
	return p, nil
}
