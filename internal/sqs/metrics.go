package sqs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector returns a Prometheus collector of every queue's depth, as
// GetQueueAttributes reports it, and the age of its oldest message:
//
//	conveyor_queue_messages{queue,state="visible|in_flight|delayed"}
//	conveyor_queue_oldest_message_age_seconds{queue}
func (s *Service) Collector() prometheus.Collector { return queueCollector{s} }

var (
	queueMessagesDesc = prometheus.NewDesc("conveyor_queue_messages",
		"Messages of a queue by state (ApproximateNumberOfMessages, …NotVisible, …Delayed).", []string{"queue", "state"}, nil)
	queueOldestDesc = prometheus.NewDesc("conveyor_queue_oldest_message_age_seconds",
		"Age of the oldest message a queue holds (0 when empty).", []string{"queue"}, nil)
)

type queueCollector struct{ s *Service }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueMessagesDesc
	ch <- queueOldestDesc
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.RLock()
	qs := make([]*queue, 0, len(c.s.queues))
	for _, q := range c.s.queues {
		qs = append(qs, q)
	}
	c.s.mu.RUnlock()
	now := c.s.now()
	for _, q := range qs {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		visible, notVisible, delayed := q.counts(ctx, now)
		cancel()
		age := 0.0
		if sent := q.oldestSent(); sent > 0 {
			age = max(0, now.Sub(time.UnixMilli(sent)).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(queueMessagesDesc, prometheus.GaugeValue, float64(visible), q.name, "visible")
		ch <- prometheus.MustNewConstMetric(queueMessagesDesc, prometheus.GaugeValue, float64(notVisible), q.name, "in_flight")
		ch <- prometheus.MustNewConstMetric(queueMessagesDesc, prometheus.GaugeValue, float64(delayed), q.name, "delayed")
		ch <- prometheus.MustNewConstMetric(queueOldestDesc, prometheus.GaugeValue, age, q.name)
	}
}
