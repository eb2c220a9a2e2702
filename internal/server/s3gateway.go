package server

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/conveyor/conveyor/internal/s3gateway"
)

// s3Gateway is one --s3-gateway: listening from New, served by Serve.
type s3Gateway struct {
	gw *s3gateway.Gateway
	ln net.Listener
}

// openS3Gateways listens on every configured gateway's address; the
// gateways record through the server's audit recorder.
func (s *Server) openS3Gateways() error {
	for _, spec := range s.cfg.S3Gateways {
		gw, err := s3gateway.New(s3gateway.Config{Backend: spec.Backend, Recorder: s.audit.Recorder(), Journal: s.audit.Journal(), Logger: s.log})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", spec.Addr)
		if err != nil {
			return fmt.Errorf("s3 gateway: %w", err)
		}
		s.s3gateways = append(s.s3gateways, s3Gateway{gw: gw, ln: ln})
		s.s3addrs = append(s.s3addrs, ln.Addr().String())
	}
	return nil
}

// S3GatewayAddrs returns the listen addresses of the S3 gateways, in the
// order configured (the port chosen for a ":0" address included).
func (s *Server) S3GatewayAddrs() []string {
	return append([]string(nil), s.s3addrs...)
}

// serveS3Gateways serves the gateways until the returned stop is called;
// stop shuts them down gracefully and waits, so that no gateway records
// after the audit trail is closed.
func (s *Server) serveS3Gateways() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, g := range s.s3gateways {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.gw.Serve(ctx, g.ln, s.cfg.ShutdownTimeout); err != nil && ctx.Err() == nil {
				s.log.Error("s3 gateway stopped", "addr", g.ln.Addr().String(), "err", err)
			}
		}()
	}
	s.s3gateways = nil
	return func() {
		cancel()
		wg.Wait()
	}
}

// closeS3Gateways closes the listeners of gateways never served.
func (s *Server) closeS3Gateways() {
	for _, g := range s.s3gateways {
		_ = g.ln.Close()
	}
	s.s3gateways = nil
}
