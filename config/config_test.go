package config

import (
	"errors"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func TestEmbeddedDefaultParsesAndValidates(t *testing.T) {
	c, err := Parse(DefaultYAML)
	if err != nil {
		t.Fatalf("Parse(default.yaml): %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("default.yaml does not validate:\n%v", err)
	}
	if diff := cmp.Diff(builtin(), Default()); diff != "" {
		t.Errorf("Default() differs from builtin() (-want +got):\n%s", diff)
	}
}

// The embedded file must spell out every built-in default, so that
// `gnomond config default` documents them: decoding it over a zero Config
// must give exactly builtin().
func TestDefaultYAMLSpellsOutBuiltin(t *testing.T) {
	var c Config
	if err := yaml.Unmarshal(DefaultYAML, &c); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(builtin(), &c); diff != "" {
		t.Errorf("default.yaml and builtin() disagree (-builtin +yaml):\n%s", diff)
	}
}

func TestDefaultIsSafe(t *testing.T) {
	c := Default()
	for _, ap := range c.NTP.ListenAddrs() {
		if !ap.Addr().IsLoopback() {
			t.Errorf("default listens on non-loopback %v", ap)
		}
		if ap.Port() < 1024 {
			t.Errorf("default listens on privileged port %v (clashes with system time daemons)", ap)
		}
	}
	if len(c.NTP.ListenAddrs()) != 2 {
		t.Errorf("want IPv4 and IPv6 loopback listeners, got %v", c.NTP.Listen)
	}
	for _, p := range c.NTP.AllowPrefixes() {
		if !p.Addr().IsLoopback() {
			t.Errorf("default allows non-loopback %v", p)
		}
	}
	if c.NTP.RateLimit != nil {
		t.Errorf("rate limiting on by default: %+v", c.NTP.RateLimit)
	}
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(*Config)
	}{
		{"empty file keeps every default", "", func(*Config) {}},
		{"comment only", "# nothing\n", func(*Config) {}},
		{"override one scalar", "ntp:\n  workers: 3\n", func(c *Config) { c.NTP.Workers = 3 }},
		{"list replaces default list", "ntp:\n  listen: [\"10.0.0.1:123\"]\n",
			func(c *Config) { c.NTP.Listen = []string{"10.0.0.1:123"} }},
		{"empty allow list serves nobody", "ntp:\n  allow: []\n",
			func(c *Config) { c.NTP.Allow = []string{} }},
		{"ratelimit present takes chrony defaults", "ntp:\n  ratelimit: {}\n",
			func(c *Config) { r := DefaultRateLimit(); c.NTP.RateLimit = &r }},
		{"ratelimit null takes chrony defaults", "ntp:\n  ratelimit:\n",
			func(c *Config) { r := DefaultRateLimit(); c.NTP.RateLimit = &r }},
		{"ratelimit partial", "ntp:\n  ratelimit:\n    interval: -2\n    kod: 1\n",
			func(c *Config) { c.NTP.RateLimit = &RateLimit{Interval: -2, Burst: 8, Leak: 2, KoD: 1} }},
		{"interleaved off", "ntp:\n  interleaved: false\n", func(c *Config) { c.NTP.Interleaved = false }},
		{"no sources", "sources: []\n", func(c *Config) { c.Sources = []Source{} }},
		{"local takes chrony default stratum", "sources:\n  - local: {}\n",
			func(c *Config) { c.Sources = []Source{{Local: &LocalSource{Stratum: 10}}} }},
		{"bare local", "sources:\n  - local:\n",
			func(c *Config) { c.Sources = []Source{{Local: &LocalSource{Stratum: 10}}} }},
		{"ntp sources take chrony defaults", "sources:\n  - ntp: {address: \"192.0.2.1\", iburst: true}\n  - ntp: {address: \"ntp.example.org:1123\", minpoll: -4, maxpoll: -2, prefer: true}\n  - local: {stratum: 12}\n",
			func(c *Config) {
				c.Sources = []Source{
					{NTP: &NTPSource{Address: "192.0.2.1", IBurst: true, MinPoll: 6, MaxPoll: 10}},
					{NTP: &NTPSource{Address: "ntp.example.org:1123", MinPoll: -4, MaxPoll: -2, Prefer: true}},
					{Local: &LocalSource{Stratum: 12}},
				}
			}},
		{"servo pi, makestep", "servo: {name: pi, makestep: {threshold: 0.1, limit: -1}}\n",
			func(c *Config) { c.Servo.Name = "pi"; c.Servo.MakeStep = MakeStep{Threshold: 0.1, Limit: -1} }},
		{"selection", "selection: {minsources: 2, maxdistance: 0.5}\n",
			func(c *Config) { c.Selection.MinSources = 2; c.Selection.MaxDistance = 0.5 }},
		{"clock none with local", "clock: {mode: none}\n", func(c *Config) { c.Clock.Mode = "none" }},
		{"leap none", "leap: {mode: none}\n", func(c *Config) { c.Leap.Mode = "none" }},
		{"leap smear", "leap: {mode: smear, table: /l.list, smear: {wander: 0.002}}\n",
			func(c *Config) { c.Leap.Mode, c.Leap.Table, c.Leap.Smear.Wander = "smear", "/l.list", 0.002 }},
		{"metrics off", "metrics:\n  listen: \"\"\n", func(c *Config) { c.Metrics.Listen = "" }},
		{"json logs", "log: {format: json, level: debug}\n",
			func(c *Config) { c.Log = Log{Level: "debug", Format: "json"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := builtin()
			tt.want(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestEffectiveWorkers(t *testing.T) {
	n := NTP{Workers: 0}
	if n.EffectiveWorkers() < 1 {
		t.Errorf("workers 0 → %d, want ≥ 1", n.EffectiveWorkers())
	}
	n.Workers = 5
	if n.EffectiveWorkers() != 5 {
		t.Errorf("workers 5 → %d", n.EffectiveWorkers())
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings, each must appear in the error
	}{
		{"unknown top-level key", "ntpd:\n  listen: []\n", []string{"ntpd (line 1): unknown key"}},
		{"unknown nested key names path and line", "ntp:\n  workers: 1\n  ratelimt: {}\n",
			[]string{"ntp.ratelimt (line 3): unknown key", "ratelimit"}},
		{"unknown key inside ratelimit", "ntp:\n  ratelimit:\n    burts: 3\n",
			[]string{"ntp.ratelimit.burts (line 3): unknown key"}},
		{"every unknown key reported", "foo: 1\nlog:\n  colour: red\n",
			[]string{"foo (line 1)", "log.colour (line 3)"}},
		{"type error names key", "ntp:\n  workers: many\n",
			[]string{"ntp.workers (line 2)", "many"}},
		{"list where scalar belongs", "log:\n  level: [a]\n", []string{"line 2"}},
		{"two documents", "log: {level: info}\n---\nlog: {level: info}\n", []string{"more than one YAML document"}},
		{"duplicate key", "log:\n  level: info\n  level: debug\n", []string{"already defined"}},
		{"syntax error", "ntp: [\n", []string{"parse"}},
		{"removed reference section explained", "reference:\n  type: local\n",
			[]string{"reference (line 1): removed: use `sources: [{local: {stratum: N}}]`"}},
		{"unknown key in an ntp source", "sources:\n  - ntp: {address: 192.0.2.1, minpol: 4}\n",
			[]string{"sources[0].ntp.minpol (line 2): unknown key", "minpoll"}},
		{"unknown source kind", "sources:\n  - pool: {address: pool.ntp.org}\n",
			[]string{"sources[0].pool (line 2): unknown key (known keys here: gnss, local, ntp, phc)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse succeeded, want error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // the exact line the error must contain
	}{
		{"listen empty", func(c *Config) { c.NTP.Listen = nil }, "ntp.listen: empty"},
		{"listen bad port", func(c *Config) { c.NTP.Listen = []string{"127.0.0.1:1", "1.2.3.4:99999"} },
			`ntp.listen[1]: "1.2.3.4:99999": invalid port`},
		{"listen no port", func(c *Config) { c.NTP.Listen = []string{"127.0.0.1"} },
			`ntp.listen[0]: "127.0.0.1": not ADDR:PORT`},
		{"listen hostname", func(c *Config) { c.NTP.Listen = []string{"localhost:123"} },
			`ntp.listen[0]: "localhost:123": invalid address`},
		{"listen v6 without brackets", func(c *Config) { c.NTP.Listen = []string{"::1:123"} },
			`ntp.listen[0]: "::1:123": not ADDR:PORT`},
		{"listen duplicate", func(c *Config) { c.NTP.Listen = []string{"127.0.0.1:5", "127.0.0.1:5"} },
			`ntp.listen[1]: "127.0.0.1:5": duplicate of ntp.listen[0]`},
		{"listen mapped", func(c *Config) { c.NTP.Listen = []string{"[::ffff:127.0.0.1]:5"} },
			`ntp.listen[0]: "[::ffff:127.0.0.1]:5": IPv4-mapped`},
		{"interface", func(c *Config) { c.NTP.Interface = "eth0/1" }, `ntp.interface: "eth0/1": not a valid interface name`},
		{"process user", func(c *Config) { c.Process.User = "no body" }, `process.user: "no body": not a user or group name or number`},
		{"process group option", func(c *Config) { c.Process.User = "nobody"; c.Process.Group = "-x" },
			`process.group: "-x": not a user or group name or number`},
		{"process group alone", func(c *Config) { c.Process.Group = "nogroup" },
			`process.group: "nogroup": needs process.user`},
		{"interface too long", func(c *Config) { c.NTP.Interface = "abcdefghijklmnop" },
			`ntp.interface: "abcdefghijklmnop": not a valid interface name`},
		{"workers negative", func(c *Config) { c.NTP.Workers = -1 }, "ntp.workers: -1: must be 0"},
		{"workers huge", func(c *Config) { c.NTP.Workers = 5000 }, "ntp.workers: 5000: must be 0"},
		{"timestamping", func(c *Config) { c.NTP.Timestamping = "kernel" },
			`ntp.timestamping: "kernel": must be auto, hardware, software or none`},
		{"hardware without interface", func(c *Config) { c.NTP.Timestamping = "hardware" },
			`ntp.timestamping: "hardware": needs ntp.interface`},
		{"dscp", func(c *Config) { c.NTP.DSCP = 64 }, "ntp.dscp: 64: must be 0 … 63"},
		{"allow garbage", func(c *Config) { c.NTP.Allow = []string{"::1/128", "10.0.0.0/33"} },
			`ntp.allow[1]: "10.0.0.0/33": not an address or CIDR prefix`},
		{"allow host bits", func(c *Config) { c.NTP.Allow = []string{"10.1.2.3/8"} },
			`ntp.allow[0]: "10.1.2.3/8": host bits set (did you mean 10.0.0.0/8?)`},
		{"deny garbage", func(c *Config) { c.NTP.Deny = []string{"all"} },
			`ntp.deny[0]: "all": not an address or CIDR prefix`},
		{"deny zone", func(c *Config) { c.NTP.Deny = []string{"fe80::1%eth0"} },
			`ntp.deny[0]: "fe80::1%eth0": zones are not allowed`},
		{"ratelimit interval", func(c *Config) { c.NTP.RateLimit = &RateLimit{Interval: 13, Burst: 8, Leak: 2} },
			"ntp.ratelimit.interval: 13: must be -19 … 12"},
		{"ratelimit burst", func(c *Config) { c.NTP.RateLimit = &RateLimit{Interval: 3, Burst: 0, Leak: 2} },
			"ntp.ratelimit.burst: 0: must be 1 … 255"},
		{"ratelimit leak", func(c *Config) { c.NTP.RateLimit = &RateLimit{Interval: 3, Burst: 8, Leak: 5} },
			"ntp.ratelimit.leak: 5: must be 1 … 4"},
		{"ratelimit kod", func(c *Config) { c.NTP.RateLimit = &RateLimit{Interval: 3, Burst: 8, Leak: 2, KoD: -1} },
			"ntp.ratelimit.kod: -1: must be 0 … 4"},
		{"recv buffer small", func(c *Config) { c.NTP.RecvBuffer = 100 }, "ntp.recv_buffer: 100: must be 0"},
		{"recv buffer negative", func(c *Config) { c.NTP.RecvBuffer = -2 }, "ntp.recv_buffer: -2: must be 0"},
		{"recv buffer huge", func(c *Config) { c.NTP.RecvBuffer = 1 << 31 }, "ntp.recv_buffer: 2147483648: must be 0"},
		{"client log small", func(c *Config) { c.NTP.ClientLogSize = 8 }, "ntp.client_log_size: 8: must be a power of two, 16"},
		{"client log not power of two", func(c *Config) { c.NTP.ClientLogSize = 5000 },
			"ntp.client_log_size: 5000: must be a power of two"},
		{"allow and deny same prefix", func(c *Config) { c.NTP.Deny = []string{"::1/128"} },
			`ntp.deny[0]: "::1/128": also in ntp.allow[1]`},
		{"clock mode", func(c *Config) { c.Clock.Mode = "phc" }, `clock.mode: "phc": must be virtual, system or none`},
		{"local stratum", func(c *Config) { c.Sources[0].Local.Stratum = 16 }, "sources[0].local.stratum: 16: must be 1 … 15"},
		{"two locals", func(c *Config) { c.Sources = append(c.Sources, Source{Local: &LocalSource{Stratum: 9}}) },
			`sources[1].local: "local": only one local entry is allowed`},
		{"empty source entry", func(c *Config) { c.Sources = append(c.Sources, Source{}) }, `sources[1]: "{}": empty entry`},
		{"ntp and local in one entry", func(c *Config) {
			c.Sources[0].NTP = &NTPSource{Address: "192.0.2.1", MinPoll: 6, MaxPoll: 10}
		}, `sources[0]: "ntp+local": an entry is one of ntp, local, phc or gnss`},
		{"ntp address", func(c *Config) { c.Sources = ntpSrc(NTPSource{Address: "bad host!", MinPoll: 6, MaxPoll: 10}) },
			`sources[0].ntp.address: "bad host!": "bad host!" is neither an IP address nor a host name`},
		{"phc source without device", func(c *Config) { p := DefaultPHCSource(); c.Sources = []Source{{PHC: &p}} },
			`sources[0].phc.device: "": give device (/dev/ptpN) or interface`},
		{"phc source sim without phc section", func(c *Config) { p := DefaultPHCSource(); p.Device = "sim"; c.Sources = []Source{{PHC: &p}} },
			`sources[0].phc.device: "sim": the simulated PHC is the phc section's: set phc.device: sim`},
		{"phc source refid", func(c *Config) {
			p := DefaultPHCSource()
			p.Device, p.RefID = "/dev/ptp0", "TOOLONG"
			c.Sources = []Source{{PHC: &p}}
		},
			`sources[0].phc.refid: "TOOLONG": want 1 … 4 ASCII characters`},
		{"phc section not followed", func(c *Config) { c.PHC.Device = "/dev/ptp0" },
			`phc.device: "/dev/ptp0": nothing follows the disciplined PHC`},
		{"phc section kernel pps", func(c *Config) {
			c.PHC.Device, c.PHC.GNSS.PPS.Source, c.PHC.GNSS.PPS.Device = "/dev/ptp0", PPSKernel, "/dev/pps0"
			followPHC(c)
		}, `phc.gnss.pps.source: "kernel": a kernel PPS device stamps on the system clock, not the PHC: use extts`},
		{"phc sim pps on a real PHC", func(c *Config) { c.PHC.Device, c.PHC.GNSS.PPS.Source = "/dev/ptp0", RefclockSim; followPHC(c) },
			`phc.gnss.pps.source: "sim": a simulated pulse needs the simulated PHC (phc.device: sim)`},
		{"phc tod window", func(c *Config) { c.PHC.Device, c.PHC.GNSS.TimeOfDay.MaxDelay = "/dev/ptp0", 1.5; followPHC(c) },
			`phc.gnss.time_of_day.max_delay: 1.5: want 0 ≤ min_delay (0) < max_delay ≤ 1 second`},
		{"phc sim freq", func(c *Config) {
			c.PHC.Device, c.PHC.Sim.FreqPPM, c.PHC.GNSS.PPS.Source, c.PHC.GNSS.TimeOfDay.Source = "sim", 1000, RefclockSim, RefclockSim
			followPHC(c)
		},
			`phc.sim.freq_ppm: 1000: must be −500 … 500 ppm`},
		{"gnss source extts", func(c *Config) { g := builtinGNSS(); c.Sources = []Source{{GNSS: &g}} },
			`sources[0].gnss.pps.source: "extts": extts timestamps pulses on a PHC`},
		{"gnss source baud", func(c *Config) {
			g := builtinGNSS()
			g.PPS.Source, g.PPS.Device, g.TimeOfDay.Source, g.TimeOfDay.Device, g.TimeOfDay.Baud = PPSKernel, "/dev/pps0", ToDNMEA, "/dev/ttyS0", 1234
			c.Sources = []Source{{GNSS: &g}}
		}, `sources[0].gnss.time_of_day.baud: 1234: must be 4800`},
		{"ntp address empty", func(c *Config) { c.Sources = ntpSrc(NTPSource{MinPoll: 6, MaxPoll: 10}) },
			`sources[0].ntp.address: "": empty`},
		{"ntp port", func(c *Config) { c.Sources = ntpSrc(NTPSource{Address: "example.org:0", MinPoll: 6, MaxPoll: 10}) },
			`sources[0].ntp.address: "example.org:0": port "0": want 1 … 65535`},
		{"ntp duplicate", func(c *Config) {
			c.Sources = ntpSrc(NTPSource{Address: "192.0.2.1", MinPoll: 6, MaxPoll: 10}, NTPSource{Address: "192.0.2.1", MinPoll: 6, MaxPoll: 10})
		}, `sources[1].ntp.address: "192.0.2.1": duplicate of sources[0]`},
		{"ntp minpoll", func(c *Config) { c.Sources = ntpSrc(NTPSource{Address: "192.0.2.1", MinPoll: -8, MaxPoll: 10}) },
			"sources[0].ntp.minpoll: -8: must be -7 … 17"},
		{"ntp maxpoll below minpoll", func(c *Config) { c.Sources = ntpSrc(NTPSource{Address: "192.0.2.1", MinPoll: 6, MaxPoll: 4}) },
			"sources[0].ntp.maxpoll: 4: must be ≥ minpoll (6)"},
		{"ntp poll 0/0", func(c *Config) { c.Sources = ntpSrc(NTPSource{Address: "192.0.2.1"}) },
			"sources[0].ntp.minpoll: 0: minpoll 0 with maxpoll 0 is not supported"},
		{"ntp noselect prefer", func(c *Config) {
			c.Sources = ntpSrc(NTPSource{Address: "192.0.2.1", MinPoll: 6, MaxPoll: 10, NoSelect: true, Prefer: true})
		}, "sources[0].ntp.noselect: true: a noselect source cannot also be prefer"},
		{"clock none with ntp", func(c *Config) {
			c.Clock.Mode = ClockNone
			c.Sources = ntpSrc(NTPSource{Address: "192.0.2.1", MinPoll: 6, MaxPoll: 10})
		}, `clock.mode: "none": ntp sources need a clock to discipline`},
		{"minsources", func(c *Config) { c.Selection.MinSources = 0 }, "selection.minsources: 0: must be 1 … 64"},
		{"maxdistance", func(c *Config) { c.Selection.MaxDistance = 0 }, "selection.maxdistance: 0: must be > 0"},
		{"maxjitter", func(c *Config) { c.Selection.MaxJitter = -1 }, "selection.maxjitter: -1: must be > 0"},
		{"maxstratum", func(c *Config) { c.Selection.MaxStratum = 16 }, "selection.maxstratum: 16: must be 1 … 15"},
		{"reselectdist", func(c *Config) { c.Selection.ReselectDist = 2 }, "selection.reselectdist: 2: must be 0 … 1"},
		{"stratumweight", func(c *Config) { c.Selection.StratumWeight = -0.1 }, "selection.stratumweight: -0.1: must be 0 … 1"},
		{"combinelimit", func(c *Config) { c.Selection.CombineLimit = -1 }, "selection.combinelimit: -1: must be 0 … 1000"},
		{"servo name", func(c *Config) { c.Servo.Name = "pid" }, `servo.name: "pid": must be kalman or pi`},
		{"makestep threshold", func(c *Config) { c.Servo.MakeStep.Threshold = -1 }, "servo.makestep.threshold: -1: must be 0"},
		{"makestep limit", func(c *Config) { c.Servo.MakeStep.Limit = -2 }, "servo.makestep.limit: -2: must be -1"},
		{"maxfreq", func(c *Config) { c.Servo.MaxFreq = 0 }, "servo.maxfreq: 0: must be > 0"},
		{"maxslew", func(c *Config) { c.Servo.MaxSlew = -5 }, "servo.maxslew: -5: must be 0"},
		{"holdover after", func(c *Config) { c.Holdover.After = -1 }, "holdover.after: -1: must be 0"},
		{"holdover duration", func(c *Config) { c.Holdover.Duration = 1e9 }, "holdover.duration: 1e+09: must be 0"},
		{"leap mode", func(c *Config) { c.Leap.Mode = "slew" }, `leap.mode: "slew": must be system, step, smear or none`},
		{"leap system on virtual", func(c *Config) { c.Leap.Mode = "system" },
			`leap.mode: "system": the kernel inserts leap seconds only into CLOCK_REALTIME: needs clock.mode system`},
		{"leap smear without clock", func(c *Config) { c.Leap.Mode = "smear"; c.Clock.Mode = ClockNone },
			`leap.mode: "smear": clock.mode none serves CLOCK_REALTIME as it is`},
		{"leap smear without leap knowledge", func(c *Config) { c.Leap.Mode = "smear" },
			`leap.mode: "smear": a smearing server must learn of leap seconds: configure ntp sources or leap.table`},
		{"smear wander", func(c *Config) { c.Leap.Smear.Wander = 0 }, "leap.smear.wander: 0: must be > 0 and ≤ 1000"},
		{"smear wander NaN", func(c *Config) { c.Leap.Smear.Wander = math.NaN() }, "leap.smear.wander: NaN: must be > 0"},
		{"smear maxfreq", func(c *Config) { c.Leap.Smear.MaxFreq = 1e6 }, "leap.smear.maxfreq: 1e+06: must be > 0 and ≤ 100000"},
		{"metrics listen", func(c *Config) { c.Metrics.Listen = "9100" }, `metrics.listen: "9100": not ADDR:PORT`},
		{"metrics host", func(c *Config) { c.Metrics.Listen = "example.org:9100" },
			`metrics.listen: "example.org:9100": invalid address`},
		{"metrics port", func(c *Config) { c.Metrics.Listen = ":http" }, `metrics.listen: ":http": invalid port`},
		{"control relative", func(c *Config) { c.Control.Socket = "run/gnomond.sock" },
			`control.socket: "run/gnomond.sock": must be an absolute path`},
		{"control long", func(c *Config) { c.Control.Socket = "/" + strings.Repeat("a", 120) },
			"control.socket: \"/" + strings.Repeat("a", 120) + "\": longer than 107 bytes"},
		{"control socket mode", func(c *Config) { c.Control.SocketMode = "0000" },
			`control.socket_mode: "0000": the owner needs read and write (0600 at least)`},
		{"control socket mode not octal", func(c *Config) { c.Control.SocketMode = "0668" },
			`control.socket_mode: "0668": not an octal file mode`},
		{"ptp identity", func(c *Config) { c.PTP.ClockIdentity = "02:00:00:ff:fe:00:01" },
			`ptp.clock_identity: "02:00:00:ff:fe:00:01": want 8 bytes in hex`},
		{"ptp enabled without identity", func(c *Config) { c.PTP.Enabled = true },
			`ptp.clock_identity: "": set it, or ptp.interface`},
		{"ptp listen with port", func(c *Config) { c.PTP.Listen = []string{"10.0.0.1:319"} },
			`ptp.listen[0]: "10.0.0.1:319": not an IP address`},
		{"ptp ports", func(c *Config) { c.PTP.GeneralPort = 319 }, `ptp.general_port: 319: same as ptp.event_port`},
		{"ptp domain", func(c *Config) { c.PTP.Domain = 200 }, `ptp.domain: 200: must be 0 … 127`},
		{"ptp sync interval", func(c *Config) { c.PTP.MinLogSyncInterval = -8 }, `ptp.min_log_sync_interval: -8: must be −7 … 30`},
		{"ptp grant duration", func(c *Config) { c.PTP.MaxGrantDurationSeconds = 5 }, `ptp.max_grant_duration: 5: must be 10 … 86400`},
		{"ptp multicast sync interval", func(c *Config) { c.PTP.Multicast.LogSyncInterval = 31 },
			`ptp.multicast.log_sync_interval: 31: must be −7 … 30`},
		{"ptp multicast announce interval", func(c *Config) { c.PTP.Multicast.LogAnnounceInterval = -8 },
			`ptp.multicast.log_announce_interval: -8: must be −7 … 30`},
		{"ptp multicast delay req interval", func(c *Config) { c.PTP.Multicast.LogMinDelayReqInterval = 40 },
			`ptp.multicast.log_min_delay_req_interval: 40: must be −7 … 30`},
		{"ptp multicast without interface", func(c *Config) { c.PTP.Multicast.Enabled = true },
			`ptp.multicast.enabled: true: needs ptp.interface`},
		{"ptp multicast without wildcard listen", func(c *Config) {
			c.PTP.Multicast.Enabled, c.PTP.Interface, c.PTP.Listen = true, "eth0", []string{"10.0.0.1"}
		}, `ptp.multicast.enabled: true: needs 0.0.0.0 or :: in ptp.listen`},
		{"ptp allow", func(c *Config) { c.PTP.Allow = []string{"10.0.0.1/8"} }, `ptp.allow[0]: "10.0.0.1/8": host bits set`},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: "verbose": must be debug, info, warn or error`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: "xml": must be text or json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant a line containing:\n%s", err, tt.want)
			}
			if n := len(strings.Split(err.Error(), "\n")); n != 1 {
				t.Errorf("one problem gave %d error lines:\n%v", n, err)
			}
		})
	}
}

// followPHC adds the phc entry that follows the phc section's PHC.
func followPHC(c *Config) {
	p := DefaultPHCSource()
	p.Device = c.PHC.Device
	c.Sources = append(c.Sources, Source{PHC: &p})
}

func ntpSrc(s ...NTPSource) []Source {
	out := make([]Source, len(s))
	for i := range s {
		out[i] = Source{NTP: &s[i]}
	}
	return out
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.NTP.DSCP = 99
	c.Log.Format = "xml"
	c.NTP.Listen = []string{"nope", "127.0.0.1:123", "1.2.3.4:99999"}
	err := c.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("want errors.Join result, got %T: %v", err, err)
	}
	if got := len(joined.Unwrap()); got != 4 {
		t.Errorf("got %d errors, want 4:\n%v", got, err)
	}
}

func TestValidAccepts(t *testing.T) {
	c := Default()
	c.NTP.Listen = []string{"0.0.0.0:123", "[::]:123", "[fe80::1%lo]:123", "127.0.0.1:0"}
	c.NTP.Allow = []string{"0.0.0.0/0", "::/0", "192.0.2.7"}
	c.NTP.Deny = []string{"10.0.0.0/8", "2001:db8::/32"}
	c.NTP.Interface = "eth0"
	c.NTP.Timestamping = TimestampingHardware
	c.NTP.DSCP = 46
	c.Metrics.Listen = ":9100"
	c.Control.Socket = "/run/gnomond/gnomond.sock"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The leap modes with what each needs, and the receive buffer's forms.
	for _, mod := range []func(*Config){
		func(c *Config) { c.NTP.RecvBuffer = -1 },
		func(c *Config) { c.NTP.RecvBuffer = MinRecvBuffer },
		func(c *Config) { c.NTP.RecvBuffer = MaxRecvBuffer },
		func(c *Config) { c.Clock.Mode, c.Leap.Mode = ClockSystem, LeapSystem },
		func(c *Config) {
			c.Clock.Mode, c.Leap.Mode = ClockSystem, LeapSmear
			c.Leap.Table = "/usr/share/zoneinfo/leap-seconds.list"
		},
		func(c *Config) {
			c.Leap.Mode = LeapSmear
			c.Sources = []Source{{NTP: &NTPSource{Address: "192.0.2.1", MinPoll: 6, MaxPoll: 10}}}
		},
	} {
		l := Default()
		mod(l)
		if err := l.Validate(); err != nil {
			t.Errorf("leap %+v clock %v: %v", l.Leap, l.Clock.Mode, err)
		}
	}
	if got := len(c.NTP.AllowPrefixes()); got != 3 {
		t.Errorf("AllowPrefixes: %d entries, want 3", got)
	}
	if got := c.NTP.AllowPrefixes()[2].Bits(); got != 32 {
		t.Errorf("bare address → /%d, want /32", got)
	}
	if got := len(c.NTP.ListenAddrs()); got != 4 {
		t.Errorf("ListenAddrs: %d, want 4", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "g.yaml")
	if err := os.WriteFile(p, []byte("ntp:\n  dscp: 46\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.NTP.DSCP != 46 {
		t.Errorf("dscp %d", c.NTP.DSCP)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("nope: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "bad.yaml") || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown key: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML)
	f.Add([]byte("ntp:\n  ratelimit: {kod: 2}\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		_ = c.Validate()
	})
}

func TestOptionalListen(t *testing.T) {
	c := Default()
	if got := c.NTP.OptionalListenAddrs(); len(got) != 1 || got[0] != netip.MustParseAddrPort("127.0.0.1:123") {
		t.Fatalf("default optional listen = %v, want [127.0.0.1:123]", got)
	}
	// An optional address that ntp.listen already serves is subsumed, and
	// repeats collapse.
	c.NTP.Listen = []string{"127.0.0.1:123"}
	c.NTP.ListenOptional = []string{"127.0.0.1:123", "[::1]:123", "[::1]:123"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.NTP.OptionalListenAddrs(); len(got) != 1 || got[0] != netip.MustParseAddrPort("[::1]:123") {
		t.Fatalf("optional listen = %v, want [[::1]:123]", got)
	}
	c.NTP.ListenOptional = []string{"127.0.0.1:0", "bogus"}
	err := c.Validate()
	for _, want := range []string{`ntp.listen_optional[0]: "127.0.0.1:0": port 0`, `ntp.listen_optional[1]: "bogus"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a line containing %q", err, want)
		}
	}
}

func TestNTSValidation(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*NTS)
		want string
	}{
		{"listen", func(n *NTS) { n.Listen = []string{"nope"} }, "nts.listen[0]: "},
		{"no certificate", func(n *NTS) { n.Listen = []string{":4460"}; n.Key = "/k" }, `nts.certificate: "": required`},
		{"relative key file", func(n *NTS) { n.KeyFile = "keys" }, `nts.key_file: "keys": must be an absolute path`},
		{"rotate", func(n *NTS) { n.RotateSeconds = 60 }, "nts.rotate: 60: must be 0"},
		{"reader without file", func(n *NTS) {
			n.Listen, n.Certificate, n.Key, n.RotateSeconds = []string{":4460"}, "/c", "/k", 0
		}, "nts.rotate: 0: 0 needs nts.key_file"},
		{"keep", func(n *NTS) { n.Keep = 15 }, "nts.keep: 15: must be 0 … 14"},
		{"server", func(n *NTS) { n.NTPServer = "a b" }, `nts.ntp_server: "a b": must be`},
		{"port", func(n *NTS) { n.NTPPort = 70000 }, "nts.ntp_port: 70000"},
		{"connections", func(n *NTS) { n.MaxConnections = 0 }, "nts.max_connections: 0"},
		{"timeout", func(n *NTS) { n.TimeoutSeconds = 0 }, "nts.timeout: 0"},
	}
	for _, tc := range tests {
		c := Default()
		tc.mod(&c.NTS)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	c := Default()
	c.NTS.Listen, c.NTS.Certificate, c.NTS.Key, c.NTS.KeyFile = []string{"0.0.0.0:4460", "[::]:4460"}, "/etc/gnomon/nts.crt", "/etc/gnomon/nts.key", "/var/lib/gnomond/nts.keys"
	if err := c.Validate(); err != nil {
		t.Errorf("valid nts section: %v", err)
	}
}
