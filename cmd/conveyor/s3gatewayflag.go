package main

import (
	"strings"

	"github.com/conveyor/conveyor/internal/s3gateway"
)

// s3GatewayFlag is the repeatable --s3-gateway ADDR=BACKEND_URL. Given on
// the command line, it replaces the gateways of CONVEYOR_S3_GATEWAY.
type s3GatewayFlag struct {
	specs []s3gateway.Spec
	set   bool
}

func (f *s3GatewayFlag) String() string {
	if f == nil {
		return ""
	}
	s := make([]string, len(f.specs))
	for i, g := range f.specs {
		s[i] = g.Addr + "=" + g.Backend
	}
	return strings.Join(s, ",")
}

func (f *s3GatewayFlag) Set(v string) error {
	if !f.set {
		f.specs, f.set = nil, true
	}
	g, err := s3gateway.ParseSpec(v)
	if err != nil {
		return err
	}
	f.specs = append(f.specs, g)
	return nil
}
