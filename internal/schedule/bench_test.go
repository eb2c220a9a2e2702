package schedule

import (
	"testing"
	"time"
)

func BenchmarkParse(b *testing.B) {
	for _, expr := range []string{"rate(5 minutes)", "cron(0/15 8-17 ? * MON-FRI *)"} {
		b.Run(expr, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNext(b *testing.B) {
	at := time.Date(2026, 11, 26, 10, 7, 30, 0, time.UTC)
	for _, expr := range []string{"rate(5 minutes)", "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 0 LW * ? *)", "cron(0 9 ? * 2#1 *)", "cron(0 0 29 2 ? *)"} {
		s, err := Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(expr, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Next(at)
			}
		})
	}
}
