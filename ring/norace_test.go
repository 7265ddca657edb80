//go:build !race

package ring

// RaceEnabled reports whether the race detector is on. It slows the ring
// tenfold, so the slowest tests do less under it.
const RaceEnabled = false
