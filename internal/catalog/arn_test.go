package catalog_test

import (
	"testing"

	"github.com/conveyor/conveyor/internal/catalog"
)

func TestParseResourceARN(t *testing.T) {
	c := openCatalog(t)
	const p = "arn:aws:events:eu-west-1:123456789012:"
	tests := []struct {
		arn  string
		want catalog.ResourceRef
		ok   bool
	}{
		{p + "event-bus/default", catalog.ResourceRef{Kind: catalog.KindBus, Bus: "default", Name: "default"}, true},
		{p + "event-bus/aws.partner/a.com/b", catalog.ResourceRef{Kind: catalog.KindBus, Bus: "aws.partner/a.com/b", Name: "aws.partner/a.com/b"}, true},
		{p + "rule/r.1", catalog.ResourceRef{Kind: catalog.KindRule, Bus: "default", Name: "r.1"}, true},
		{p + "rule/bus/r", catalog.ResourceRef{Kind: catalog.KindRule, Bus: "bus", Name: "r"}, true},
		{p + "rule/aws.partner/a.com/b/r", catalog.ResourceRef{Kind: catalog.KindRule, Bus: "aws.partner/a.com/b", Name: "r"}, true},
		{p + "connection/c/0a1b-2c", catalog.ResourceRef{Kind: catalog.KindConnection, Name: "c", ID: "0a1b-2c"}, true},
		{p + "api-destination/d/9f", catalog.ResourceRef{Kind: catalog.KindAPIDestination, Name: "d", ID: "9f"}, true},
		{p + "event-bus/", catalog.ResourceRef{}, false},
		{p + "rule/bus/", catalog.ResourceRef{}, false},
		{p + "connection/c", catalog.ResourceRef{}, false},
		{p + "connection/c/1/2", catalog.ResourceRef{}, false},
		{p + "archive/a", catalog.ResourceRef{}, false},
		{"arn:aws:events:us-east-1:123456789012:event-bus/default", catalog.ResourceRef{}, false},
		{"arn:aws:events:eu-west-1:111111111111:event-bus/default", catalog.ResourceRef{}, false},
		{"arn:aws:sqs:eu-west-1:123456789012:q", catalog.ResourceRef{}, false},
		{"event-bus/default", catalog.ResourceRef{}, false},
	}
	for _, tt := range tests {
		got, ok := c.In(c.Home()).ParseResourceARN(tt.arn)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseResourceARN(%q) = %+v, %v; want %+v, %v", tt.arn, got, ok, tt.want, tt.ok)
		}
	}
	if got := c.In(c.Home()).RuleARN("default", "r"); got != p+"rule/r" {
		t.Errorf("RuleARN(default, r) = %s", got)
	}
	if got := c.In(c.Home()).RuleARN("b", "r"); got != p+"rule/b/r" {
		t.Errorf("RuleARN(b, r) = %s", got)
	}
	if got := c.In(c.Home()).SecretARN("c", "u"); got != "arn:aws:secretsmanager:eu-west-1:123456789012:secret:events!connection/c/u" {
		t.Errorf("SecretARN = %s", got)
	}
}
