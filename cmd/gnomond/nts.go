package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/ntske"
	"github.com/gnomon-time/gnomon/report"
)

// ntsRuntime is NTS when the nts section is on: the core shared by the NTP
// workers and the NTS-KE server, the master-key store and the KE server.
// openNTS opens all of it before the privilege drop (certificate and key
// read, key file loaded or created, port bound); Run then rotates keys or
// reloads the file, and serves NTS-KE, as the unprivileged user.
type ntsRuntime struct {
	core *nts.Core
	keys *ntske.KeyStore
	ke   *ntske.Server
}

// checkNTS is the host part of the nts section that `gnomond validate` and
// a run both check: the certificate and key load as a pair, and an
// existing key file is private and parses (a missing one is created by a
// writer; a reader, rotate 0, needs it).
func checkNTS(n *config.NTS) error {
	if len(n.Listen) == 0 {
		return nil
	}
	var errs []error
	if _, err := tls.LoadX509KeyPair(n.Certificate, n.Key); err != nil {
		errs = append(errs, fmt.Errorf("nts.certificate %q, nts.key %q: %w", n.Certificate, n.Key, err))
	}
	if p := n.KeyFile; p != "" {
		_, err := ntske.LoadKeyFile(p)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist) && n.RotateSeconds > 0:
			if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
				errs = append(errs, fmt.Errorf("nts.key_file %q: its directory must exist (gnomond creates the file)", p))
			}
		default:
			errs = append(errs, fmt.Errorf("nts.key_file %q: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// openNTS opens NTS for cfg; nil when the nts section is off. It returns
// configErrors for what the configuration got wrong.
func openNTS(cfg *config.Config, log *slog.Logger) (*ntsRuntime, error) {
	n := &cfg.NTS
	if len(n.Listen) == 0 {
		return nil, nil
	}
	if err := checkNTS(n); err != nil {
		return nil, configError{err: err}
	}
	cert, err := tls.LoadX509KeyPair(n.Certificate, n.Key)
	if err != nil {
		return nil, configError{err: fmt.Errorf("nts: %w", err)}
	}
	core := nts.NewCore(nil, rand.Reader)
	ks, err := ntske.OpenKeyStore(ntske.KeysConfig{
		Path:   n.KeyFile,
		Rotate: time.Duration(n.RotateSeconds) * time.Second,
		Keep:   n.Keep,
		Log:    log.With("component", "nts_keys"),
	}, core)
	if err != nil {
		return nil, configError{err: fmt.Errorf("nts: %w", err)}
	}
	ke, err := ntske.New(ntske.Config{
		Listen:         n.Listen,
		Certificate:    cert,
		NTPServer:      n.NTPServer,
		NTPPort:        uint16(n.NTPPort),
		MaxConnections: n.MaxConnections,
		Timeout:        time.Duration(n.TimeoutSeconds) * time.Second,
		Log:            log.With("component", "nts_ke"),
	}, core)
	if err != nil {
		return nil, configError{err: fmt.Errorf("nts: %w", err)}
	}
	if err := ke.Open(); err != nil {
		return nil, err
	}
	log.Info("nts on", "nts_ke_listen", n.Listen, "key_file", n.KeyFile, "rotate_s", n.RotateSeconds, "keep", n.Keep,
		"current_key", ks.KeySet().Current().ID)
	return &ntsRuntime{core: core, keys: ks, ke: ke}, nil
}

// Run serves NTS-KE and keeps the master keys (rotation or reload) until
// ctx ends.
func (r *ntsRuntime) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- r.keys.Run(ctx) }()
	err := r.ke.Run(ctx)
	if kerr := <-done; err == nil {
		err = kerr
	}
	return err
}

// close releases the KE listeners of a runtime that will not Run.
func (r *ntsRuntime) close() {
	if r != nil {
		_ = r.ke.Close()
	}
}

// NTSKEStats returns the NTS-KE server's counters (metrics.NTSKEStats).
func (r *ntsRuntime) NTSKEStats() report.NTSKEStats {
	s, k := r.ke.Stats(), r.keys.Stats()
	return report.NTSKEStats{
		Accepted: s.Accepted, Dropped: s.Refused, HandshakeFailed: s.HandshakeFailed, Failed: s.Failed,
		Served: s.Served, Refusals: s.Refusals, Cookies: s.Cookies,
		Keys: report.NTSKeyStats{Rotations: k.Rotations, SaveErrors: k.SaveErrors, ReloadErrors: k.ReloadErrors,
			HasFile: k.HasFile, FileCurrent: k.FileCurrent},
	}
}

// giveKeyFile hands the key file to the user gnomond switches to, so that
// a reader (rotate 0) can reload it; a writer replaces it atomically in its
// directory, which must be writable by that user (systemd's
// StateDirectory). A missing file (keys in memory only) is not an error.
func giveKeyFile(cfg *config.Config, uid, gid int) error {
	p := cfg.NTS.KeyFile
	if len(cfg.NTS.Listen) == 0 || p == "" {
		return nil
	}
	if err := os.Chown(p, uid, gid); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("nts.key_file %s: give it to process.user %q: %w", p, cfg.Process.User, err)
	}
	return nil
}
