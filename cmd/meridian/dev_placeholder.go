package main

import (
	"errors"
	"io"
)

// runDev stands in for `meridian dev` until dev.go replaces it; delete this
// file then.
func runDev(args []string, stdout, stderr io.Writer) error {
	return errors.New("dev: not built yet")
}
