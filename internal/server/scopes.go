package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/scope"
)

// scopes makes each account and region's default bus on its first use, as
// AWS accounts have one in every region.
type scopes struct {
	cat  *catalog.Catalog
	seen sync.Map // scope.Scope → struct{}
}

// ensure makes the default bus of the caller's scope if this process has not
// seen the scope yet. A caller in a region that cannot be one is refused.
func (s *scopes) ensure(ctx context.Context, c awsapi.Caller) error {
	sc := scope.Scope{Account: c.Account, Region: c.Region}
	if _, ok := s.seen.Load(sc); ok || s.cat == nil {
		return nil
	}
	if err := sc.Validate(); err != nil {
		return awsapi.Errorf(awsapi.CodeInvalidSignatureException, "Credential should be scoped to a valid region. ")
	}
	if _, err := s.cat.In(sc).EnsureDefault(ctx); err != nil {
		return fmt.Errorf("server: default bus of %s: %w", sc, err)
	}
	s.seen.Store(sc, struct{}{})
	return nil
}
