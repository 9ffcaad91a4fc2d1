//go:build !race

package hwts

const runtimeRaceEnabled = false
