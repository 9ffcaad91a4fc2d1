package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/gnomon-time/gnomon/config"
)

// flags are the command-line settings that override the configuration.
type flags struct {
	configFile    string
	ntpListen     []string
	metricsListen string
	controlSocket string
	logLevel      string
	// virtualOffset starts the virtual clock this far from the host clock
	// (hidden: for demonstrations and tests of convergence).
	virtualOffset time.Duration
}

func newRootCmd(stdout, stderr io.Writer, hup <-chan os.Signal, env procEnv) *cobra.Command {
	var f flags
	root := &cobra.Command{
		Use:   "gnomond",
		Short: "gnomon time daemon: disciplines a clock from NTP sources and serves it",
		Long: `gnomond disciplines a clock from upstream NTP servers (or serves the host
clock as a local reference), serves it over NTP and exposes Prometheus
metrics. By default the disciplined clock is a virtual clock over the host
clock: the host clock is only adjusted with clock.mode: system.

Without --config it runs on the embedded default configuration
('gnomond config default'): NTP on 127.0.0.1:11123 and [::1]:11123 for
loopback clients, metrics on http://127.0.0.1:11124/metrics.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		Version:       version(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, &f)
			if err != nil {
				return err
			}
			return runDaemon(cmd.Context(), cfg, &f, cmd, stderr, hup, env)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return configError{err: err, usage: true} })
	pf := root.PersistentFlags()
	pf.StringVar(&f.configFile, "config", "", "configuration file (YAML); default: the embedded default")
	rf := root.Flags()
	rf.StringArrayVar(&f.ntpListen, "ntp-listen", nil, "serve NTP on ADDR:PORT instead of ntp.listen and ntp.listen_optional (repeatable)")
	rf.StringVar(&f.metricsListen, "metrics-listen", "", `serve /metrics on ADDR:PORT instead of metrics.listen ("" = off)`)
	rf.StringVar(&f.controlSocket, "control-socket", "", "control socket path instead of control.socket (\"\" = none)")
	rf.StringVar(&f.logLevel, "log-level", "", "log level instead of log.level: debug, info, warn or error")
	rf.DurationVar(&f.virtualOffset, "virtual-clock-offset", 0, "start the virtual clock this far ahead of the host clock (clock.mode virtual only; demonstrations and tests)")
	_ = rf.MarkHidden("virtual-clock-offset")

	validate := &cobra.Command{
		Use:   "validate --config FILE",
		Short: "Check a configuration file and print every problem",
		Long: `validate parses and checks a configuration file and prints OK or every
problem found, each naming the key and the value. It checks what can be
checked without binding: values, that interfaces exist and that the leap
table is readable and parses. Binding ports, hardware timestamping and
resolving host names only a run can check. Exit code 0 if valid, 2 if not.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.configFile == "" {
				return usagef("validate needs --config FILE")
			}
			cfg, err := config.Load(f.configFile)
			if err != nil {
				return configError{err: err}
			}
			if err := checkConfig(cfg); err != nil {
				return configError{err: fmt.Errorf("%s is invalid:\n%w", f.configFile, err)}
			}
			// What the configuration's own checks cannot see: the leap
			// table's contents and the engine's checks. A run does the same
			// in buildDiscipline.
			if _, err := engineConfig(cfg, -20, nil); err != nil {
				return configError{err: fmt.Errorf("%s is invalid:\n%w", f.configFile, err)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK\nonly a run can check: %s\n", f.configFile, config.RunOnlyChecks)
			return nil
		},
	}

	cfgCmd := &cobra.Command{
		Use:   "config",
		Short: "Configuration helpers",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cfgCmd.AddCommand(&cobra.Command{
		Use:   "default",
		Short: "Print the embedded default configuration (every key at its default)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(config.DefaultYAML)
			return err
		},
	})
	root.AddCommand(validate, cfgCmd)
	return root
}

// loadConfig reads --config (or the embedded default), applies the flag
// overrides and validates.
func loadConfig(cmd *cobra.Command, f *flags) (*config.Config, error) {
	var cfg *config.Config
	if f.configFile == "" {
		cfg = config.Default()
	} else {
		c, err := config.Load(f.configFile)
		if err != nil {
			return nil, configError{err: err}
		}
		cfg = c
	}
	applyFlags(cmd, f, cfg)
	if err := checkConfig(cfg); err != nil {
		src := "the embedded default configuration"
		if f.configFile != "" {
			src = f.configFile
		}
		return nil, configError{err: fmt.Errorf("invalid configuration (%s and flags):\n%w", src, err)}
	}
	return cfg, nil
}

// checkConfig is every check of cfg short of building and binding: its
// values (Validate), then what it needs from this host (CheckHost:
// interfaces, files). `gnomond validate` and a run both call it, so that
// validate refuses what a run would refuse before its first bind.
func checkConfig(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return errors.Join(cfg.CheckHost(), checkNTS(&cfg.NTS))
}

// applyFlags overrides cfg with the flags that were given.
func applyFlags(cmd *cobra.Command, f *flags, cfg *config.Config) {
	fl := cmd.Flags()
	if fl.Changed("ntp-listen") {
		cfg.NTP.Listen = append([]string(nil), f.ntpListen...)
		// Explicit addresses replace the optional ones too: the caller
		// said exactly where to serve.
		cfg.NTP.ListenOptional = nil
	}
	if fl.Changed("metrics-listen") {
		cfg.Metrics.Listen = f.metricsListen
	}
	if fl.Changed("control-socket") {
		cfg.Control.Socket = f.controlSocket
	}
	if fl.Changed("log-level") {
		cfg.Log.Level = f.logLevel
	}
}

// noArgs rejects positional arguments as a usage error (an unknown
// subcommand lands here too).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command or argument %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// version is the module version from the build information ("(devel)" for
// a build from a work tree), with the VCS revision when known.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

var errNoConfigFile = errors.New("no configuration file (running on the embedded default): nothing to reload")
