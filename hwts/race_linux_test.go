//go:build race

package hwts

const runtimeRaceEnabled = true
