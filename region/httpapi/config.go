package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Config configures the endpoint. Start from DefaultConfig; a zero field
// means its default, as each field says.
type Config struct {
	// Addr is the TCP address Listen binds, host:port; port 0 picks a free
	// one (see Server.Addr). Zero means "127.0.0.1:8080".
	Addr string
	// MaxValueSize bounds the body of every request, in bytes: a PUT's
	// value, a set request's JSON array. A larger body is refused with 413
	// before it is read in full. Zero means 1 MiB.
	MaxValueSize int64
	// ReadHeaderTimeout bounds reading a request's headers. Zero means 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included. Zero means
	// 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of reading a request's
	// headers to the end of writing its response, except for the admin
	// routes (see AdminTimeout). It must exceed RequestTimeout so that a
	// timeout can still be reported. Zero means 30s.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its next
	// request. Zero means 2 minutes.
	IdleTimeout time.Duration
	// RequestTimeout bounds how long a key operation waits for the Backend;
	// the Backend normally answers sooner with its own replica timeout.
	// Zero means 10s.
	RequestTimeout time.Duration
	// AdminTimeout bounds a leave or a remove, which hand data off and may
	// take long. Zero means 10 minutes.
	AdminTimeout time.Duration
	// MaxHeaderBytes bounds the size of a request's headers, causal context
	// included. Zero means 256 KiB.
	MaxHeaderBytes int
	// Metrics serves GET /metrics, such as promhttp.Handler(). Nil means
	// the route is not served.
	Metrics http.Handler
	// Logger receives internal errors and panics. Nil means nothing is
	// logged.
	Logger *slog.Logger
}

// The defaults a zero Config field stands for.
const (
	DefaultAddr              = "127.0.0.1:8080"
	DefaultMaxValueSize      = 1 << 20
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultRequestTimeout    = 10 * time.Second
	DefaultAdminTimeout      = 10 * time.Minute
	DefaultMaxHeaderBytes    = 256 << 10
)

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Addr:              DefaultAddr,
		MaxValueSize:      DefaultMaxValueSize,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		RequestTimeout:    DefaultRequestTimeout,
		AdminTimeout:      DefaultAdminTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
	}
}

// Validate reports every problem with c at once. Zero fields are valid:
// they stand for their defaults.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("httpapi: "+format, args...))
		}
	}
	if c.Addr != "" {
		_, _, err := net.SplitHostPort(c.Addr)
		check(err != nil, "Config.Addr = %q: want host:port, such as 127.0.0.1:8080 (%v)", c.Addr, err)
	}
	check(c.MaxValueSize < 0, "Config.MaxValueSize = %d: must not be negative", c.MaxValueSize)
	check(c.MaxHeaderBytes < 0, "Config.MaxHeaderBytes = %d: must not be negative", c.MaxHeaderBytes)
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ReadHeaderTimeout", c.ReadHeaderTimeout}, {"ReadTimeout", c.ReadTimeout},
		{"WriteTimeout", c.WriteTimeout}, {"IdleTimeout", c.IdleTimeout},
		{"RequestTimeout", c.RequestTimeout}, {"AdminTimeout", c.AdminTimeout},
	} {
		check(d.v < 0, "Config.%s = %s: must not be negative", d.name, d.v)
	}
	f := c.withDefaults()
	check(c.RequestTimeout >= 0 && c.WriteTimeout >= 0 && f.RequestTimeout >= f.WriteTimeout,
		"Config.RequestTimeout (%s) must be shorter than Config.WriteTimeout (%s), or timeouts cannot be reported",
		f.RequestTimeout, f.WriteTimeout)
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	set := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxValueSize == 0 {
		c.MaxValueSize = DefaultMaxValueSize
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	set(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	set(&c.ReadTimeout, DefaultReadTimeout)
	set(&c.WriteTimeout, DefaultWriteTimeout)
	set(&c.IdleTimeout, DefaultIdleTimeout)
	set(&c.RequestTimeout, DefaultRequestTimeout)
	set(&c.AdminTimeout, DefaultAdminTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
