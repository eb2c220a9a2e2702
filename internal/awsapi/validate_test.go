package awsapi

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var nameRe = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)

const nameReText = `[\.\-_A-Za-z0-9]+`

func TestValidator(t *testing.T) {
	for _, c := range []struct {
		name  string
		check func(v *Validator)
		want  string
	}{
		{"none", func(v *Validator) { v.Length("name", "ok", 1, 64); v.Pattern("name", "ok", nameRe, nameReText) }, ""},
		{"pattern", func(v *Validator) { v.Pattern("name", "a b", nameRe, nameReText) },
			`1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`},
		{"two", func(v *Validator) {
			s := strings.Repeat("x", 65) + "!"
			v.Length("name", s, 1, 64)
			v.Pattern("name", s, nameRe, nameReText)
		}, "2 validation errors detected: Value '" + strings.Repeat("x", 65) + "!' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64; " +
			"Value '" + strings.Repeat("x", 65) + `!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`},
		{"empty", func(v *Validator) { v.Length("name", "", 1, 64) },
			"1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"utf16 length", func(v *Validator) { v.Length("description", "😀😀", 1, 3) },
			"1 validation error detected: Value '😀😀' at 'description' failed to satisfy constraint: Member must have length less than or equal to 3"},
		{"utf16 length ok", func(v *Validator) { v.Length("description", "😀é", 1, 3) }, ""},
		{"enum", func(v *Validator) {
			v.Enum("state", "ON", "ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
		},
			"1 validation error detected: Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"},
		{"range", func(v *Validator) { v.Range("limit", 0, 1, 100); v.Range("maxResults", 51, 1, 50) },
			"2 validation errors detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50"},
		{"required", func(v *Validator) {
			if v.Required("name", false) {
				t.Error("Required(false) = true")
			}
		}, "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"optional nil", func(v *Validator) {
			v.OptionalLength("description", nil, 0, 512)
			v.OptionalPattern("eventBusName", nil, nameRe, nameReText)
		}, ""},
		{"optional set", func(v *Validator) { s := "a/b"; v.OptionalPattern("eventBusName", &s, nameRe, nameReText) },
			`1 validation error detected: Value 'a/b' at 'eventBusName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`},
		{"count", func(v *Validator) { v.Count("targets", 6, RenderList([]string{"a", "b"}), 1, 5) },
			"1 validation error detected: Value '[a, b]' at 'targets' failed to satisfy constraint: Member must have length less than or equal to 5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := NewValidator()
			c.check(v)
			err := v.Err()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Err = %v", err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != "ValidationException" || ae.Status != 400 || ae.Message != c.want {
				t.Errorf("Err = %v\nwant ValidationException: %s", err, c.want)
			}
		})
	}
	var zero Validator
	if zero.Err() != nil || zero.AWSError() != nil || zero.Len() != 0 {
		t.Error("zero Validator reports errors")
	}
}
