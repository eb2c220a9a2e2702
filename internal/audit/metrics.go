package audit

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collectors returns the audit trail's metrics, for a Prometheus registry:
//
//	conveyor_audit_records_total           records the audit log stored
//	conveyor_audit_records_skipped_total   calls not recorded by design (data events while off)
//	conveyor_audit_records_dropped_total   calls lost: queue full, or shutdown before JetStream answered
//	conveyor_audit_records_rejected_total  records the audit log refused for good (too large); each is logged
//	conveyor_audit_records_recovered_total records stored from the intents of calls whose process died
//	conveyor_audit_log_messages, _log_bytes the audit log's size (the CloudTrail history and data events;
//	                                       a message is a record, or up to 16 records of an import)
//	conveyor_audit_publish_retries_total   publishes retried after a failure
//	conveyor_audit_queue_length            calls waiting for the audit log
//	conveyor_audit_index_sequence          audit-log sequence the event-history index has applied
func (a *Audit) Collectors() []prometheus.Collector {
	r, ix := a.recorder, a.index
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "conveyor", Subsystem: "audit", Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	return []prometheus.Collector{
		counter("records_total", "CloudTrail records the audit log stored.", r.recorded.Load),
		counter("records_skipped_total", "API calls not recorded by design (data events while data-event logging is off).", r.skipped.Load),
		counter("records_dropped_total", "API calls whose record was lost: the queue was full, or shutdown came before JetStream answered.", r.dropped.Load),
		counter("records_rejected_total", "CloudTrail records the audit log refused for good (too large for it); each is logged.", r.rejected.Load),
		counter("publish_retries_total", "Audit-log publishes retried after a failure.", r.retries.Load),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "conveyor", Subsystem: "audit", Name: "queue_length",
			Help: "API calls waiting for the audit log."}, func() float64 { return float64(len(r.queue)) }),
		counter("records_recovered_total", "Records stored from the intents of calls whose process stopped before they answered.", a.journal.recovered.Load),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "conveyor", Subsystem: "audit", Name: "log_messages",
			Help: "Messages in the audit log (the event history and data events): a CloudTrail record each, or up to 16 records of an import stored together."}, func() float64 {
			msgs, _ := a.logSize()
			return float64(msgs)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "conveyor", Subsystem: "audit", Name: "log_bytes",
			Help: "Bytes the audit log's stream holds."}, func() float64 {
			_, size := a.logSize()
			return float64(size)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "conveyor", Subsystem: "audit", Name: "index_sequence",
			Help: "Audit-log sequence the event-history index has applied."}, func() float64 {
			ix.prog.mu.Lock()
			defer ix.prog.mu.Unlock()
			return float64(ix.prog.applied)
		}),
	}
}

// logSize is the audit log's message count and bytes (0 when the stream
// cannot be read within a second).
func (a *Audit) logSize() (msgs, size uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := a.opts.Store.JetStream().Stream(ctx, StreamName)
	if err != nil {
		return 0, 0
	}
	info := st.CachedInfo()
	return info.State.Msgs, info.State.Bytes
}
