package server

import "github.com/conveyor/conveyor/internal/inbound"

// newInbound is the handler of the inbound endpoints: events stored through
// the router, on buses the router or the catalog knows.
func newInbound(cfg Config, s *Server) (*inbound.Handler, error) {
	return inbound.New(inbound.Config{
		Credentials: cfg.Inbound,
		Putter:      s.router,
		Buses:       s.router,
		Catalog:     s.catalog,
		Account:     cfg.Account,
		Region:      cfg.Region,
		Registerer:  s.registry,
		Logger:      cfg.Logger,
	})
}
