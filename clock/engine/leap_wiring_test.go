package engine_test

import (
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/leap"
)

// The leap-seconds table of clock/leap is what Config.LeapSource takes.
var _ engine.LeapSource = (*leap.Table)(nil)
