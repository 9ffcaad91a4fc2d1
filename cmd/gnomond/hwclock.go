package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gnomon-time/gnomon/clock/phc"
	"github.com/gnomon-time/gnomon/ntp/serve"
)

// phcDevice is the character device of PHC index i.
func phcDevice(i int) string { return fmt.Sprintf("/dev/ptp%d", i) }

// phcTranslators opens, read-only, the PHC behind every socket that got
// NIC hardware timestamps (hwts.Info.PHCIndex ≥ 0) and registers in set a
// Translator that maps its time to CLOCK_REALTIME from cross-timestamps
// once a second. It returns their Run loops and a function that closes the
// devices. A PHC that cannot be opened or measured is logged: the hardware
// stamps of its sockets then fall back to the kernel software stamps that
// come with them (gnomon_ntp_*_hardware_timestamps_unused_total).
func phcTranslators(log *slog.Logger, sockets []serve.Socket, set *phc.Translators, open func(string) (*phc.PHC, error)) (runs []func(context.Context) error, closeAll func()) {
	var opened []*phc.PHC
	for _, so := range sockets {
		i := so.Info.PHCIndex
		if i < 0 || set.Has(i) {
			continue
		}
		dev := phcDevice(i)
		p, err := open(dev)
		if err != nil {
			log.Warn("hardware timestamps: cannot open the NIC's PHC; using kernel software stamps", "phc", dev, "error", err.Error())
			continue
		}
		tr, err := phc.NewTranslator(p, phc.TranslatorConfig{Logger: log})
		if err != nil {
			p.Close()
			log.Warn("hardware timestamps: PHC translator", "phc", dev, "error", err.Error())
			continue
		}
		opened = append(opened, p)
		set.Add(i, tr)
		runs = append(runs, tr.Run)
		log.Info("hardware timestamps: mapping the NIC's PHC to the system clock", "phc", dev, "addr", so.Addr.String())
	}
	return runs, func() {
		for _, p := range opened {
			p.Close()
		}
	}
}
