package ring_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises rapid's default from 100 to 1,000 checks per property, as
// the crdt tests do. -rapid.checks or RAPID_CHECKS still override it.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.checks" })
	if _, env := os.LookupEnv("RAPID_CHECKS"); !explicit && !env {
		if err := flag.Set("rapid.checks", "1000"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
