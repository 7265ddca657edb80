package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// handler holds the routes of the endpoint.
type handler struct {
	cfg Config
	b   Backend
	log *slog.Logger
	mux *http.ServeMux
}

// NewHandler returns the endpoint's routes over b as an http.Handler, for
// callers that run their own http.Server. Listen is the usual entry point.
func NewHandler(cfg Config, b Backend) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("httpapi: nil Backend")
	}
	cfg = cfg.withDefaults()
	h := &handler{cfg: cfg, b: b, log: cfg.Logger, mux: http.NewServeMux()}
	h.routes()
	return h, nil
}

func (h *handler) routes() {
	handle := func(pattern string, e endpoint) { h.mux.Handle(pattern, h.wrap(e)) }
	handle("GET /v1/kv/{key}", h.get)
	handle("PUT /v1/kv/{key}", h.put)
	handle("DELETE /v1/kv/{key}", h.del)
	handle("POST /v1/counter/{key}", h.incr)
	handle("POST /v1/set/{key}/add", h.setAdd)
	handle("POST /v1/set/{key}/remove", h.setRemove)
	handle("GET /v1/inspect/{key}", h.inspect)
	handle("GET /v1/cluster", h.cluster)
	handle("GET /v1/diff", h.diff)
	handle("POST /v1/node/leave", h.leave)
	handle("POST /v1/nodes/{id}/remove", h.remove)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	if h.cfg.Metrics != nil {
		h.mux.Handle("GET /metrics", h.cfg.Metrics)
	}
}

// ServeHTTP routes r, answering unknown routes and methods in the JSON error
// shape.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if mh, pattern := h.mux.Handler(r); pattern == "" {
		routeError(w, r, mh)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// endpoint serves one route; an error it returns is answered by fail.
type endpoint func(w http.ResponseWriter, r *http.Request) error

func (h *handler) wrap(e endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := e(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// Server is a running endpoint: an http.Server on its own listener.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	cancel context.CancelFunc // ends every request's context
	served chan struct{}      // closed when Serve has returned

	mu       sync.Mutex
	closing  bool
	inFlight sync.WaitGroup
	serveErr error
}

// Listen binds cfg.Addr and serves the endpoint over b until Close or
// Shutdown. It returns once the listener is bound, so Addr is known.
func Listen(cfg Config, b Backend) (*Server, error) {
	h, err := NewHandler(cfg, b)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("httpapi: listening on %s: %w", cfg.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, cancel: cancel, served: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           s.track(h),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go s.serve()
	return s, nil
}

func (s *Server) serve() {
	defer close(s.served)
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	s.mu.Lock()
	s.serveErr = err
	s.mu.Unlock()
}

// track counts the requests being served so that Close can wait for them;
// once closing, it refuses new ones.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "the node is shutting down: retry on another node", Code: codeUnavailable, Applied: "no"})
			return
		}
		s.inFlight.Add(1)
		s.mu.Unlock()
		defer s.inFlight.Done()
		h.ServeHTTP(w, r)
	})
}

// Addr returns the address the server listens on, host:port, with the port
// the system chose when Config.Addr asked for port 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting connections and waits for the requests being
// served to finish, or for ctx to end, after which it closes the rest as
// Close does. It returns ctx's error if ctx ended first.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close closes the listener and every connection, ends the context of every
// request still running (so that its Backend call returns) and waits for
// their handlers and the serving goroutine to return. It returns the error
// that stopped serving, if any besides the close. Calling it again returns
// the same.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	err := s.srv.Close()
	s.inFlight.Wait()
	<-s.served
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serveErr != nil {
		return fmt.Errorf("httpapi: serving: %w", s.serveErr)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("httpapi: closing: %w", err)
	}
	return nil
}
