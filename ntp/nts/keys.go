package nts

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts/siv"
)

// Master keys: what the key file holds and the rotation decisions.
const (
	// MasterKeyLen is a master key's length: an AES-SIV-CMAC-256 key.
	MasterKeyLen = siv.KeySize
	// RingSlots is how many master keys a Ring can hold; a cookie's key ID
	// selects its slot by its low 4 bits (as chrony selects one of its 4
	// keys by the low 2 bits), so the keys of a KeySet must differ in them.
	RingSlots = 16
	// MaxKeep is the largest number of previous keys a KeySet may keep:
	// the ring also holds the current and the next key.
	MaxKeep = RingSlots - 2

	keyFileMagic = "gnomon-nts-keys 1"
)

// MasterKey is one server master key. Created is when it was generated
// (Unix seconds); a key seals cookies from the rotation after its creation
// until the next one.
type MasterKey struct {
	ID      uint32
	Created int64
	Key     [MasterKeyLen]byte
}

// KeySet is the ordered list of master keys, oldest first. The last key is
// the next one: accepted, but not yet used to seal cookies, so that servers
// sharing the key file know it before the writer starts sealing with it
// (chrony does the same). The one before it is the current key, which seals.
// A set of one key uses it for both. Older keys are only accepted.
type KeySet struct {
	Keys []MasterKey
}

// NewKeySet returns a first set generated at now from two fresh random keys:
// current (ID 1) and next (ID 2).
func NewKeySet(now time.Time, current, next [MasterKeyLen]byte) KeySet {
	return KeySet{Keys: []MasterKey{
		{ID: 1, Created: now.Unix(), Key: current},
		{ID: 2, Created: now.Unix(), Key: next},
	}}
}

// Current returns the key that seals cookies; s must not be empty.
func (s KeySet) Current() MasterKey {
	if len(s.Keys) >= 2 {
		return s.Keys[len(s.Keys)-2]
	}
	return s.Keys[len(s.Keys)-1]
}

// Due reports whether a rotation is due at now: period (> 0) has passed
// since the newest key was created (the last rotation). A clock that went
// backwards makes nothing due.
func (s KeySet) Due(now time.Time, period time.Duration) bool {
	if len(s.Keys) == 0 {
		return true
	}
	last := time.Unix(s.Keys[len(s.Keys)-1].Created, 0)
	return period > 0 && now.Sub(last) >= period
}

// NextRotation returns when Due first becomes true.
func (s KeySet) NextRotation(period time.Duration) time.Time {
	if len(s.Keys) == 0 {
		return time.Time{}
	}
	return time.Unix(s.Keys[len(s.Keys)-1].Created, 0).Add(period)
}

// Rotated returns the set after one rotation at now: fresh becomes the next
// key (ID = newest + 1), the old next key becomes current, and only keep
// (0…MaxKeep) keys older than the current one remain. s is not modified.
func (s KeySet) Rotated(now time.Time, fresh [MasterKeyLen]byte, keep int) KeySet {
	keep = min(max(keep, 0), MaxKeep)
	var id uint32 = 1
	if n := len(s.Keys); n > 0 {
		id = s.Keys[n-1].ID + 1
	}
	keys := append(append([]MasterKey(nil), s.Keys...), MasterKey{ID: id, Created: now.Unix(), Key: fresh})
	if extra := len(keys) - (keep + 2); extra > 0 {
		keys = keys[extra:]
	}
	return KeySet{Keys: keys}
}

// Validate checks that s is non-empty, holds at most RingSlots keys and
// that their IDs select distinct ring slots.
func (s KeySet) Validate() error {
	if len(s.Keys) == 0 {
		return errors.New("no keys")
	}
	if len(s.Keys) > RingSlots {
		return fmt.Errorf("%d keys: at most %d", len(s.Keys), RingSlots)
	}
	var used [RingSlots]bool
	for _, k := range s.Keys {
		slot := k.ID % RingSlots
		if used[slot] {
			return fmt.Errorf("key %d: another key has the same low 4 bits of its ID (ring slot %d)", k.ID, slot)
		}
		used[slot] = true
	}
	return nil
}

// MarshalText encodes s as the key file's text: a magic line, then one line
// per key, oldest first, "ID CREATED_UNIX_SECONDS HEX_KEY".
func (s KeySet) MarshalText() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(keyFileMagic + "\n")
	for _, k := range s.Keys {
		fmt.Fprintf(&b, "%d %d %s\n", k.ID, k.Created, hex.EncodeToString(k.Key[:]))
	}
	return b.Bytes(), nil
}

// ParseKeySet decodes the key file's text (see MarshalText); blank lines and
// lines starting with '#' are ignored. Errors name the line.
func ParseKeySet(text []byte) (KeySet, error) {
	var s KeySet
	sc := bufio.NewScanner(bytes.NewReader(text))
	line, magic := 0, false
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !magic {
			if l != keyFileMagic {
				return KeySet{}, fmt.Errorf("line %d: %q: want %q first", line, l, keyFileMagic)
			}
			magic = true
			continue
		}
		f := strings.Fields(l)
		if len(f) != 3 {
			return KeySet{}, fmt.Errorf("line %d: %d fields: want ID CREATED KEY", line, len(f))
		}
		id, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return KeySet{}, fmt.Errorf("line %d: key ID %q: %w", line, f[0], err)
		}
		created, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return KeySet{}, fmt.Errorf("line %d: created %q: %w", line, f[1], err)
		}
		raw, err := hex.DecodeString(f[2])
		if err != nil || len(raw) != MasterKeyLen {
			return KeySet{}, fmt.Errorf("line %d: key: want %d hex digits", line, 2*MasterKeyLen)
		}
		k := MasterKey{ID: uint32(id), Created: created}
		copy(k.Key[:], raw)
		s.Keys = append(s.Keys, k)
	}
	if err := sc.Err(); err != nil {
		return KeySet{}, err
	}
	if !magic {
		return KeySet{}, fmt.Errorf("empty: want %q first", keyFileMagic)
	}
	if err := s.Validate(); err != nil {
		return KeySet{}, err
	}
	return s, nil
}

// Ring is a KeySet expanded for use: immutable, shared by all workers and
// the NTS-KE server. Lookups by key ID are an array index.
type Ring struct {
	slots   [RingSlots]ringSlot
	current uint32
	set     KeySet
}

type ringSlot struct {
	id  uint32
	ok  bool
	key siv.Key
}

// NewRing expands a valid KeySet.
func NewRing(s KeySet) (*Ring, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	r := &Ring{current: s.Current().ID, set: KeySet{Keys: append([]MasterKey(nil), s.Keys...)}}
	for _, k := range s.Keys {
		sl := &r.slots[k.ID%RingSlots]
		sl.id, sl.ok = k.ID, true
		sl.key.Init(&k.Key)
	}
	return r, nil
}

// KeySet returns a copy of the set r was built from.
func (r *Ring) KeySet() KeySet { return KeySet{Keys: append([]MasterKey(nil), r.set.Keys...)} }

// CurrentID is the ID of the key that seals cookies.
func (r *Ring) CurrentID() uint32 { return r.current }

// lookup returns the key with exactly this ID, or nil (an older key that
// shared its slot is gone: the cookie is stale).
func (r *Ring) lookup(id uint32) *siv.Key {
	if r == nil {
		return nil
	}
	sl := &r.slots[id%RingSlots]
	if !sl.ok || sl.id != id {
		return nil
	}
	return &sl.key
}
