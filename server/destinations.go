package server

import (
	"github.com/conveyor/conveyor/catalog"
	"github.com/conveyor/conveyor/target"
)

// destinationOf is what the HTTP target needs of an API destination and its
// connection (secrets included: the target sends them, the API never shows
// them).
func destinationOf(ad *catalog.APIDestination, conn *catalog.Connection) target.Destination {
	d := target.Destination{
		ARN:                          ad.ARN,
		InvocationEndpoint:           ad.InvocationEndpoint,
		HTTPMethod:                   ad.HttpMethod,
		InvocationRateLimitPerSecond: ad.InvocationRateLimitPerSecond,
		Connection: target.Connection{
			ARN:               conn.ARN,
			AuthorizationType: conn.AuthorizationType,
		},
	}
	a := conn.Auth
	if a.ApiKeyAuthParameters != nil {
		d.Connection.APIKeyName = a.ApiKeyAuthParameters.ApiKeyName
		d.Connection.APIKeyValue = a.ApiKeyAuthParameters.ApiKeyValue
	}
	if a.BasicAuthParameters != nil {
		d.Connection.Username = a.BasicAuthParameters.Username
		d.Connection.Password = a.BasicAuthParameters.Password
	}
	if p := a.InvocationHttpParameters; p != nil {
		d.Connection.HeaderParameters = params(p.HeaderParameters)
		d.Connection.QueryStringParameters = params(p.QueryStringParameters)
	}
	return d
}

func params(ps []catalog.ConnectionParameter) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value
	}
	return m
}
