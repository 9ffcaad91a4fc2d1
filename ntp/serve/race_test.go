//go:build race

package serve

// The race detector allocates on its own; allocation tests skip under it.
const raceEnabled = true
