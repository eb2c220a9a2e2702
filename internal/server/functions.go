package server

import (
	"context"

	"github.com/conveyor/conveyor/internal/function"
)

// newFunctions is the invoker of Lambda ARN targets: the local functions of
// cfg, and the remote Lambda API when cfg names one.
func newFunctions(ctx context.Context, cfg Config, api function.API) (*function.Invoker, error) {
	fc := function.Config{
		Functions:   cfg.Functions,
		Timeout:     cfg.FunctionTimeout,
		Concurrency: cfg.FunctionConcurrency,
		Region:      cfg.Region,
		Logger:      cfg.Logger,
		API:         api,
	}
	if cfg.LambdaEndpoint != "" {
		region := cfg.LambdaRegion
		if region == "" {
			region = cfg.Region
		}
		remote, err := function.NewRemote(ctx, function.RemoteConfig{
			Endpoint:    cfg.LambdaEndpoint,
			Region:      region,
			Credentials: cfg.LambdaCredentials,
		})
		if err != nil {
			return nil, err
		}
		fc.Lambda = remote
	}
	return function.New(fc)
}
