// Package prom registers Conveyor's Prometheus collectors, one way for every package, and reads counters back.
package prom
