package ntske

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts"
)

// LoadKeyFile reads a key file. It must be a regular file readable only by
// its owner (no group or other permission bits: mode 0600 or 0400), since
// whoever reads it can forge cookies.
func LoadKeyFile(path string) (nts.KeySet, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nts.KeySet{}, fmt.Errorf("nts key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nts.KeySet{}, fmt.Errorf("nts key file %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nts.KeySet{}, fmt.Errorf("nts key file %s: mode %04o lets others read the master keys: want 0600 (chmod 600 %s)", path, perm, path)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nts.KeySet{}, fmt.Errorf("nts key file %s: %w", path, err)
	}
	s, err := nts.ParseKeySet(text)
	if err != nil {
		return nts.KeySet{}, fmt.Errorf("nts key file %s: %w", path, err)
	}
	return s, nil
}

// SaveKeyFile writes s to path atomically: a temporary file (mode 0600) in
// the same directory, written and synced, renamed over path, then the
// directory synced. On any error path is unchanged and the temporary file
// removed; the error names the path.
func SaveKeyFile(path string, s nts.KeySet) (err error) {
	text, err := s.MarshalText()
	if err != nil {
		return fmt.Errorf("nts key file %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("nts key file %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("nts key file %s: %w", path, err)
	}
	if _, err = f.Write(text); err != nil {
		return fmt.Errorf("nts key file %s: write: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("nts key file %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("nts key file %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("nts key file %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// KeysConfig configures a KeyStore.
type KeysConfig struct {
	// Path of the key file. Empty: keys live in memory only (cookies die
	// with the process).
	Path string
	// Rotate is the rotation period (chrony's ntsrotate, default one week).
	// Zero: this server never writes the file, it reloads it when it
	// changes (an external writer, or another gnomond sharing it, rotates).
	Rotate time.Duration
	// Keep is how many previous keys stay accepted (0…nts.MaxKeep): a
	// cookie lives at most (Keep + 1) × Rotate.
	Keep int
	// Reload is how often a reader checks the file for changes (default 1 min).
	Reload time.Duration
	// Now and Rand default to time.Now and crypto/rand.Reader.
	Now  func() time.Time
	Rand io.Reader
	Log  *slog.Logger
}

// KeyStore owns the master keys of one gnomond: it loads or creates the
// key file, rotates on schedule (writer) or reloads the file (reader), and
// publishes every new Ring to the nts.Core, which the NTP workers and the
// NTS-KE server read.
type KeyStore struct {
	cfg  KeysConfig
	core *nts.Core
	set  nts.KeySet
}

// OpenKeyStore loads the key file (a writer creates it when missing, and
// rotates at once if a rotation is overdue) and sets the Core's ring. A
// file with loose permissions or broken content is an error; a writer that
// cannot save (full disk, read-only directory) logs the error and keeps the
// keys in memory.
func OpenKeyStore(cfg KeysConfig, core *nts.Core) (*KeyStore, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Reload <= 0 {
		cfg.Reload = time.Minute
	}
	if cfg.Keep < 0 || cfg.Keep > nts.MaxKeep {
		return nil, fmt.Errorf("nts keys: keep = %d: want 0…%d", cfg.Keep, nts.MaxKeep)
	}
	if cfg.Rotate < 0 {
		return nil, fmt.Errorf("nts keys: rotate = %v: want ≥ 0", cfg.Rotate)
	}
	if cfg.Path == "" && cfg.Rotate == 0 {
		return nil, errors.New("nts keys: no key file and no rotation: nothing would provide keys")
	}
	k := &KeyStore{cfg: cfg, core: core}
	now := cfg.Now()
	if cfg.Path != "" {
		s, err := LoadKeyFile(cfg.Path)
		switch {
		case err == nil:
			k.set = s
		case errors.Is(err, fs.ErrNotExist) && cfg.Rotate > 0:
			// First start of the writer: create the file below.
		default:
			return nil, err
		}
	}
	if len(k.set.Keys) == 0 {
		var a, b [nts.MasterKeyLen]byte
		if err := k.fresh(&a, &b); err != nil {
			return nil, err
		}
		k.set = nts.NewKeySet(now, a, b)
		k.save("created")
	} else if cfg.Rotate > 0 && k.set.Due(now, cfg.Rotate) {
		if err := k.rotate(now); err != nil {
			return nil, err
		}
	}
	if err := k.publish(); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *KeyStore) fresh(keys ...*[nts.MasterKeyLen]byte) error {
	for _, key := range keys {
		if _, err := io.ReadFull(k.cfg.Rand, key[:]); err != nil {
			return fmt.Errorf("nts keys: random: %w", err)
		}
	}
	return nil
}

func (k *KeyStore) rotate(now time.Time) error {
	var key [nts.MasterKeyLen]byte
	if err := k.fresh(&key); err != nil {
		return err
	}
	k.set = k.set.Rotated(now, key, k.cfg.Keep)
	k.save("rotated")
	return nil
}

// save writes the set; failure is logged, not fatal: the keys stay in
// memory and serve until the next successful save.
func (k *KeyStore) save(what string) {
	if k.cfg.Path == "" {
		k.cfg.Log.Info("nts keys "+what+" (memory only)", "current_key", k.set.Current().ID)
		return
	}
	if err := SaveKeyFile(k.cfg.Path, k.set); err != nil {
		k.cfg.Log.Error("nts keys "+what+" but not saved: serving them from memory; cookies will not survive a restart",
			"path", k.cfg.Path, "err", err)
		return
	}
	k.cfg.Log.Info("nts keys "+what, "path", k.cfg.Path, "current_key", k.set.Current().ID, "keys", len(k.set.Keys))
}

func (k *KeyStore) publish() error {
	r, err := nts.NewRing(k.set)
	if err != nil {
		return fmt.Errorf("nts keys: %w", err)
	}
	k.core.SetRing(r)
	return nil
}

// KeySet returns the keys in use.
func (k *KeyStore) KeySet() nts.KeySet { return k.core.Ring().KeySet() }

// Run rotates when due (writer: Rotate > 0) or reloads the file when it
// changes (reader), until ctx ends. A reload that fails (half-written file
// from a non-atomic external writer, loose permissions) is logged and the
// previous keys are kept.
func (k *KeyStore) Run(ctx context.Context) error {
	for {
		wait := k.cfg.Reload
		if k.cfg.Rotate > 0 {
			// Wake at the rotation, and at least hourly in case the clock
			// was stepped.
			wait = min(max(k.set.NextRotation(k.cfg.Rotate).Sub(k.cfg.Now()), time.Second), time.Hour)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		k.Tick()
	}
}

// Tick does what Run does at each wake-up: rotate if due, or reload a
// changed file. Exported for tests that move time by hand.
func (k *KeyStore) Tick() {
	if k.cfg.Rotate > 0 {
		if !k.set.Due(k.cfg.Now(), k.cfg.Rotate) {
			return
		}
		if err := k.rotate(k.cfg.Now()); err != nil {
			k.cfg.Log.Error("nts key rotation", "err", err)
			return
		}
		if err := k.publish(); err != nil {
			k.cfg.Log.Error("nts key rotation", "err", err)
		}
		return
	}
	// The file is a few hundred bytes: read and compare it whole (mtime
	// granularity and in-place writers make metadata unreliable).
	s, err := LoadKeyFile(k.cfg.Path)
	if err != nil {
		k.cfg.Log.Warn("nts key file reload failed: keeping the loaded keys", "err", err)
		return
	}
	if slices.Equal(s.Keys, k.set.Keys) {
		return
	}
	k.set = s
	if err := k.publish(); err != nil {
		k.cfg.Log.Warn("nts key file reload failed: keeping the loaded keys", "err", err)
		return
	}
	k.cfg.Log.Info("nts key file reloaded", "path", k.cfg.Path, "current_key", s.Current().ID, "keys", len(s.Keys))
}
