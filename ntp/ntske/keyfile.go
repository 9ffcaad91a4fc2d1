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
	"sync"
	"sync/atomic"
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
// NTS-KE server read. Tick may be called from any goroutine (Run's and a
// reload's); Stats too.
type KeyStore struct {
	cfg  KeysConfig
	core *nts.Core

	mu  sync.Mutex
	set nts.KeySet
	// saveErr and readErr are the last failure's text ("" after a
	// success): a repeated failure is logged at Debug, a new one at
	// Error/Warn.
	saveErr, readErr string

	rotations, saveErrors, readErrors atomic.Uint64
	fileCurrent                       atomic.Bool
}

// KeyStats are a KeyStore's counters since start and the key file's state.
type KeyStats struct {
	// Rotations counts rotations (not the creation of the first keys).
	Rotations uint64
	// SaveErrors counts failed writes of the key file (writer: creation,
	// rotation, restoring a removed file, retrying an unsaved rotation).
	SaveErrors uint64
	// ReloadErrors counts failed reads of the key file at run time (reader:
	// its reload; writer: its check that the file still holds its keys).
	ReloadErrors uint64
	// HasFile: a key file is configured. FileCurrent: the file holds the
	// keys in use (false while they live only in memory: unsaved, or the
	// file missing or broken).
	HasFile     bool
	FileCurrent bool
}

// Stats returns the counters and the key file's state.
func (k *KeyStore) Stats() KeyStats {
	return KeyStats{Rotations: k.rotations.Load(), SaveErrors: k.saveErrors.Load(), ReloadErrors: k.readErrors.Load(),
		HasFile: k.cfg.Path != "", FileCurrent: k.fileCurrent.Load()}
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
			k.fileCurrent.Store(true)
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
	k.rotations.Add(1)
	k.save("rotated")
	return nil
}

// save writes the set; failure is logged and counted, not fatal: the keys
// stay in memory and serve, and the writer's next Tick tries again. A
// failure with the same error as the last is logged at Debug.
func (k *KeyStore) save(what string) {
	if k.cfg.Path == "" {
		k.cfg.Log.Info("nts keys "+what+" (memory only)", "current_key", k.set.Current().ID)
		return
	}
	if err := SaveKeyFile(k.cfg.Path, k.set); err != nil {
		k.saveErrors.Add(1)
		k.fileCurrent.Store(false)
		level := slog.LevelError
		if cause(err) == k.saveErr {
			level = slog.LevelDebug
		}
		k.saveErr = cause(err)
		k.cfg.Log.Log(context.Background(), level,
			"nts keys "+what+" but not saved: serving them from memory; cookies will not survive a restart",
			"path", k.cfg.Path, "current_key", k.set.Current().ID, "err", err)
		return
	}
	k.saveErr = ""
	k.fileCurrent.Store(true)
	k.cfg.Log.Info("nts keys "+what, "path", k.cfg.Path, "current_key", k.set.Current().ID, "keys", len(k.set.Keys))
}

// readFailed counts and logs a failed read of the key file at run time
// (Warn for a new error, Debug for a repeated one).
func (k *KeyStore) readFailed(msg string, err error) {
	k.readErrors.Add(1)
	k.fileCurrent.Store(false)
	level := slog.LevelWarn
	if cause(err) == k.readErr {
		level = slog.LevelDebug
	}
	k.readErr = cause(err)
	k.cfg.Log.Log(context.Background(), level, msg, "path", k.cfg.Path, "err", err)
}

// cause is the text of err's innermost error ("no space left on device"):
// what tells a repeated failure from a new one (the outer text names a
// random temporary file).
func cause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// readOK records a successful read after failures (logged once).
func (k *KeyStore) readOK() {
	if k.readErr != "" {
		k.cfg.Log.Info("nts key file readable again", "path", k.cfg.Path)
	}
	k.readErr = ""
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
// changes (reader), until ctx ends. A reload that fails (file removed,
// half-written by a non-atomic external writer, loose permissions) is
// logged and counted and the previous keys are kept. A writer checks its
// file every Reload too (see Tick).
func (k *KeyStore) Run(ctx context.Context) error {
	for {
		wait := k.cfg.Reload
		if k.cfg.Rotate > 0 {
			// Wake at the rotation or the file check, whichever is
			// first, and at least every second.
			k.mu.Lock()
			next := k.set.NextRotation(k.cfg.Rotate)
			k.mu.Unlock()
			wait = min(max(next.Sub(k.cfg.Now()), time.Second), k.cfg.Reload)
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

// Tick does what Run does at each wake-up. A writer rotates if due;
// otherwise it checks its file: a file it cannot read (removed, broken,
// loose permissions) is counted as a reload error and replaced by the keys
// in use, and an unsaved rotation (full disk) is saved again; a file with
// other keys after a successful save (a second writer?) is left alone and
// logged. A reader reloads the file if it changed. Gnomond calls it on
// SIGHUP too; tests that move time by hand call it directly.
func (k *KeyStore) Tick() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cfg.Rotate > 0 {
		if k.set.Due(k.cfg.Now(), k.cfg.Rotate) {
			if err := k.rotate(k.cfg.Now()); err != nil {
				k.cfg.Log.Error("nts key rotation", "err", err)
				return
			}
			if err := k.publish(); err != nil {
				k.cfg.Log.Error("nts key rotation", "err", err)
			}
			return
		}
		k.checkFile()
		return
	}
	// The file is a few hundred bytes: read and compare it whole (mtime
	// granularity and in-place writers make metadata unreliable).
	s, err := LoadKeyFile(k.cfg.Path)
	if err != nil {
		k.readFailed("nts key file reload failed: keeping the loaded keys", err)
		return
	}
	k.readOK()
	if slices.Equal(s.Keys, k.set.Keys) {
		k.fileCurrent.Store(true)
		return
	}
	if err := k.publishSet(s); err != nil {
		k.readFailed("nts key file reload failed: keeping the loaded keys", err)
		return
	}
	k.fileCurrent.Store(true)
	k.cfg.Log.Info("nts key file reloaded", "path", k.cfg.Path, "current_key", s.Current().ID, "keys", len(s.Keys))
}

// checkFile is the writer's check between rotations.
func (k *KeyStore) checkFile() {
	if k.cfg.Path == "" {
		return
	}
	s, err := LoadKeyFile(k.cfg.Path)
	switch {
	case err != nil:
		k.readFailed("nts key file unreadable: writing the keys in use again", err)
		k.save("restored")
	case slices.Equal(s.Keys, k.set.Keys):
		k.readOK()
		k.fileCurrent.Store(true)
	case k.saveErr != "":
		k.readOK()
		k.save("rotated earlier")
	default:
		k.readOK()
		if k.fileCurrent.Swap(false) {
			k.cfg.Log.Warn("nts key file holds keys this writer did not write (is a second writer rotating it?): serving ours; a restart would load the file's",
				"path", k.cfg.Path, "current_key", k.set.Current().ID, "file_current_key", s.Current().ID)
		}
	}
}

// publishSet makes s the keys in use if it makes a Ring.
func (k *KeyStore) publishSet(s nts.KeySet) error {
	r, err := nts.NewRing(s)
	if err != nil {
		return fmt.Errorf("nts keys: %w", err)
	}
	k.set = s
	k.core.SetRing(r)
	return nil
}
