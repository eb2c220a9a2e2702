// Package prom registers Conveyor's Prometheus collectors, one way for every package.
package prom
