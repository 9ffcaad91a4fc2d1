package main

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/gnomon-time/gnomon/config"
)

// reloadLoop handles SIGHUP and the control socket's reload requests
// until ctx ends: the one goroutine that reloads.
func (d *daemon) reloadLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-d.hup:
			if !ok {
				d.hup = nil // closed: no more reloads
				continue
			}
			d.notifiedReload()
		case done := <-d.reloads:
			done <- d.notifiedReload()
		}
	}
}

// notifiedReload is reload between RELOADING=1 and READY=1 for systemd,
// counted for gnomon_config_reloads_total. With NTS on, the master-key
// store checks its file too (a reader reloads it, a writer restores or
// saves it again): its outcome is its own (logged, gnomon_nts_key_file_*),
// not the reload's.
func (d *daemon) notifiedReload() error {
	d.notify.reloading()
	err := d.reload()
	if err != nil {
		d.reloadsFailed.Add(1)
	} else {
		d.reloadsOK.Add(1)
	}
	d.lastReloadFailed.Store(err != nil)
	if d.nts != nil {
		d.nts.keys.Tick()
	}
	d.notify.reloaded(err, d.status())
	return err
}

// requestReload asks the reload goroutine for a reload (chronyc reload
// sources) and returns its outcome.
func (d *daemon) requestReload(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case d.reloads <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reload re-reads the configuration file, re-applies the command-line
// overrides and, if the result is valid and ntp.keys_file (re-read every
// time, changed or not) loads, swaps the ACL, the symmetric keys and the
// log level.
// Keys that need a restart are logged and not applied. The error says why
// nothing was reloaded.
func (d *daemon) reload() error {
	if d.flags.configFile == "" {
		d.log.Warn("SIGHUP ignored", "reason", errNoConfigFile.Error())
		return errNoConfigFile
	}
	next, err := config.Load(d.flags.configFile)
	if err == nil {
		applyFlags(d.cmd, d.flags, next)
		err = next.Validate()
	}
	if err != nil {
		d.log.Error("reload failed; keeping the running configuration", "config", d.flags.configFile,
			"error", err.Error())
		return err
	}
	acl, err := buildACL(next)
	if err != nil {
		d.log.Error("reload failed; keeping the running configuration", "config", d.flags.configFile,
			"error", err.Error())
		return err
	}
	keys, err := next.NTP.LoadKeys()
	if err != nil {
		d.log.Error("reload failed; keeping the running configuration and keys", "config", d.flags.configFile,
			"keys_file", next.NTP.KeysFile, "error", err.Error())
		return err
	}
	prev := d.cfg
	d.srv.SetACL(acl)
	d.srv.SetKeys(keys)
	switch {
	case keys != nil:
		d.log.Info("reload: ntp symmetric keys loaded", "keys_file", next.NTP.KeysFile, "keys", keys.Len())
	case prev.NTP.KeysFile != "":
		d.log.Info("reload: ntp.keys_file removed: no symmetric keys", "was", prev.NTP.KeysFile)
	}
	if a, r := diffPrefixes(prev.NTP.AllowPrefixes(), next.NTP.AllowPrefixes()); len(a)+len(r) > 0 {
		d.log.Info("reload: ntp.allow changed", "added", a, "removed", r)
	}
	if a, r := diffPrefixes(prev.NTP.DenyPrefixes(), next.NTP.DenyPrefixes()); len(a)+len(r) > 0 {
		d.log.Info("reload: ntp.deny changed", "added", a, "removed", r)
	}
	if next.Log.Level != prev.Log.Level {
		d.level.Set(parseLevel(next.Log.Level))
		d.log.Info("reload: log.level changed", "from", prev.Log.Level, "to", next.Log.Level)
	}
	if len(next.NTP.Allow) == 0 {
		d.log.Warn("ntp.allow is empty: every NTP request is denied")
	}
	if keys := changedKeys(prev, next, "ntp.allow", "ntp.deny", "ntp.keys_file", "log.level"); len(keys) > 0 {
		d.log.Warn("reload: these keys changed but need a restart; running values kept",
			"keys", strings.Join(keys, ", "))
		// Keep the running values of restart-only keys so that a later
		// reload compares against what actually runs.
		kept := *prev
		kept.NTP.Allow, kept.NTP.Deny, kept.Log.Level = next.NTP.Allow, next.NTP.Deny, next.Log.Level
		kept.NTP.KeysFile = next.NTP.KeysFile
		next = &kept
	}
	d.cfg = next
	d.log.Info("configuration reloaded", "config", d.flags.configFile, "acl", acl.String())
	return nil
}

// diffPrefixes returns the prefixes in next but not prev, and those in prev
// but not next, as strings.
func diffPrefixes(prev, next []netip.Prefix) (added, removed []string) {
	for _, p := range next {
		if !slices.Contains(prev, p) {
			added = append(added, p.String())
		}
	}
	for _, p := range prev {
		if !slices.Contains(next, p) {
			removed = append(removed, p.String())
		}
	}
	return added, removed
}

// changedKeys lists the key paths (section.key) whose values differ between
// a and b, except the ignored ones.
func changedKeys(a, b *config.Config, ignore ...string) []string {
	var out []string
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	t := va.Type()
	for i := range t.NumField() {
		section := yamlName(t.Field(i))
		sa, sb := va.Field(i), vb.Field(i)
		if sa.Kind() != reflect.Struct {
			if !reflect.DeepEqual(sa.Interface(), sb.Interface()) && !slices.Contains(ignore, section) {
				out = append(out, section)
			}
			continue
		}
		st := sa.Type()
		for j := range st.NumField() {
			key := fmt.Sprintf("%s.%s", section, yamlName(st.Field(j)))
			if slices.Contains(ignore, key) {
				continue
			}
			if !reflect.DeepEqual(sa.Field(j).Interface(), sb.Field(j).Interface()) {
				out = append(out, key)
			}
		}
	}
	return out
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}
